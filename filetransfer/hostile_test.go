package filetransfer_test

import (
	"bytes"
	"context"
	"crypto/sha1" //nolint:gosec // StanzaJS's algorithm, reproduced
	"crypto/sha256"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

// rawSender is a hand-driven file sender: it says what the test wants
// (lies included) and writes what the test wants.
type rawSender struct {
	mu     sync.Mutex
	h      jingle.TransportHandle
	accept chan struct{}
	done   chan *jingle.Reason
	offset int64 // <range offset=''/> of the session-accept
	refuse bool  // answer the session-accept with an error
	// hold delays the answer to the session-accept until it closes.
	hold chan struct{}
}

func (r *rawSender) HandleAction(ctx context.Context, _ *jingle.Session, j *jingle.Jingle) error {
	if r.refuse && j.Action == jingle.ActionSessionAccept {
		return jingle.BadRequest("this sender refuses every answer")
	}
	switch j.Action {
	case jingle.ActionSessionAccept, jingle.ActionTransportInfo:
		if c := j.Contents[0]; c.Transport != nil {
			if err := r.h.HandleRemote(ctx, j.Action, *c.Transport); err != nil {
				return jingle.BadRequest(err.Error())
			}
		}
		if j.Action == jingle.ActionSessionAccept {
			if d, err := filetransfer.DecodeDescription(j.Contents[0].Description); err == nil && d.File.Range != nil {
				r.mu.Lock()
				r.offset = d.File.Range.Offset
				r.mu.Unlock()
			}
			close(r.accept)
			if r.hold != nil {
				<-r.hold
			}
		}
	}
	return nil
}

func (r *rawSender) Terminated(_ *jingle.Session, reason *jingle.Reason) {
	// Closing sends an IBB <close/> and waits for its ack: never in the
	// session loop, which the reply may need.
	go func() { _ = r.h.Close() }()
	r.done <- reason
}

type rawOffer struct {
	ns       string // description namespace; "" for file-transfer:5
	file     filetransfer.File
	payload  []byte
	checksum []filetransfer.Hash // sent in session-info after the data
	// hangUp closes the stream after the payload, as a sender whose
	// connection broke.
	hangUp bool
	// datachannel sends over a data channel instead of IBB.
	datachannel bool
	// tail is written after the payload, in a write of its own.
	tail []byte
	// refuseAccept answers the receiver's session-accept with an error.
	refuseAccept bool
	// holdAccept delays the answer to the receiver's session-accept
	// until it closes, while the data is sent.
	holdAccept chan struct{}
}

// sendRaw pushes o from p over IBB (or a data channel) and returns how
// the session ended.
func sendRaw(t *testing.T, p *peer, to string, o rawOffer) *jingle.Reason {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rs := &rawSender{accept: make(chan struct{}), done: make(chan *jingle.Reason, 1), refuse: o.refuseAccept, hold: o.holdAccept}
	var sess *jingle.Session
	var sessMu sync.Mutex
	send := func(ctx context.Context, j *jingle.Jingle) error {
		sessMu.Lock()
		s := sess
		sessMu.Unlock()
		return s.Send(ctx, j)
	}
	var tp jingle.StreamTransport = p.ibb
	if o.datachannel {
		tp = p.dc
	}
	h, err := tp.NewHandle(ctx, jingletest.TransportSession{LocalJID: p.m.Local(), PeerJID: to, Initiator: true, SendFunc: send}, "a-file-offer")
	if err != nil {
		t.Fatal(err)
	}
	rs.h = h
	tel, err := rs.h.Local(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := filetransfer.Description{Namespace: o.ns, File: o.file}
	del, err := d.Element()
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.m.Initiate(ctx, to, "", []jingle.Content{{Creator: jingle.CreatorInitiator, Name: "a-file-offer",
		Senders: jingle.SendersInitiator, Description: &del, Transport: &tel}}, nil, rs)
	if err != nil {
		t.Fatal(err)
	}
	sessMu.Lock()
	sess = s
	sessMu.Unlock()
	select {
	case <-rs.accept:
	case r := <-rs.done:
		return r
	case <-ctx.Done():
		t.Fatal("no session-accept")
	}
	conn, err := rs.h.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	payload := o.payload
	if o.file.Range != nil {
		// A sender that announced <range/> honours the receiver's offset;
		// one that did not (Dino) always sends from byte 0.
		rs.mu.Lock()
		off := rs.offset
		rs.mu.Unlock()
		if off > int64(len(payload)) {
			t.Fatalf("receiver asked for offset %d of %d bytes", off, len(payload))
		}
		payload = payload[off:]
	}
	_, _ = conn.Write(payload) // may fail once the receiver gives up
	if o.tail != nil {
		_, _ = conn.Write(o.tail)
	}
	if o.hangUp {
		_ = conn.Close()
	}
	if o.checksum != nil {
		ck := filetransfer.Checksum{Creator: jingle.CreatorInitiator, Name: "a-file-offer", File: filetransfer.File{Hashes: o.checksum, Size: -1}}
		el, err := ck.Element()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Info(ctx, el); err != nil {
			t.Logf("checksum: %v", err)
		}
	}
	select {
	case r := <-rs.done:
		return r
	case <-ctx.Done():
		t.Fatal("receiver never ended the session")
		return nil
	}
}

func sum256(b []byte) []filetransfer.Hash {
	s := sha256.Sum256(b)
	return []filetransfer.Hash{{Algo: "sha-256", Value: s[:]}}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestHostileOffers(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	sha1sum := sha1.Sum(data) //nolint:gosec // see import
	tests := []struct {
		name     string
		offer    rawOffer
		want     jingle.ReasonCondition
		wantFile string // "" = nothing may be left in the directory
	}{
		{"size lie", rawOffer{file: filetransfer.File{Name: "lie.bin", Size: 5000}, payload: data}, jingle.ReasonMediaError, ""},
		// The extra bytes in a message of their own, after the declared
		// size was read whole: only the tail check sees them, on a stream
		// that stays open.
		{"size lie after the end (datachannel)", rawOffer{file: filetransfer.File{Name: "dclie.bin", Size: int64(len(data)), Hashes: sum256(data)}, payload: data,
			datachannel: true, tail: []byte("more")}, jingle.ReasonMediaError, ""},
		{"wrong hash", rawOffer{file: filetransfer.File{Name: "bad.bin", Size: int64(len(data)), Hashes: sum256([]byte("other"))}, payload: data}, jingle.ReasonMediaError, ""},
		{"wrong checksum later", rawOffer{file: filetransfer.File{Name: "late.bin", Size: int64(len(data)), HashUsed: []string{"sha-1"}}, payload: data,
			checksum: []filetransfer.Hash{{Algo: "sha-1", Value: make([]byte, 20)}}}, jingle.ReasonMediaError, ""},
		{"checksum later (StanzaJS)", rawOffer{file: filetransfer.File{Name: "stanza.bin", Size: int64(len(data)), HashUsed: []string{"sha-1"}}, payload: data,
			checksum: []filetransfer.Hash{{Algo: "sha-1", Value: sha1sum[:]}}}, jingle.ReasonSuccess, "stanza.bin"},
		{"file-transfer:4 offer", rawOffer{ns: filetransfer.NS4, file: filetransfer.File{Name: "v4.bin", Size: int64(len(data)), Hashes: sum256(data)}, payload: data}, jingle.ReasonSuccess, "v4.bin"},
		{"no hash (Dino)", rawOffer{file: filetransfer.File{Name: "dino.bin", Size: int64(len(data))}, payload: data}, jingle.ReasonSuccess, "dino.bin"},
		{"traversal", rawOffer{file: filetransfer.File{Name: "../../etc/passwd", Size: int64(len(data)), Hashes: sum256(data)}, payload: data}, jingle.ReasonSuccess, "passwd"},
		{"separator", rawOffer{file: filetransfer.File{Name: "a/b", Size: int64(len(data)), Hashes: sum256(data)}, payload: data}, jingle.ReasonSuccess, "b"},
		{"device name", rawOffer{file: filetransfer.File{Name: "CON", Size: int64(len(data)), Hashes: sum256(data)}, payload: data}, jingle.ReasonSuccess, "_CON"},
		{"control chars (XML carries tab and newline only)", rawOffer{file: filetransfer.File{Name: "x\ty\nz.txt", Size: int64(len(data)), Hashes: sum256(data)}, payload: data}, jingle.ReasonSuccess, "xyz.txt"},
		{"300-byte name", rawOffer{file: filetransfer.File{Name: strings.Repeat("n", 296) + ".txt", Size: int64(len(data)), Hashes: sum256(data)}, payload: data},
			jingle.ReasonSuccess, strings.Repeat("n", filetransfer.MaxNameBytes-4) + ".txt"},
	}
	r := newRouter(t)
	a := newPeer(t, r, alice, peerOpts{})
	b := newPeer(t, r, bob, peerOpts{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason := sendRaw(t, a, bob, tt.offer)
			if reason == nil || reason.Condition != tt.want {
				t.Fatalf("session ended with %v, want %s", reason, tt.want)
			}
			res := waitResult(t, b)
			files := listDir(t, b.dir)
			if tt.wantFile == "" {
				if res.Err == nil || len(files) != 0 {
					t.Fatalf("rejected transfer left %v (err %v)", files, res.Err)
				}
				t.Logf("refused: %v", res.Err)
				return
			}
			if res.Err != nil || filepath.Base(res.Path) != tt.wantFile || filepath.Dir(res.Path) != b.dir {
				t.Fatalf("stored as %q (err %v), want %q in %s", res.Path, res.Err, tt.wantFile, b.dir)
			}
			got, _ := os.ReadFile(res.Path)
			if !bytes.Equal(got, data) {
				t.Fatal("content differs")
			}
			_ = os.Remove(res.Path)
		})
	}
	if _, err := os.Stat(filepath.Join(b.dir, "..", "..", "etc", "passwd")); err == nil {
		t.Fatal("traversal escaped")
	}

}

// TestAcceptRefused: the receiver reads while its session-accept is
// unanswered (a busy sender acks it late, see receive); a sender that
// answers it with an error ends the transfer, and the receiver's result
// says so, not that its stream broke.
func TestAcceptRefused(t *testing.T) {
	r := newRouter(t)
	a := newPeer(t, r, alice, peerOpts{})
	b := newPeer(t, r, bob, peerOpts{})
	data := []byte("never sent")
	for _, dc := range []bool{false, true} {
		reason := sendRaw(t, a, bob, rawOffer{file: filetransfer.File{Name: "refused.bin", Size: int64(len(data)), Hashes: sum256(data)},
			payload: data, datachannel: dc, refuseAccept: true})
		if reason == nil || reason.Condition == jingle.ReasonSuccess {
			t.Fatalf("datachannel %v: session ended with %v, want a failure", dc, reason)
		}
		res := waitResult(t, b)
		if res.Err == nil || !strings.Contains(res.Err.Error(), "session-accept") || !strings.Contains(res.Err.Error(), "refuses every answer") {
			t.Fatalf("datachannel %v: receiver's result %v, want the refused session-accept", dc, res.Err)
		}
		if files := listDir(t, b.dir); len(files) != 0 {
			t.Fatalf("datachannel %v: a refused transfer left %v", dc, files)
		}
	}
}

// TestReadBeforeAcceptAck: the receiver reads the data while the
// sender has not yet answered its session-accept, as StanzaJS on
// libwebrtc does when it is busy sending: the whole file arrives,
// checked and stored, before the answer is let go. A receiver that
// waited for the answer first would never finish here (it once let a
// libwebrtc sender fill its SCTP window, and that sender never resumed).
func TestReadBeforeAcceptAck(t *testing.T) {
	r := newRouter(t)
	a := newPeer(t, r, alice, peerOpts{})
	b := newPeer(t, r, bob, peerOpts{})
	data := bytes.Repeat([]byte("early reader "), 20000)
	// Over a data channel only: an IBB sender here needs its session's
	// loop, which the held answer blocks, to move its data.
	hold := make(chan struct{})
	ended := make(chan *jingle.Reason, 1)
	go func() {
		ended <- sendRaw(t, a, bob, rawOffer{file: filetransfer.File{Name: "early.bin", Size: int64(len(data)), Hashes: sum256(data)},
			payload: data, datachannel: true, holdAccept: hold})
	}()
	res := waitResult(t, b) // the answer is still held
	close(hold)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got, _ := os.ReadFile(res.Path); !bytes.Equal(got, data) {
		t.Fatal("stored file differs")
	}
	_ = os.Remove(res.Path)
	if reason := <-ended; reason == nil || reason.Condition != jingle.ReasonSuccess {
		t.Fatalf("session ended with %v", reason)
	}
}

// TestTransportReplaceUnknown: a transport-replace to a transport we do
// not have is answered, from the session loop, with transport-reject, and
// the session goes on.
func TestTransportReplaceUnknown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := newRouter(t)
	a := newPeer(t, r, alice, peerOpts{})
	newPeer(t, r, bob, peerOpts{})
	const name = "a-file-offer"
	hd, err := a.ibb.NewHandle(ctx, jingletest.TransportSession{LocalJID: a.m.Local(), PeerJID: bob, Initiator: true}, name)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hd.Close() }()
	tel, err := hd.Local(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := filetransfer.Description{File: filetransfer.File{Name: "f.bin", Size: 10}}
	del, err := d.Element()
	if err != nil {
		t.Fatal(err)
	}
	h := jingletest.NewHandler()
	s, err := a.m.Initiate(ctx, bob, "", []jingle.Content{{Creator: jingle.CreatorInitiator, Name: name,
		Senders: jingle.SendersInitiator, Description: &del, Transport: &tel}}, nil, h)
	if err != nil {
		t.Fatal(err)
	}
	next := func() jingle.Action {
		t.Helper()
		select {
		case a := <-h.Seen():
			return a
		case <-ctx.Done():
			t.Fatal("no action from the receiver")
			return ""
		}
	}
	if a := next(); a != jingle.ActionSessionAccept {
		t.Fatalf("saw %s, want session-accept", a)
	}
	unknown := jingle.Element{XMLName: xml.Name{Space: "urn:example:no-such-transport", Local: "transport"}}
	replace := &jingle.Jingle{Action: jingle.ActionTransportReplace, Contents: []jingle.Content{{Creator: jingle.CreatorInitiator, Name: name, Transport: &unknown}}}
	if err := s.Send(ctx, replace); err != nil {
		t.Fatalf("transport-replace: %v", err)
	}
	if a := next(); a != jingle.ActionTransportReject {
		t.Fatalf("saw %s, want transport-reject", a)
	}
	if st := s.State(); st != jingle.StateActive {
		t.Fatalf("session %v after the reject", st)
	}
	if err := s.Terminate(ctx, nil); err != nil {
		t.Fatal(err)
	}
}
