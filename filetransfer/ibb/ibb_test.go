package ibb

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/jingled/jingled/jingle"
)

// wire delivers IQs to the Transport registered for the "to" JID, through
// a real XML encode/decode, as a server would.
type wire struct {
	mu    sync.Mutex
	peers map[string]*Transport
	// delivered, when set, runs after an IQ was handled and before its
	// result goes back to the sender (what can overtake a result).
	delivered func(iq *jingle.IQ)
}

type endpoint struct {
	w    *wire
	self string
}

func (e *endpoint) SendIQ(ctx context.Context, iq *jingle.IQ) (*jingle.IQ, error) {
	iq.From = e.self
	b, err := xml.Marshal(iq)
	if err != nil {
		return nil, err
	}
	var in jingle.IQ
	if err := xml.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	e.w.mu.Lock()
	t := e.w.peers[iq.To]
	e.w.mu.Unlock()
	if t == nil {
		return nil, jingle.ErrServiceUnavailable
	}
	res := t.HandleIQ(ctx, &in)
	if e.w.delivered != nil {
		e.w.delivered(&in)
	}
	if res.Type == jingle.IQError {
		return res, res.Error
	}
	return res, nil
}

func (e *endpoint) SendMessage(context.Context, *jingle.Message) error { return nil }

type sess struct {
	local, peer string
	init        bool
}

func (s sess) Local() string     { return s.local }
func (s sess) Peer() string      { return s.peer }
func (s sess) IsInitiator() bool { return s.init }
func (s sess) Send(context.Context, *jingle.Jingle) error {
	return nil // IBB sends no transport-info
}

const (
	romeo  = "romeo@montague.lit/orchard"
	juliet = "juliet@capulet.lit/balcony"
)

func setup(t *testing.T, optsA, optsB []Option) (*Transport, *handle, *handle) {
	t.Helper()
	return setupOn(t, &wire{}, optsA, optsB)
}

// setupOn is setup over w.
func setupOn(t *testing.T, w *wire, optsA, optsB []Option) (*Transport, *handle, *handle) {
	t.Helper()
	w.peers = map[string]*Transport{}
	ta := New(&endpoint{w, romeo}, optsA...)
	tb := New(&endpoint{w, juliet}, optsB...)
	w.peers[romeo], w.peers[juliet] = ta, tb
	a, b := ta.newHandle(sess{romeo, juliet, true}), tb.newHandle(sess{juliet, romeo, false})
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
	return tb, a, b
}

func conns(t *testing.T, a, b *handle) (io.ReadWriteCloser, io.ReadWriteCloser) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ca, err := a.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := b.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ca, cb
}

func TestTransferAndBlockSize(t *testing.T) {
	_, a, b := setup(t, []Option{WithBlockSize(4096)}, []Option{WithBlockSize(2048)})
	ca, cb := conns(t, a, b)
	if a.stream.blockSize != 2048 || b.stream.blockSize != 2048 {
		t.Fatalf("block sizes %d/%d, want the responder's smaller 2048", a.stream.blockSize, b.stream.blockSize)
	}
	msg := make([]byte, 100_000)
	_, _ = rand.Read(msg)
	errc := make(chan error, 1)
	go func() {
		_, err := ca.Write(msg)
		if err == nil {
			err = ca.Close()
		}
		errc <- err
	}()
	got, err := io.ReadAll(cb)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("got %d bytes, want %d", len(got), len(msg))
	}
}

func TestSeqWrapAround(t *testing.T) {
	_, a, b := setup(t, []Option{WithBlockSize(16)}, nil)
	ca, cb := conns(t, a, b)
	a.stream.wseq, b.stream.rseq = 65533, 65533
	msg := bytes.Repeat([]byte("0123456789abcdef"), 6) // six blocks: 65533..65535, 0, 1, 2
	errc := make(chan error, 1)
	go func() { _, err := ca.Write(msg); errc <- err }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(cb, got); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) || a.stream.wseq != 3 {
		t.Fatalf("wrap-around broke the stream (wseq %d)", a.stream.wseq)
	}
}

