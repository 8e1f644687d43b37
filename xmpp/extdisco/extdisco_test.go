package extdisco

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

// captureTime is when the StanzaJS capture was taken; its credentials were
// valid for a day from then.
var captureTime = time.Date(2026, 11, 22, 12, 16, 53, 0, time.UTC)

func readIQ(t *testing.T, file string) *jingle.IQ {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("%s: no <iq/>: %v", file, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			var iq jingle.IQ
			if err := d.DecodeElement(&iq, &se); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			return &iq
		}
	}
}

func urls(servers []ICEServer) []string {
	var out []string
	for _, s := range servers {
		out = append(out, s.URL)
	}
	return out
}

func TestGoldenXEP0215AllServices(t *testing.T) {
	services, err := ParseServices(readIQ(t, "testdata/xep0215-all-services.xml").Payload)
	if err != nil {
		t.Fatal(err)
	}
	if len(services) != 5 {
		t.Fatalf("%d services, want 5", len(services))
	}
	res := Convert(services, captureTime)
	want := []string{
		"stun:stun.shakespeare.lit:9998",
		"turn:relay.shakespeare.lit:9999?transport=udp",
		"stun:192.0.2.1:8888",
		"turn:192.0.2.1:8889?transport=udp",
	}
	if got := urls(res.Servers); !reflect.DeepEqual(got, want) {
		t.Fatalf("servers %v, want %v", got, want)
	}
	if s := res.Servers[1]; s.Username != "nb78932lkjlskjfdb7g8" || s.Credential != "jj929jkj5sadjfj93v3n" || s.Port != 9999 || s.Transport != "udp" {
		t.Fatalf("relay entry %+v", s)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Service.Type != "ftp" {
		t.Fatalf("skipped %+v, want the ftp service", res.Skipped)
	}
}

func TestGoldenXEP0215SelectedServices(t *testing.T) {
	services, err := ParseServices(readIQ(t, "testdata/xep0215-selected-services.xml").Payload)
	if err != nil {
		t.Fatal(err)
	}
	res := Convert(services, captureTime)
	want := []string{"turn:turn.shakespeare.lit:9999?transport=udp", "turn:192.0.2.1:8889?transport=udp"}
	if got := urls(res.Servers); !reflect.DeepEqual(got, want) {
		t.Fatalf("servers %v, want %v", got, want)
	}
}

func TestGoldenStanzaJSCapture(t *testing.T) {
	iq := readIQ(t, "testdata/stanzajs-result.xml")
	services, err := ParseServices(iq.Payload)
	if err != nil {
		t.Fatal(err)
	}
	res := Convert(services, captureTime)
	if len(res.Servers) != 2 || len(res.Skipped) != 0 {
		t.Fatalf("servers %+v skipped %+v", res.Servers, res.Skipped)
	}
	stun, turn := res.Servers[0], res.Servers[1]
	if stun.URL != "stun:127.0.0.1:23478" || stun.Username != "" || !stun.Expires.IsZero() {
		t.Fatalf("stun %+v", stun)
	}
	wantExp := time.Date(2026, 11, 23, 12, 16, 53, 0, time.UTC)
	if turn.URL != "turn:127.0.0.1:23478?transport=udp" || turn.Username != "1795436213" ||
		turn.Credential != "H5OIdy70SKKK9NcTT3FtK5V2Xro=" || !turn.Expires.Equal(wantExp) {
		t.Fatalf("turn %+v", turn)
	}
	if !res.Earliest().Equal(wantExp) {
		t.Fatalf("earliest %v", res.Earliest())
	}
	// TURN REST: the username is the expiry as a Unix time.
	if fmt.Sprint(wantExp.Unix()) != turn.Username {
		t.Fatalf("username %s is not the expiry %d", turn.Username, wantExp.Unix())
	}
	// After expiry the credentials are dropped.
	if late := Convert(services, wantExp.Add(time.Second)); len(late.Servers) != 1 || late.Servers[0].Type != "stun" {
		t.Fatalf("after expiry: %+v", late.Servers)
	}
}

func TestConvertSkips(t *testing.T) {
	now := captureTime
	for _, tc := range []struct {
		name   string
		sv     Service
		reason string
	}{
		{"no port", Service{Type: "stun", Host: "h", Transport: "udp"}, "no port"},
		{"bad port", Service{Type: "stun", Host: "h", Port: "70000"}, "invalid port"},
		{"unknown transport", Service{Type: "turn", Host: "h", Port: "3478", Transport: "sctp", Username: "u", Password: "p"}, "unknown transport"},
		{"turn no credentials", Service{Type: "turn", Host: "h", Port: "3478", Transport: "udp"}, "without username/password"},
		{"turn no password", Service{Type: "turn", Host: "h", Port: "3478", Transport: "udp", Username: "u"}, "without username/password"},
		{"expired", Service{Type: "turn", Host: "h", Port: "3478", Username: "u", Password: "p", Expires: "2026-11-22T12:00:00Z"}, "expired"},
		{"bad expires", Service{Type: "turn", Host: "h", Port: "3478", Username: "u", Password: "p", Expires: "tomorrow"}, "invalid expires"},
		{"other type", Service{Type: "ftp", Host: "h", Port: "21"}, "not STUN/TURN"},
		{"no host", Service{Type: "stun", Port: "3478"}, "no host"},
		{"turns over udp", Service{Type: "turns", Host: "h", Port: "5349", Transport: "udp", Username: "u", Password: "p"}, "over udp"},
		{"deleted", Service{Type: "stun", Host: "h", Port: "3478", Action: "delete"}, "deleted"},
	} {
		res := Convert([]Service{tc.sv}, now)
		if len(res.Servers) != 0 || len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0].Reason, tc.reason) {
			t.Errorf("%s: servers %+v skipped %+v, want reason %q", tc.name, res.Servers, res.Skipped, tc.reason)
		}
	}
	ok := Convert([]Service{
		{Type: "turn", Host: "::1", Port: "3478", Transport: "tcp", Username: "u", Password: "p"},
		{Type: "turns", Host: "turn.example", Port: "5349", Transport: "tcp", Username: "u", Password: "p"},
		{Type: "turns", Host: "turn.example", Port: "443", Transport: "tcp", Username: "u", Password: "p"},
		{Type: "turns", Host: "turn.example", Port: "443", Username: "u2", Password: "p"},
		{Type: "stun", Host: "h", Port: "3478"},
	}, now)
	want := []string{"turn:[::1]:3478?transport=tcp", "turns:turn.example:5349?transport=tcp",
		"turns:turn.example:443?transport=tcp", "turns:turn.example:443", "stun:h:3478"}
	if got := urls(ok.Servers); !reflect.DeepEqual(got, want) {
		t.Fatalf("usable: %v, want %v", got, want)
	}
	// A turns service on 443 is TURN over TLS to pion's ICE agent, with or
	// without the transport parameter.
	for _, sv := range ok.Servers[2:4] {
		u, err := stun.ParseURI(sv.URL)
		if err != nil || u.Scheme != stun.SchemeTypeTURNS || u.Proto != stun.ProtoTypeTCP || u.Port != 443 {
			t.Errorf("pion reads %s as %+v (%v), want TURN over TLS on 443", sv.URL, u, err)
		}
	}
	// pion accepts every URL we produce.
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{ICEServers: ToWebRTC(ok.Servers)})
	if err != nil {
		t.Fatalf("pion rejects our ICE servers: %v", err)
	}
	if err := pc.Close(); err != nil {
		t.Fatal(err)
	}
}

