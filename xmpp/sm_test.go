package xmpp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/prosodytest"
	"github.com/jingled/jingled/jingle"
)

// TestSMQueueAck pins the XEP-0198 §4 bookkeeping of our outbound
// stanzas: h counts modulo 2^32, an old h changes nothing, an h beyond
// what was sent is an error.
func TestSMQueueAck(t *testing.T) {
	items := func(n int) []smItem {
		out := make([]smItem, n)
		for i := range out {
			out[i] = smItem{raw: []byte{byte(i)}}
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		acked     uint32
		queued    int
		h         uint32
		wantDone  int
		wantLeft  int
		wantAcked uint32
		wantErr   error
	}{
		{name: "some", acked: 10, queued: 5, h: 12, wantDone: 2, wantLeft: 3, wantAcked: 12},
		{name: "all", acked: 10, queued: 5, h: 15, wantDone: 5, wantLeft: 0, wantAcked: 15},
		{name: "same h again", acked: 10, queued: 5, h: 10, wantLeft: 5, wantAcked: 10},
		{name: "older h", acked: 10, queued: 5, h: 7, wantLeft: 5, wantAcked: 10},
		{name: "wraps past 2^32-1", acked: math.MaxUint32 - 1, queued: 4, h: 1, wantDone: 3, wantLeft: 1, wantAcked: 1},
		{name: "wraps to zero", acked: math.MaxUint32, queued: 2, h: 0, wantDone: 1, wantLeft: 1, wantAcked: 0},
		{name: "older h across the wrap", acked: 2, queued: 1, h: math.MaxUint32, wantLeft: 1, wantAcked: 2},
		{name: "beyond what was sent", acked: 10, queued: 5, h: 16, wantLeft: 5, wantAcked: 10, wantErr: errHandledTooHigh},
		{name: "beyond across the wrap", acked: math.MaxUint32, queued: 1, h: 1, wantLeft: 1, wantAcked: math.MaxUint32, wantErr: errHandledTooHigh},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := smQueue{acked: tc.acked, queue: items(tc.queued)}
			done, err := q.ack(tc.h)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if len(done) != tc.wantDone || len(q.queue) != tc.wantLeft || q.acked != tc.wantAcked {
				t.Fatalf("done %d, left %d, acked %d; want %d, %d, %d", len(done), len(q.queue), q.acked, tc.wantDone, tc.wantLeft, tc.wantAcked)
			}
			if tc.wantLeft > 0 && q.queue[0].raw[0] != byte(tc.wantDone) {
				t.Fatalf("first left is stanza %d, want %d", q.queue[0].raw[0], tc.wantDone)
			}
			if q.sent() != tc.wantAcked+uint32(tc.wantLeft) {
				t.Fatalf("sent %d, want acked+left", q.sent())
			}
		})
	}
}

// TestSMNonzas: the elements we write, and h parsed as an unsigned 32-bit
// number.
func TestSMNonzas(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{smAnswer(0), "<a xmlns='urn:xmpp:sm:3' h='0'/>"},
		{smAnswer(math.MaxUint32), "<a xmlns='urn:xmpp:sm:3' h='4294967295'/>"},
		{smResume(`a'b"<`, 7), "<resume xmlns='urn:xmpp:sm:3' previd='a&#39;b&#34;&lt;' h='7'/>"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
	for _, tc := range []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"0", 0, true}, {"4294967295", math.MaxUint32, true}, {"4294967296", 0, false}, {"-1", 0, false}, {"", 0, false},
	} {
		got, err := parseH(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseH(%q) = %d, %v", tc.in, got, err)
		}
	}
}

// smUnacked is how many stanzas the server has not acknowledged yet.
func (c *Client) smUnacked() int {
	c.smMu.Lock()
	defer c.smMu.Unlock()
	if c.sm == nil {
		return -1
	}
	return len(c.sm.out.queue)
}

// TestStreamResumption (XEP-0198) against Prosody's mod_smacks: bob's
// stream is cut with an IQ in flight and kept down while he sends
// another. When Prosody keeps the session ("resumed"), both IQs get their
// reply after the resumption. When it refuses ("refused": Prosody
// restarted meanwhile and forgot the session), bob binds a new session
// with the same resource, the IQ sent during the outage is delivered
// from it, and the one the old session had delivered fails with
// ErrSessionLost.
func TestStreamResumption(t *testing.T) {
	for _, tc := range []struct {
		name    string
		restart bool
	}{
		{"resumed", false},
		{"refused", true},
	} {
		resumed := !tc.restart
		t.Run(tc.name, func(t *testing.T) {
			srv, cut, events := smacksLab(t)
			aliceEvents := make(chan Event, 64)
			alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", func(c *Config) {
				c.OnEvent = func(e Event) { aliceEvents <- e }
			})
			bob := bobVia(t, srv, cut, events, nil)
			ctx := testCtx(t)
			h, entered, release := blockingIQHandler()
			alice.HandleIQ(nsEcho, "echo", h)
			errc := sendIQInFlight(ctx, t, bob, echoIQ(alice.JID(), 1, "in flight"))
			<-entered
			waitFor(ctx, t, "the server to acknowledge the request", func() bool { return bob.smUnacked() == 0 })

			cut.hold(true)
			cut.cut()
			waitEvent(ctx, t, events, EventDisconnected)
			if bob.Connected() {
				t.Fatal("bob still connected after the cut")
			}
			errc2 := sendIQAsync(ctx, bob, echoIQ(alice.JID(), 2, "during the outage"))
			waitFor(ctx, t, "the IQ queued", func() bool { return bob.smUnacked() == 1 })
			close(release) // alice answers the first IQ while bob is away
			if tc.restart {
				if err := srv.Restart(ctx); err != nil {
					t.Fatal(err)
				}
				// alice is back before bob's IQ is resent to her.
				waitEvent(ctx, t, aliceEvents, EventDisconnected)
				waitEvent(ctx, t, aliceEvents, EventConnected)
			}
			cut.hold(false)

			e := waitEvent(ctx, t, events, EventConnected)
			if e.Resumed != resumed {
				t.Fatalf("reconnection %+v: resumed %v, want %v", e, e.Resumed, resumed)
			}
			if !resumed && !errors.Is(e.Err, ErrResumeRefused) {
				t.Fatalf("fallback without the refusal: %+v", e)
			}
			if e.JID != bareJID(e.JID)+"/phone" {
				t.Fatalf("reconnected as %s, want the resource phone", e.JID)
			}
			err := <-errc
			switch {
			case resumed && err != nil:
				t.Fatalf("IQ in flight across the resumption: %v", err)
			case !resumed && !errors.Is(err, ErrSessionLost):
				t.Fatalf("IQ in flight across a refused resumption: %v, want ErrSessionLost", err)
			}
			if err := <-errc2; err != nil {
				t.Fatalf("IQ sent during the outage: %v", err)
			}
		})
	}
}

