package conference

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/xmpp"
)

// fakeConn records what a host sends and acknowledges every IQ.
type fakeConn struct {
	mu       sync.Mutex
	iqs      []*jingle.IQ
	msgs     []*jingle.Message
	presence []Presence
	notify   chan struct{}
}

func newFakeConn() *fakeConn { return &fakeConn{notify: make(chan struct{}, 100)} }

func (f *fakeConn) poke() {
	select {
	case f.notify <- struct{}{}:
	default:
	}
}

func (f *fakeConn) SendIQ(_ context.Context, iq *jingle.IQ) (*jingle.IQ, error) {
	f.mu.Lock()
	f.iqs = append(f.iqs, iq)
	f.mu.Unlock()
	f.poke()
	return &jingle.IQ{ID: iq.ID, From: iq.To, To: iq.From, Type: jingle.IQResult}, nil
}

func (f *fakeConn) SendMessage(_ context.Context, m *jingle.Message) error {
	f.mu.Lock()
	f.msgs = append(f.msgs, m)
	f.mu.Unlock()
	f.poke()
	return nil
}

func (f *fakeConn) SendPresence(_ context.Context, p Presence) error {
	f.mu.Lock()
	f.presence = append(f.presence, p)
	f.mu.Unlock()
	f.poke()
	return nil
}

// waitFor polls until cond holds (it reads f under its lock) or fails.
func (f *fakeConn) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		f.mu.Lock()
		ok := cond()
		f.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-f.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

const testDomain = "call.localhost"

func newTestHost(t *testing.T, cfg HostConfig) (*Host, *fakeConn) {
	t.Helper()
	conn := newFakeConn()
	cfg.Domain = testDomain
	cfg.Conn = conn
	cfg.Room.Peer = rtp.PeerOptions{Loopback: true, Logger: testLogger()}
	cfg.Logger = testLogger()
	if cfg.EmptyGrace == 0 {
		cfg.EmptyGrace = 100 * time.Millisecond
	}
	h, err := NewHost(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("host close: %v", err)
		}
	})
	return h, conn
}

func onlyLocal(peer string) bool { return strings.Contains(peer, "@localhost") }

func discoGet(to string) *jingle.IQ {
	return &jingle.IQ{ID: "d1", From: "alice@localhost/phone", To: to, Type: jingle.IQGet,
		Payload: []byte(`<query xmlns="` + xmpp.NSDiscoInfo + `"/>`)}
}

func TestHostDisco(t *testing.T) {
	h, _ := newTestHost(t, HostConfig{})
	for _, to := range []string{"team@" + testDomain, "team@" + testDomain + "/focus", "Team@" + testDomain} {
		r := h.HandleIQ(context.Background(), discoGet(to))
		if r.Type != jingle.IQResult {
			t.Fatalf("disco#info %s: %+v", to, r)
		}
		info, err := xmpp.ParseDiscoInfo(r.Payload)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{rtp.FeatureAudio, rtp.FeatureVideo, jingle.NSMessage, "urn:xmpp:jingle:transports:ice-udp:1", "urn:xmpp:jingle:apps:dtls:0"} {
			if !slices.Contains(info.Features, f) {
				t.Errorf("disco#info %s lacks %s", to, f)
			}
		}
	}
	r := h.HandleIQ(context.Background(), discoGet(testDomain))
	info, _ := xmpp.ParseDiscoInfo(r.Payload)
	if len(info.Identities) != 1 || info.Identities[0].Category != "component" || slices.Contains(info.Features, rtp.FeatureAudio) {
		t.Errorf("the domain's disco#info: %+v", info)
	}
	bad := []string{"a b@" + testDomain, "x@other.example", strings.Repeat("x", 65) + "@" + testDomain}
	for _, to := range bad {
		if r := h.HandleIQ(context.Background(), discoGet(to)); r.Type != jingle.IQError || r.Error.Condition != jingle.CondItemNotFound {
			t.Errorf("disco#info %q: %+v, want item-not-found", to, r)
		}
	}
	if len(h.Rooms()) != 0 {
		t.Errorf("disco#info opened rooms: %v", h.Rooms())
	}
}

func initiate(from, to, sid string) *jingle.IQ {
	return &jingle.IQ{ID: "i1", From: from, To: to, Type: jingle.IQSet,
		Payload: []byte(`<jingle xmlns="urn:xmpp:jingle:1" action="session-initiate" sid="` + sid + `" initiator="` + from + `"><content creator="initiator" name="audio"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio"><payload-type id="111" name="opus" clockrate="48000" channels="2"/></description><transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="u" pwd="pwpwpwpwpwpwpwpwpwpwpw"><fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" setup="actpass">AA:BB</fingerprint></transport></content></jingle>`)}
}

func propose(from, to, id string) *jingle.Message {
	return &jingle.Message{ID: "m-" + id, From: from, To: to, Type: "chat",
		Payload: []byte(`<propose xmlns="urn:xmpp:jingle-message:0" id="` + id + `"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio"/></propose>`)}
}