// sameXML compares two elements as trees: names, attributes (any order),
// children; whitespace between elements ignored.
func sameXML(t *testing.T, a, b []byte) bool {
	t.Helper()
	type node struct {
		XMLName  xml.Name
		Attrs    []xml.Attr `xml:",any,attr"`
		Children []node     `xml:",any"`
		Text     string     `xml:",chardata"`
	}
	var norm func(n *node)
	norm = func(n *node) {
		attrs := n.Attrs[:0]
		for _, a := range n.Attrs {
			if a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
				attrs = append(attrs, a)
			}
		}
		sort.Slice(attrs, func(i, j int) bool { return attrs[i].Name.Local < attrs[j].Name.Local })
		n.Attrs = attrs
		n.Text = strings.TrimSpace(n.Text)
		for i := range n.Children {
			norm(&n.Children[i])
		}
	}
	var x, y node
	if err := xml.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	norm(&x)
	norm(&y)
	return reflect.DeepEqual(x, y)
}

// fakeServer is an in-memory XEP-0215 responder speaking through a
// jingle.Sender, recording what it was asked.
type fakeServer struct {
	mu       sync.Mutex
	asked    [][]byte
	answer   func(payload []byte) (*jingle.IQ, error)
	calls    int
	answered chan struct{}
}

