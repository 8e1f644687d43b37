package jingle_test

import (
	"context"
	"fmt"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

// newPeer wires a manager with the test application to the router.
func newPeer(r *jingletest.Router, jid string, app *jingletest.TestApp, opts ...jingle.Option) *jingle.Manager {
	e := r.Endpoint(jid)
	opts = append(opts, jingle.WithApplication(app), jingle.WithTransport(jingletest.TestTransport{}))
	m := jingle.NewManager(jid, e, opts...)
	e.Serve(m)
	return m
}

// A session from session-initiate to session-terminate between two
// managers linked in memory.
func Example() {
	ctx := context.Background()
	r := jingletest.NewRouter()
	defer r.Close()
	bobApp := jingletest.NewTestApp(true) // accepts every session
	alice := newPeer(r, "alice@example.org/laptop", jingletest.NewTestApp(false))
	bob := newPeer(r, "bob@example.org/phone", bobApp)
	defer alice.Close(ctx)
	defer bob.Close(ctx)

	h := jingletest.NewHandler()
	s, err := alice.Initiate(ctx, "bob@example.org/phone", "", jingletest.Contents("chat"), nil, h)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(<-h.Seen())
	fmt.Println(s.State(), len(s.Contents()))

	theirs := <-bobApp.Incoming()
	fmt.Println(theirs.State(), theirs.Initiator())
	if err := s.Terminate(ctx, jingle.NewReason(jingle.ReasonSuccess, "bye")); err != nil {
		fmt.Println(err)
		return
	}
	<-theirs.Done()
	fmt.Println(theirs.Reason())
	// Output:
	// session-accept
	// active 1
	// active alice@example.org/laptop
	// success: bye
}

// A call set up through Jingle Message Initiation (XEP-0353): propose to
// the bare JID, a device proceeds, then session-initiate to that device
// with the proposal's id.
func ExampleManager_Propose() {
	ctx := context.Background()
	r := jingletest.NewRouter()
	defer r.Close()
	bobApp := jingletest.NewTestApp(true)
	onProposal := func(p *jingle.Proposal) {
		// A real application rings and asks the user first.
		go func() {
			_ = p.Ring(ctx)
			_ = p.Proceed(ctx)
		}()
	}
	alice := newPeer(r, "alice@example.org/laptop", jingletest.NewTestApp(false))
	bob := newPeer(r, "bob@example.org/phone", bobApp, jingle.WithProposalHandler(onProposal))
	defer alice.Close(ctx)
	defer bob.Close(ctx)

	p, err := alice.Propose(ctx, "bob@example.org", []jingle.Element{jingletest.Description("call")})
	if err != nil {
		fmt.Println(err)
		return
	}
	device, err := p.Wait(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("proceeded by", device)
	h := jingletest.NewHandler()
	s, err := alice.Initiate(ctx, device, p.ID(), jingletest.Contents("call"), nil, h)
	if err != nil {
		fmt.Println(err)
		return
	}
	<-h.Seen()
	fmt.Println(s.SID() == p.ID(), s.ViaProposal(), s.State())
	// Output:
	// proceeded by bob@example.org/phone
	// true true active
}
