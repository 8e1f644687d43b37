package jingle_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

// BenchmarkSessionRoundTrip measures a whole session over the in-memory
// router: session-initiate, session-accept, session-terminate, each
// through XML encoding both ways.
func BenchmarkSessionRoundTrip(b *testing.B) {
	ctx := context.Background()
	r := jingletest.NewRouter()
	defer r.Close()
	app := jingletest.NewTestApp(true)
	alice := newPeer(r, romeo, jingletest.NewTestApp(false))
	bob := newPeer(r, juliet, app)
	defer alice.Close(ctx)
	defer bob.Close(ctx)
	contents := jingletest.Contents("a")
	b.ReportAllocs()
	for b.Loop() {
		h := jingletest.NewHandler()
		s, err := alice.Initiate(ctx, juliet, "", contents, nil, h)
		if err != nil {
			b.Fatal(err)
		}
		<-h.Seen()
		<-app.Incoming()
		if err := s.Terminate(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInitiateRefused measures the cost of a session-initiate
// refused by the pending limit: the flood path, which must stay cheap.
func BenchmarkInitiateRefused(b *testing.B) {
	ctx := context.Background()
	r := jingletest.NewRouter()
	defer r.Close()
	m := newPeer(r, juliet, jingletest.NewTestApp(false), jingle.WithPendingLimits(1, 1))
	defer m.Close(ctx)
	payload := func(i int) []byte { return []byte(jingleXML("session-initiate", fmt.Sprint("s", i), testContent)) }
	if reply := m.HandleIQ(ctx, &jingle.IQ{ID: "0", From: tybalt, Type: jingle.IQSet, Payload: payload(-1)}); reply.Type != jingle.IQResult {
		b.Fatal(reply.Error)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if reply := m.HandleIQ(ctx, &jingle.IQ{ID: "1", From: tybalt, Type: jingle.IQSet, Payload: payload(i)}); reply.Type != jingle.IQError {
			b.Fatal("accepted beyond the limit")
		}
	}
}

// BenchmarkUnknownSession measures the answer to an IQ for a sid we do
// not have (a third party probing).
func BenchmarkUnknownSession(b *testing.B) {
	ctx := context.Background()
	r := jingletest.NewRouter()
	defer r.Close()
	m := newPeer(r, juliet, jingletest.NewTestApp(false))
	defer m.Close(ctx)
	iq := &jingle.IQ{ID: "1", From: tybalt, Type: jingle.IQSet, Payload: []byte(jingleXML("transport-info", "nope", `<content creator="initiator" name="a"><transport xmlns="urn:x"/></content>`))}
	b.ReportAllocs()
	for b.Loop() {
		if reply := m.HandleIQ(ctx, iq); reply.Type != jingle.IQError {
			b.Fatal("no error")
		}
	}
}