func (f *fakeServer) SendIQ(_ context.Context, iq *jingle.IQ) (*jingle.IQ, error) {
	f.mu.Lock()
	f.asked = append(f.asked, iq.Payload)
	f.calls++
	f.mu.Unlock()
	return f.answer(iq.Payload)
}

func (f *fakeServer) SendMessage(context.Context, *jingle.Message) error { return nil }

func TestRequestsMatchGoldens(t *testing.T) {
	for _, golden := range []string{"testdata/xep0215-request-all.xml", "testdata/stanzajs-request.xml"} {
		var sent []byte
		f := &fakeServer{answer: func(p []byte) (*jingle.IQ, error) {
			sent = p
			return &jingle.IQ{Type: jingle.IQResult, Payload: readIQ(t, "testdata/stanzajs-result.xml").Payload}, nil
		}}
		if _, err := Discover(context.Background(), f, "localhost", func() time.Time { return captureTime }); err != nil {
			t.Fatal(err)
		}
		if want := readIQ(t, golden).Payload; !sameXML(t, sent, want) {
			t.Errorf("query %s differs from %s's %s", sent, golden, want)
		}
	}
}

func TestRestrictedTURNGetsCredentials(t *testing.T) {
	f := &fakeServer{answer: func(p []byte) (*jingle.IQ, error) {
		if bytes.Contains(p, []byte("credentials")) {
			return &jingle.IQ{Type: jingle.IQResult, Payload: readIQ(t, "testdata/xep0215-credentials.xml").Payload}, nil
		}
		return &jingle.IQ{Type: jingle.IQResult, Payload: []byte(`<services xmlns='urn:xmpp:extdisco:2'>` +
			`<service host='turn.shakespeare.lit' port='9999' transport='udp' type='turn' restricted='true'/></services>`)}, nil
	}}
	res, err := Discover(context.Background(), f, "shakespeare.lit", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Servers) != 1 || res.Servers[0].Username != "nb78932lkjlskjfdb7g8" || res.Servers[0].Credential != "jj929jkj5sadjfj93v3n" {
		t.Fatalf("servers %+v", res.Servers)
	}
	if len(f.asked) != 2 || !sameXML(t, f.asked[1], []byte(`<credentials xmlns='urn:xmpp:extdisco:2'><service host='turn.shakespeare.lit' type='turn' port='9999'/></credentials>`)) {
		t.Fatalf("credentials request %s", f.asked)
	}
	// The XEP's own request (without port) matches ours minus the port.
	want := readIQ(t, "testdata/xep0215-request-credentials.xml").Payload
	if !sameXML(t, bytes.Replace(f.asked[1], []byte(` port="9999"`), nil, 1), want) {
		t.Fatalf("credentials request %s vs XEP %s", f.asked[1], want)
	}
}