// smacksLab is a Prosody with mod_smacks, a cutter in front of it and a
// channel for the events of the client behind the cutter.
func smacksLab(t *testing.T) (*prosodytest.Server, *cutter, chan Event) {
	srv := prosodytest.New(t, prosodytest.WithSmacks(0))
	return srv, newCutter(t, srv.Addr), make(chan Event, 64)
}

// bobVia connects bob (resource phone) through cut, reconnecting at
// once, his events sent to events; edit, if set, changes his Config.
func bobVia(t *testing.T, srv *prosodytest.Server, cut *cutter, events chan<- Event, edit func(*Config)) *Client {
	return newClient(t, srv, srv.NewAccount(t, "bob"), "phone", func(c *Config) {
		c.Addr = cut.l.Addr().String()
		c.MinBackoff = 5 * time.Millisecond
		c.MaxBackoff = 50 * time.Millisecond
		c.OnEvent = func(e Event) { events <- e }
		if edit != nil {
			edit(c)
		}
	})
}

// waitEvent returns the next event of kind k.
func waitEvent(ctx context.Context, t *testing.T, events <-chan Event, k EventKind) Event {
	t.Helper()
	for {
		select {
		case e := <-events:
			if e.Kind == k {
				return e
			}
		case <-ctx.Done():
			t.Fatalf("no %v event", k)
		}
	}
}

// TestDeadConnectionResumed: bob's connection stops carrying anything,
// without an error or a reset (a blackhole, as a NAT that forgot the
// connection). His next IQ gets no ack within AckTimeout, so he drops the
// connection himself, resumes the session on a new one, and the IQ is
// sent again there and answered.
func TestDeadConnectionResumed(t *testing.T) {
	srv, cut, events := smacksLab(t)
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", nil)
	bob := bobVia(t, srv, cut, events, func(c *Config) { c.AckTimeout = 200 * time.Millisecond })
	ctx := testCtx(t)
	alice.HandleIQ(nsEcho, "echo", func(_ context.Context, iq *jingle.IQ) *jingle.IQ { return iq.Result() })
	cut.blackhole()
	if _, err := bob.SendIQ(ctx, echoIQ(alice.JID(), 1, "into the void")); err != nil {
		t.Fatalf("IQ sent over a dead connection: %v", err)
	}
	if e := waitEvent(ctx, t, events, EventDisconnected); !errors.Is(e.Err, errAckTimeout) {
		t.Fatalf("disconnected with %v, want the ack timeout", e.Err)
	}
	if e := waitEvent(ctx, t, events, EventConnected); !e.Resumed {
		t.Fatalf("reconnection %+v: not resumed", e)
	}
}

// TestOutageQueueBounded: while bob is disconnected his messages are
// queued up to SMQueueSize; the next one fails with ErrQueueFull, and the
// queued ones reach alice, in order, once he has resumed.
func TestOutageQueueBounded(t *testing.T) {
	srv, cut, events := smacksLab(t)
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", nil)
	got := make(chan string, 8)
	alice.HandleMessage(func(_ context.Context, m *jingle.Message) bool {
		got <- string(m.Payload)
		return true
	})
	bob := bobVia(t, srv, cut, events, func(c *Config) { c.SMQueueSize = 2 })
	ctx := testCtx(t)
	// The bound counts the unacknowledged stanzas too (the roster
	// request and presence of the new stream, until acked).
	waitFor(ctx, t, "the server to acknowledge bob's stanzas", func() bool { return bob.smUnacked() == 0 })
	cut.hold(true)
	cut.cut()
	waitEvent(ctx, t, events, EventDisconnected)
	send := func(n int) error {
		return bob.SendMessage(ctx, &jingle.Message{To: alice.JID(), Type: "normal", Payload: []byte(fmt.Sprintf("<body>%d</body>", n))})
	}
	for n := 1; n <= 2; n++ {
		if err := send(n); err != nil {
			t.Fatalf("message %d during the outage: %v", n, err)
		}
	}
	if err := send(3); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("message 3 beyond SMQueueSize 2: %v, want ErrQueueFull", err)
	}
	cut.hold(false)
	if e := waitEvent(ctx, t, events, EventConnected); !e.Resumed {
		t.Fatalf("reconnection %+v: not resumed", e)
	}
	for n := 1; n <= 2; n++ {
		select {
		case p := <-got:
			if want := fmt.Sprintf(">%d</body>", n); !strings.Contains(p, want) {
				t.Fatalf("alice got %s, want %s", p, want)
			}
		case <-ctx.Done():
			t.Fatalf("message %d never arrived", n)
		}
	}
}