func TestHostileIBB(t *testing.T) {
	tb, a, b := setup(t, nil, nil)
	_, cb := conns(t, a, b)
	ctx := context.Background()
	send := func(from, payload string) *jingle.IQ {
		return tb.HandleIQ(ctx, &jingle.IQ{ID: "x", From: from, To: juliet, Type: jingle.IQSet, Payload: []byte(payload)})
	}
	sid := b.stream.sid
	// A third party cannot write into the stream.
	if r := send("mallory@evil.example/x", "<data xmlns='"+NSIBB+"' sid='"+sid+"' seq='0'>AAAA</data>"); r.Type != jingle.IQError || r.Error.Condition != jingle.CondItemNotFound {
		t.Fatalf("third party: %+v", r)
	}
	// Unknown sid.
	if r := send(romeo, "<data xmlns='"+NSIBB+"' sid='nope' seq='0'>AAAA</data>"); r.Type != jingle.IQError {
		t.Fatalf("unknown sid: %+v", r)
	}
	// Oversized block.
	big := make([]byte, DefaultBlockSize+1)
	bb, _ := xml.Marshal(dataIQ{SID: sid, Seq: 0, Data: b64(big)})
	if r := send(romeo, string(bb)); r.Type != jingle.IQError {
		t.Fatalf("oversized block accepted")
	}
	if _, err := cb.Read(make([]byte, 10)); err == nil {
		t.Fatal("stream still readable after a bad block")
	}
}

// TestDataOvertakesOpenResult: the responder sends data as soon as it
// accepted the initiator's <open/> (a pull's sender does), so the first
// block can reach the initiator before the open's result does; it is
// taken, not refused as "data before open".
func TestDataOvertakesOpenResult(t *testing.T) {
	var dataErr error
	var once sync.Once
	w := &wire{}
	w.delivered = func(iq *jingle.IQ) {
		var o openIQ
		if iq.To != juliet || xml.Unmarshal(iq.Payload, &o) != nil || o.SID == "" {
			return
		}
		once.Do(func() {
			b, _ := xml.Marshal(dataIQ{SID: o.SID, Seq: 0, Data: b64([]byte("first"))})
			w.mu.Lock()
			ta := w.peers[romeo]
			w.mu.Unlock()
			if r := ta.HandleIQ(context.Background(), &jingle.IQ{ID: "d0", From: juliet, To: romeo, Type: jingle.IQSet, Payload: b}); r.Type == jingle.IQError {
				dataErr = r.Error
			}
		})
	}
	_, a, b := setupOn(t, w, nil, nil)
	ca, _ := conns(t, a, b)
	if dataErr != nil {
		t.Fatalf("data ahead of the open's result refused: %v", dataErr)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(ca, got); err != nil || string(got) != "first" {
		t.Fatalf("read %q, %v", got, err)
	}
}

func TestOutOfSequence(t *testing.T) {
	tb, a, b := setup(t, nil, nil)
	_, cb := conns(t, a, b)
	sid := b.stream.sid
	r := tb.HandleIQ(context.Background(), &jingle.IQ{ID: "x", From: romeo, To: juliet, Type: jingle.IQSet,
		Payload: []byte("<data xmlns='" + NSIBB + "' sid='" + sid + "' seq='5'>AAAA</data>")})
	if r.Type != jingle.IQError {
		t.Fatal("out-of-sequence packet acked")
	}
	if _, err := cb.Read(make([]byte, 10)); !errors.Is(err, ErrSequence) {
		t.Fatalf("read after gap: %v", err)
	}
}

func TestXEP0261Example(t *testing.T) {
	var e jingle.Element
	if err := xml.Unmarshal([]byte(`<transport xmlns='urn:xmpp:jingle:transports:ibb:1' block-size='4096' sid='ch3d9s71'/>`), &e); err != nil {
		t.Fatal(err)
	}
	w, err := Decode(&e)
	if err != nil || w.BlockSize != 4096 || w.SID != "ch3d9s71" {
		t.Fatalf("%+v %v", w, err)
	}
	for _, bad := range []string{
		`<transport xmlns='urn:xmpp:jingle:transports:ibb:1' block-size='0' sid='a'/>`,
		`<transport xmlns='urn:xmpp:jingle:transports:ibb:1' block-size='70000' sid='a'/>`,
		`<transport xmlns='urn:xmpp:jingle:transports:ibb:1' block-size='4096'/>`,
	} {
		var e jingle.Element
		_ = xml.Unmarshal([]byte(bad), &e)
		if _, err := Decode(&e); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestXEP0261Examples decodes the XEP's transports: offer and the
// smaller block size of the answer.
func TestXEP0261Examples(t *testing.T) {
	src, err := os.ReadFile("../testdata/xep-0261.xml")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?s)<transport xmlns='urn:xmpp:jingle:transports:ibb:1'[^>]*/>`)
	var sizes []uint16
	for _, m := range re.FindAllString(string(src), -1) {
		var e jingle.Element
		if err := xml.Unmarshal([]byte(m), &e); err != nil {
			t.Fatal(err)
		}
		w, err := Decode(&e)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		sizes = append(sizes, w.BlockSize)
	}
	if len(sizes) < 2 || sizes[0] != 4096 || sizes[1] != 2048 {
		t.Fatalf("block sizes %v", sizes)
	}
}