func TestFallbackToExtdisco1(t *testing.T) {
	r := jingletest.NewRouter()
	defer r.Close()
	server := r.Endpoint("localhost")
	server.HandleIQ(NS1, "services", func(_ context.Context, iq *jingle.IQ) *jingle.IQ {
		reply := iq.Result()
		reply.Payload = []byte(`<services xmlns='urn:xmpp:extdisco:1'><service host='127.0.0.1' port='3478' transport='udp' type='turn' username='u' password='p'/></services>`)
		return reply
	})
	alice := r.Endpoint("alice@localhost/x")
	res, err := Discover(context.Background(), alice, "localhost", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Namespace != NS1 || len(res.Servers) != 1 || res.Servers[0].URL != "turn:127.0.0.1:3478?transport=udp" {
		t.Fatalf("result %+v", res)
	}
	// A server with neither namespace: the error says so.
	if _, err := Discover(context.Background(), r.Endpoint("bob@localhost/y"), "nobody.localhost", nil); err == nil {
		t.Fatal("discovery against a server without XEP-0215 succeeded")
	}
}

func TestNoUsableServices(t *testing.T) {
	f := &fakeServer{answer: func([]byte) (*jingle.IQ, error) {
		return &jingle.IQ{Type: jingle.IQResult, Payload: []byte(`<services xmlns='urn:xmpp:extdisco:2'><service host='h' type='turn' port='1'/></services>`)}, nil
	}}
	_, err := Discover(context.Background(), f, "h", nil)
	if !errors.Is(err, ErrNoServices) {
		t.Fatalf("err = %v, want ErrNoServices", err)
	}
}

func TestNextRefresh(t *testing.T) {
	now := captureTime
	res := Result{Servers: []ICEServer{{Expires: now.Add(100 * time.Second)}, {Expires: now.Add(10 * time.Second)}, {}}}
	if got := NextRefresh(res, now, 0.8, time.Second, time.Hour); got != 8*time.Second {
		t.Errorf("next = %v, want 8s (80%% of the earliest)", got)
	}
	if got := NextRefresh(res, now, 0.8, 20*time.Second, time.Hour); got != 20*time.Second {
		t.Errorf("next = %v, want the 20s floor", got)
	}
	if got := NextRefresh(Result{Servers: []ICEServer{{}}}, now, 0.8, time.Second, time.Hour); got != time.Hour {
		t.Errorf("next = %v, want the interval when nothing expires", got)
	}
}

func TestPushTriggersRequery(t *testing.T) {
	r := jingletest.NewRouter()
	defer r.Close()
	server := r.Endpoint("localhost")
	queries := make(chan struct{}, 16)
	server.HandleIQ(NS, "services", func(_ context.Context, iq *jingle.IQ) *jingle.IQ {
		queries <- struct{}{}
		reply := iq.Result()
		reply.Payload = []byte(`<services xmlns='urn:xmpp:extdisco:2'><service host='127.0.0.1' port='3478' transport='udp' type='stun'/></services>`)
		return reply
	})
	alice := r.Endpoint("alice@localhost/x")
	ref, err := StartRefresher(context.Background(), RefresherConfig{Sender: alice, Server: "localhost", Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	alice.HandleIQ(NS, "services", ref.HandlePush)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wait := func(what string) {
		t.Helper()
		select {
		case <-queries:
		case <-ctx.Done():
			t.Fatal(what)
		}
	}
	wait("no initial query")
	<-ref.Ready()
	push := []byte(`<services xmlns='urn:xmpp:extdisco:2' type='turn'><service action='add' host='192.0.2.2' port='7778' transport='udp' type='turn' username='u' password='p'/></services>`)
	if _, err := server.SendIQ(ctx, &jingle.IQ{To: "alice@localhost/x", Type: jingle.IQSet, Payload: push}); err != nil {
		t.Fatalf("push not acknowledged: %v", err)
	}
	wait("push did not trigger a query (the interval is an hour)")
	// A push from someone else is refused.
	_, err = r.Endpoint("mallory@localhost/y").SendIQ(ctx, &jingle.IQ{To: "alice@localhost/x", Type: jingle.IQSet, Payload: push})
	if !errors.Is(err, jingle.ErrServiceUnavailable) {
		t.Fatalf("push from a stranger: err = %v", err)
	}
}

// TestConvertSharesCredentials: Prosody 0.12's mod_turn_external with
// turn_external_tls_port announces the turns service without credentials
// (its Lua gives the secret to type "turn" only); it takes those of the
// same host's turn service, so TURN over TLS on 443 is usable. A host
// without any credentials stays skipped.
func TestConvertSharesCredentials(t *testing.T) {
	exp := captureTime.Add(time.Hour).Format(time.RFC3339)
	services := []Service{
		{Type: "stun", Transport: "udp", Host: "turn.example.org", Port: "3478"},
		{Type: "turn", Transport: "udp", Host: "turn.example.org", Port: "3478", Username: "1700000000", Password: "pw", Expires: exp, Restricted: "1"},
		{Type: "turns", Transport: "tcp", Host: "turn.example.org", Port: "443"},
		{Type: "turns", Transport: "tcp", Host: "other.example.org", Port: "443"},
	}
	res := Convert(services, captureTime)
	var turns *ICEServer
	for i, s := range res.Servers {
		if s.URL == "turns:turn.example.org:443?transport=tcp" {
			turns = &res.Servers[i]
		}
	}
	if turns == nil || turns.Username != "1700000000" || turns.Credential != "pw" || turns.Expires.Format(time.RFC3339) != exp || !turns.Borrowed {
		t.Fatalf("turns on 443: %+v (servers %+v)", turns, res.Servers)
	}
	for _, s := range res.Servers {
		if s.Borrowed && s.Type != "turns" {
			t.Errorf("%s marked borrowed", s.URL)
		}
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Service.Host != "other.example.org" {
		t.Errorf("skipped %+v, want only other.example.org's turns", res.Skipped)
	}
	if services[2].Username != "" {
		t.Error("Convert changed its input")
	}
}