// TestHostRefusesStrangers: who may not open a room gets a readable
// refusal, whether it calls directly or rings, and no room is opened.
func TestHostRefusesStrangers(t *testing.T) {
	h, conn := newTestHost(t, HostConfig{MayCreate: onlyLocal, MayJoin: onlyLocal})
	r := h.HandleIQ(context.Background(), initiate("mallory@evil.example/x", "team@"+testDomain+"/focus", "s1"))
	if r.Type != jingle.IQResult {
		t.Fatalf("session-initiate from a stranger: %+v, want an acknowledgement then a terminate", r)
	}
	conn.waitFor(t, "session-terminate decline", func() bool {
		for _, iq := range conn.iqs {
			if strings.Contains(string(iq.Payload), "session-terminate") && strings.Contains(string(iq.Payload), "<decline") &&
				strings.Contains(string(iq.Payload), "not allowed") && iq.To == "mallory@evil.example/x" && iq.From == "team@"+testDomain+"/focus" {
				return true
			}
		}
		return false
	})
	if !h.HandleMessage(context.Background(), propose("mallory@evil.example/x", "team@"+testDomain, "p1")) {
		t.Fatal("a stranger's proposal was not consumed")
	}
	conn.waitFor(t, "JMI reject", func() bool {
		for _, m := range conn.msgs {
			if strings.Contains(string(m.Payload), "<reject") && strings.Contains(string(m.Payload), `id="p1"`) && strings.Contains(string(m.Payload), "decline") {
				return true
			}
		}
		return false
	})
	if len(h.Rooms()) != 0 {
		t.Errorf("a stranger opened a room: %v", h.Rooms())
	}
	// A Jingle action for a room that is not open is an unknown session.
	ti := initiate("alice@localhost/phone", "team@"+testDomain+"/focus", "s2")
	ti.Payload = []byte(strings.Replace(string(ti.Payload), "session-initiate", "transport-info", 1))
	if r := h.HandleIQ(context.Background(), ti); r.Type != jingle.IQError || r.Error.Jingle != jingle.JingleUnknownSession {
		t.Errorf("transport-info to a closed room: %+v, want unknown-session", r)
	}
}

// TestHostOpensAndReclaims: an allowed ring opens the room, which
// proceeds from its focus; the room is reclaimed once idle and empty; at
// the room limit the next ring hears busy.
func TestHostOpensAndReclaims(t *testing.T) {
	h, conn := newTestHost(t, HostConfig{MayCreate: onlyLocal, MayJoin: onlyLocal, MaxRooms: 1})
	h.HandleMessage(context.Background(), propose("alice@localhost/phone", "team@"+testDomain, "p1"))
	conn.waitFor(t, "JMI proceed", func() bool {
		for _, m := range conn.msgs {
			if strings.Contains(string(m.Payload), "<proceed") && m.From == "team@"+testDomain+"/focus" && m.To == "alice@localhost/phone" {
				return true
			}
		}
		return false
	})
	if n := len(h.Rooms()); n != 1 {
		t.Fatalf("%d rooms open after a ring, want 1", n)
	}
	h.HandleMessage(context.Background(), propose("bob@localhost/pc", "other@"+testDomain, "p2"))
	conn.waitFor(t, "busy at the room limit", func() bool {
		for _, m := range conn.msgs {
			if strings.Contains(string(m.Payload), "<reject") && strings.Contains(string(m.Payload), "busy") && m.To == "bob@localhost/pc" {
				return true
			}
		}
		return false
	})
	deadline := time.Now().Add(5 * time.Second)
	for len(h.Rooms()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the idle room was not reclaimed: %v", h.Rooms())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHostPresence: subscriptions approved for who may join, with the
// focus's presence and caps; probes answered; strangers refused.
func TestHostPresence(t *testing.T) {
	h, conn := newTestHost(t, HostConfig{MayJoin: onlyLocal})
	room := "team@" + testDomain
	h.HandlePresence(context.Background(), Presence{From: "alice@localhost", To: room, Type: "subscribe"})
	h.HandlePresence(context.Background(), Presence{From: "alice@localhost/phone", To: room, Type: "probe"})
	h.HandlePresence(context.Background(), Presence{From: "mallory@evil.example", To: room, Type: "subscribe"})
	conn.mu.Lock()
	defer conn.mu.Unlock()
	var got []string
	for _, p := range conn.presence {
		got = append(got, p.From+">"+p.To+":"+p.Type)
		if p.Type == "" && (p.CapsVer == "" || p.From != room+"/focus") {
			t.Errorf("available presence without caps or not from the focus: %+v", p)
		}
	}
	want := []string{room + ">alice@localhost:subscribed", room + "/focus>alice@localhost:", room + "/focus>alice@localhost/phone:", room + ">mallory@evil.example:unsubscribed"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("presence sent:\n %v\nwant\n %v", got, want)
	}
}
