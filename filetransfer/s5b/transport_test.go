package s5b

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"encoding/xml"

	"github.com/jingled/jingled/jingle"
)

// pairSession links two handles: a transport-info sent by one is handed
// to the other's HandleRemote, as the manager would after routing.
type pairSession struct {
	local, peer string
	initiator   bool
	mu          sync.Mutex
	other       *handle
	sent        []*Wire
}

func (p *pairSession) Local() string     { return p.local }
func (p *pairSession) Peer() string      { return p.peer }
func (p *pairSession) IsInitiator() bool { return p.initiator }
func (p *pairSession) Send(ctx context.Context, j *jingle.Jingle) error {
	w, err := Decode(j.Contents[0].Transport)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.sent = append(p.sent, w)
	o := p.other
	p.mu.Unlock()
	if o == nil {
		return nil
	}
	return o.HandleRemote(ctx, j.Action, *j.Contents[0].Transport)
}

const (
	romeo  = "romeo@montague.example/orchard"
	juliet = "juliet@capulet.example/balcony"
)

func refuseAll(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("blocked by test firewall")
}

// negotiate runs session-initiate/session-accept between two transports
// and returns both handles.
func negotiate(t *testing.T, ta, tb *Transport) (*handle, *handle) {
	t.Helper()
	sa := &pairSession{local: romeo, peer: juliet, initiator: true}
	sb := &pairSession{local: juliet, peer: romeo}
	a, b := ta.newHandle(sa, "a-file-offer"), tb.newHandle(sb, "a-file-offer")
	sa.other, sb.other = b, a
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	ctx := context.Background()
	offer, err := a.Local(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.HandleRemote(ctx, jingle.ActionSessionInitiate, offer); err != nil {
		t.Fatal(err)
	}
	answer, err := b.Local(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.HandleRemote(ctx, jingle.ActionSessionAccept, answer); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func pipeCheck(t *testing.T, a, b *handle) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ca, err := a.Conn(ctx)
	if err != nil {
		t.Fatalf("initiator conn: %v", err)
	}
	cb, err := b.Conn(ctx)
	if err != nil {
		t.Fatalf("responder conn: %v", err)
	}
	msg := bytes.Repeat([]byte("jingle"), 10000)
	errc := make(chan error, 1)
	go func() { _, err := ca.Write(msg); errc <- err }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(cb, got); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("data differs")
	}
}

func TestDirect(t *testing.T) {
	a, b := negotiate(t, New(nil, WithHosts("127.0.0.1")), New(nil, WithHosts("127.0.0.1")))
	pipeCheck(t, a, b)
}

func TestOneSideBlocked(t *testing.T) {
	// The initiator cannot reach the responder; the responder's
	// candidate-used on the initiator's listener is nominated.
	a, b := negotiate(t, New(nil, WithHosts("127.0.0.1"), WithDialContext(refuseAll)), New(nil, WithHosts("127.0.0.1")))
	pipeCheck(t, a, b)
}

func TestBothBlocked(t *testing.T) {
	a, b := negotiate(t,
		New(nil, WithHosts("127.0.0.1"), WithDialContext(refuseAll)),
		New(nil, WithHosts("127.0.0.1"), WithDialContext(refuseAll)))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := a.Conn(ctx); !errors.Is(err, ErrFailed) {
		t.Fatalf("initiator: %v", err)
	}
	if _, err := b.Conn(ctx); !errors.Is(err, ErrFailed) {
		t.Fatalf("responder: %v", err)
	}
}

func TestWrongDstAddrRefused(t *testing.T) {
	tr := New(nil, WithHosts("127.0.0.1"))
	h := tr.newHandle(&pairSession{local: romeo, peer: juliet, initiator: true}, "c")
	defer h.Close()
	el, err := h.Local(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w, _ := Decode(&el)
	c := w.Candidates[0]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := h.dialSOCKS(ctx, net.JoinHostPort(c.Host, itoa(c.Port)), DstAddr("other", romeo, juliet)); err == nil {
		t.Fatal("listener accepted a stranger's DST.ADDR")
	}
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

// TestDinoGolden reads Dino 0.4.2's offer and transport-info and checks
// our DST.ADDR rules and our answer against them.
func TestDinoGolden(t *testing.T) {
	src, err := os.ReadFile("../testdata/dino-0.4.2-session.xml")
	if err != nil {
		t.Fatal(err)
	}
	const carol, bob = "carol@localhost/dino", "bob@localhost/dino"
	find := func(action, from string) *jingle.Jingle {
		re := regexp.MustCompile(`<iq [^>]*>.*?</iq>`)
		for _, s := range re.FindAllString(string(src), -1) {
			if strings.Contains(s, `action="`+action+`"`) && strings.Contains(s, "s5b:1") && strings.Contains(s, `from="`+from+`"`) {
				var iq jingle.IQ
				if err := xml.Unmarshal([]byte(s), &iq); err != nil {
					t.Fatal(err)
				}
				j, err := jingle.Parse(iq.Payload)
				if err != nil {
					t.Fatal(err)
				}
				return j
			}
		}
		t.Fatalf("no %s from %s", action, from)
		return nil
	}
	offer := find("session-initiate", carol)
	w, err := Decode(offer.Contents[0].Transport)
	if err != nil {
		t.Fatal(err)
	}
	if w.Mode != "tcp" || len(w.Candidates) != 1 || w.Candidates[0].Port != 42805 || w.Candidates[0].Type != TypeDirect {
		t.Fatalf("offer = %+v", w)
	}
	if got := DstAddr(w.SID, carol, bob); got != w.DstAddr {
		t.Fatalf("initiator dstaddr = %s, Dino sent %s", got, w.DstAddr)
	}
	accept := find("session-accept", bob)
	wa, err := Decode(accept.Contents[0].Transport)
	if err != nil {
		t.Fatal(err)
	}
	if got := DstAddr(w.SID, bob, carol); got != wa.DstAddr {
		t.Fatalf("responder dstaddr = %s, Dino sent %s", got, wa.DstAddr)
	}
	info := find("transport-info", bob)
	wi, err := Decode(info.Contents[0].Transport)
	if err != nil {
		t.Fatal(err)
	}
	if wi.CandidateUsed == nil || wi.CandidateUsed.CID != w.Candidates[0].CID {
		t.Fatalf("candidate-used = %+v", wi.CandidateUsed)
	}

	// Our answer to Dino's offer, as bob: same sid, bob's dstaddr, tcp.
	h := New(nil, WithHosts("127.0.0.1")).newHandle(&pairSession{local: bob, peer: carol}, "a-file-offer")
	defer h.Close()
	if err := h.HandleRemote(context.Background(), jingle.ActionSessionInitiate, *offer.Contents[0].Transport); err != nil {
		t.Fatal(err)
	}
	el, err := h.Local(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ours, err := Decode(&el)
	if err != nil {
		t.Fatal(err)
	}
	if ours.SID != w.SID || ours.DstAddr != wa.DstAddr || ours.Mode != "tcp" || len(ours.Candidates) != 1 || ours.Candidates[0].JID != bob {
		t.Fatalf("answer = %+v", ours)
	}
	// A candidate-used naming a cid we never offered is refused.
	bad := Wire{SID: w.SID, CandidateUsed: &CIDRef{CID: "nope"}}
	be, _ := bad.Element()
	if err := h.HandleRemote(context.Background(), jingle.ActionTransportInfo, be); !errors.Is(err, ErrBadTransport) {
		t.Fatalf("unknown cid: %v", err)
	}
}

// TestXEP0260Examples decodes every s5b transport of the XEP's examples.
func TestXEP0260Examples(t *testing.T) {
	src, err := os.ReadFile("../testdata/xep-0260.xml")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?s)<transport xmlns='urn:xmpp:jingle:transports:s5b:1'[^>]*?(?:/>|[^/]>.*?</transport>)`)
	seen := map[string]bool{}
	n := 0
	for _, m := range re.FindAllString(string(src), -1) {
		var e jingle.Element
		if err := xml.Unmarshal([]byte(m), &e); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		w, err := Decode(&e)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		n++
		seen["candidates"] = seen["candidates"] || len(w.Candidates) > 0
		seen["candidate-used"] = seen["candidate-used"] || w.CandidateUsed != nil
		seen["candidate-error"] = seen["candidate-error"] || w.CandidateError != nil
		seen["activated"] = seen["activated"] || w.Activated != nil
		seen["proxy-error"] = seen["proxy-error"] || w.ProxyError != nil
	}
	if n < 5 || len(seen) != 5 {
		t.Fatalf("read %d transports, kinds %v", n, seen)
	}
}

// refusingProxy is a SOCKS5 listener that takes any DST.ADDR, like an
// XEP-0065 proxy before activation; activation is refused by failSender.
func refusingProxy(t *testing.T) StreamHost {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			_, _ = serverHandshake(c, func(string) bool { return true })
		}
	}()
	port, _ := strconv.Atoi(portOf(l.Addr()))
	return StreamHost{JID: "proxy.example", Host: "127.0.0.1", Port: uint16(port)}
}

type failSender struct{}

func (failSender) SendIQ(context.Context, *jingle.IQ) (*jingle.IQ, error) {
	return nil, jingle.ErrServiceUnavailable
}
func (failSender) SendMessage(context.Context, *jingle.Message) error { return nil }

func TestProxyError(t *testing.T) {
	// Only proxy candidates; the activation fails: the owner sends
	// proxy-error and both sides give up (the application falls back).
	p := refusingProxy(t)
	a, b := negotiate(t, New(failSender{}, WithHosts(), WithProxies(p)), New(failSender{}, WithHosts(), WithProxies(p)))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := a.Conn(ctx); !errors.Is(err, ErrFailed) {
		t.Fatalf("initiator: %v", err)
	}
	if _, err := b.Conn(ctx); !errors.Is(err, ErrFailed) {
		t.Fatalf("responder: %v", err)
	}
	sb := b.s.(*pairSession)
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sawProxyError := false
	for _, w := range sb.sent {
		sawProxyError = sawProxyError || w.ProxyError != nil
	}
	if !sawProxyError {
		t.Fatal("the proxy's owner sent no proxy-error")
	}
}
