package rtp

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/jingle"
)

func TestDelayLine(t *testing.T) {
	d := newDelayLine(200 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type out struct {
		seq uint16
		at  time.Time
	}
	got := make(chan out, 8)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.run(ctx, func(p *pionrtp.Packet) error { got <- out{p.SequenceNumber, time.Now()}; return nil }, nil)
	}()
	start := time.Now()
	for i := uint16(1); i <= 3; i++ {
		if !d.push(time.Now(), &pionrtp.Packet{Header: pionrtp.Header{SequenceNumber: i}}) {
			t.Fatal("push refused")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := uint16(1); i <= 3; i++ {
		o := <-got
		if o.seq != i {
			t.Fatalf("packet %d came as %d: out of order", i, o.seq)
		}
		if e := o.at.Sub(start); e < 200*time.Millisecond {
			t.Fatalf("packet %d written after %v, want >= 200ms", i, e)
		}
	}
	d.stop()
	<-done
}

// firstPacket is a Sink that notes when its first packet came.
type firstPacket struct {
	mu    sync.Mutex
	first time.Time
	n     int
}

func (f *firstPacket) WriteRTP(*pionrtp.Packet) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.first.IsZero() {
		f.first = time.Now()
	}
	f.n++
	return nil
}

func (f *firstPacket) Close() error { return nil }

func (f *firstPacket) get() (time.Time, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.first, f.n
}

func (f *firstPacket) factory() SinkFactory {
	return func(string, webrtc.RTPCodecParameters) (Sink, error) { return f, nil }
}

// echoOffset calls an echoing callee with a tone and returns how long
// after the callee first heard the tone the caller first heard it back.
func echoOffset(t *testing.T, delay time.Duration) time.Duration {
	t.Helper()
	const d = 3 * time.Second
	tone := sine(t, 440, d)
	heardThere, heardBack := &firstPacket{}, &firstPacket{}
	l := newLink()
	bobApp := NewApplication(ApplicationOptions{Peer: loopback(t),
		AutoAnswer: &MediaOptions{Echo: true, EchoDelay: delay, Sinks: heardThere.factory()}})
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.manager(t, bob, bobApp.Options()...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call, err := Dial(ctx, aliceMgr, bob, CallOptions{
		MediaOptions: MediaOptions{Audio: tone, Sinks: heardBack.factory(), Duration: d + delay},
		Peer:         loopback(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := waitEnd(t, call, 30*time.Second); r.Condition != jingle.ReasonSuccess {
		t.Fatalf("call ended with %s", r)
	}
	there, n1 := heardThere.get()
	back, n2 := heardBack.get()
	if there.IsZero() || back.IsZero() {
		t.Fatalf("no tone: callee got %d packets, caller got %d back", n1, n2)
	}
	t.Logf("echo delay %v: tone back %v after the callee heard it (%d packets there, %d back)", delay, back.Sub(there), n1, n2)
	return back.Sub(there)
}

// TestEchoDelay: with EchoDelay 1s the tone comes back about a second
// after the callee heard it; without, at once. The bounds are generous
// (a loaded machine delays both ends alike): more than half the delay
// and less than twice it, against under 0.2 s without a delay.
func TestEchoDelay(t *testing.T) {
	if testing.Short() {
		t.Skip("real calls on loopback with ffmpeg tones")
	}
	if off := echoOffset(t, time.Second); off < 500*time.Millisecond || off > 2*time.Second {
		t.Errorf("with a 1s echo delay the tone came back after %v, want 0.5-2 s", off)
	}
	if off := echoOffset(t, 0); off >= 200*time.Millisecond {
		t.Errorf("without an echo delay the tone came back after %v, want < 0.2 s", off)
	}
}

// TestDirectEcho: an echo on the direct path, at once and delayed. The
// direct receive reuses a packet's memory once delivered (the echo
// writes it through or clones it before deliver returns), so a packet
// kept past that would come back overwritten by a later one: the
// caller's recording of the echo must still be the clean 440 Hz tone,
// and both ends must have taken the direct path both ways.
func TestDirectEcho(t *testing.T) {
	if testing.Short() {
		t.Skip("real calls on loopback with ffmpeg tones")
	}
	for _, delay := range []time.Duration{0, 300 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			const d = 3 * time.Second
			tone := sine(t, 440, d)
			rec := filepath.Join(t.TempDir(), "back")
			alicePeer, bobPeer := loopback(t), loopback(t)
			alicePeer.DirectAudio, bobPeer.DirectAudio = true, true
			bobOpts := ApplicationOptions{Peer: bobPeer, AutoAnswer: &MediaOptions{Echo: true, EchoDelay: delay}}
			in := incomingCalls(&bobOpts)
			bobApp := NewApplication(bobOpts)
			l := newLink()
			aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
			l.manager(t, bob, bobApp.Options()...)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			call, err := Dial(ctx, aliceMgr, bob, CallOptions{
				MediaOptions: MediaOptions{Audio: tone, Record: rec, Duration: d + delay + 500*time.Millisecond},
				Peer:         alicePeer,
			})
			if err != nil {
				t.Fatal(err)
			}
			bobCall := <-in
			if r := waitEnd(t, call, 30*time.Second); r.Condition != jingle.ReasonSuccess {
				t.Fatalf("call ended with %s", r)
			}
			waitEnd(t, bobCall, 10*time.Second)
			checkDirect(t, "caller", call)
			checkDirect(t, "echo", bobCall)
			checkTone(t, rec+".ogg", 440, d)
		})
	}
}
