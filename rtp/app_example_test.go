package rtp_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
	"github.com/jingled/jingled/rtp"
)

// Answering: Juliet's application answers every call and echoes what it
// hears. Here her manager is served on the in-memory router (jingletest);
// on an XMPP server the same manager is served by an xmpp.Client
// (client.Serve(mgr)), with ICE servers from xmpp/extdisco, as
// examples/echobot does.
func ExampleNewApplication() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := jingletest.NewRouter()
	defer r.Close()

	app := rtp.NewApplication(rtp.ApplicationOptions{
		Peer:       rtp.PeerOptions{Loopback: true}, // on a server: ICEServers or ICEServerSource
		AutoAnswer: &rtp.MediaOptions{Echo: true},
		OnIncoming: func(c *rtp.Call) { fmt.Println("call from", c.Peer()) },
	})
	defer app.Close(ctx)
	juliet := r.Manager("juliet@example.org/balcony", app.Options()...)
	defer juliet.Close(ctx)

	// Romeo calls for a second, then hangs up.
	romeo := r.Manager("romeo@example.org/orchard", jingle.WithTransport(rtp.ICEUDP{}))
	defer romeo.Close(ctx)
	call, err := rtp.Dial(ctx, romeo, "juliet@example.org/balcony", rtp.CallOptions{
		Peer:         rtp.PeerOptions{Loopback: true},
		MediaOptions: rtp.MediaOptions{Duration: time.Second},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	reason, err := call.Wait(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("ended:", reason.Condition)
	// Output:
	// call from romeo@example.org/orchard
	// ended: success
}

// Calling: Romeo plays an Ogg/Opus file to Juliet, who echoes it, records
// what comes back and follows the call's events until it hangs up after
// two seconds. On an XMPP server the manager is an xmpp.Client's, as in
// examples/callrecord.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := jingletest.NewRouter()
	defer r.Close()
	tmp, err := os.MkdirTemp("", "example-dial-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(tmp)
	greeting := filepath.Join(tmp, "greeting.ogg")
	if err := writeSilence(greeting, 3*time.Second); err != nil {
		panic(err)
	}

	echo := rtp.NewApplication(rtp.ApplicationOptions{Peer: rtp.PeerOptions{Loopback: true}, AutoAnswer: &rtp.MediaOptions{Echo: true}})
	defer echo.Close(ctx)
	juliet := r.Manager("juliet@example.org/balcony", echo.Options()...)
	defer juliet.Close(ctx)
	romeo := r.Manager("romeo@example.org/orchard", jingle.WithTransport(rtp.ICEUDP{}))
	defer romeo.Close(ctx)

	call, err := rtp.Dial(ctx, romeo, "juliet@example.org/balcony", rtp.CallOptions{
		Peer: rtp.PeerOptions{Loopback: true},
		MediaOptions: rtp.MediaOptions{
			Audio:    greeting,
			Record:   filepath.Join(tmp, "heard"), // heard.ogg
			Duration: 2 * time.Second,
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for ev := range call.Events() { // closed after EventEnded
		switch ev.Type {
		case rtp.EventRinging, rtp.EventAccepted, rtp.EventConnected:
			fmt.Println(ev.Type)
		case rtp.EventEnded:
			fmt.Println(ev.Type, ev.Reason)
		}
	}
	<-call.Done() // the recording is complete
	info, err := os.Stat(filepath.Join(tmp, "heard.ogg"))
	fmt.Println("echo recorded:", err == nil && info.Size() > 0 && call.Stats().PacketsReceived > 0)
	// Output:
	// ringing
	// accepted
	// ice-connected
	// ended success
	// echo recorded: true
}

// writeSilence writes d of Opus silence (one 20 ms frame per packet) to
// an Ogg file at path, so the example needs no media file of its own.
func writeSilence(path string, d time.Duration) error {
	w, err := oggwriter.New(path, 48000, 2)
	if err != nil {
		return err
	}
	for i := range int(d / (20 * time.Millisecond)) {
		p := &pionrtp.Packet{
			Header:  pionrtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i * 960)},
			Payload: []byte{0xf8, 0xff, 0xfe}, // TOC: CELT fullband 20 ms; a silent frame
		}
		if err := w.WriteRTP(p); err != nil {
			_ = w.Close()
			return err
		}
	}
	return w.Close()
}
