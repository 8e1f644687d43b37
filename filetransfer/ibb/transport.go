package ibb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/jingled/jingled/jingle"
)

// DefaultPriority makes IBB the last resort.
const DefaultPriority = 10

// Transport is the XEP-0261 transport; one value serves every session and
// receives every IBB IQ through HandleIQ.
type Transport struct {
	out       jingle.Sender
	blockSize uint16
	log       *slog.Logger

	mu      sync.Mutex
	streams map[streamKey]*Stream
}

type streamKey struct{ peer, sid string }

// Option configures a Transport.
type Option func(*Transport)

// WithBlockSize sets the block size we offer and the largest we accept
// (DefaultBlockSize; at most MaxBlockSize).
func WithBlockSize(n uint16) Option {
	return func(t *Transport) {
		if n > 0 {
			t.blockSize = n
		}
	}
}

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option {
	return func(t *Transport) {
		if l != nil {
			t.log = l
		}
	}
}

// New returns the transport; out sends the IBB IQs.
func New(out jingle.Sender, opts ...Option) *Transport {
	t := &Transport{out: out, blockSize: DefaultBlockSize,
		log: slog.New(slog.DiscardHandler), streams: map[streamKey]*Stream{}}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Namespace implements jingle.Transport.
func (t *Transport) Namespace() string { return NS }

// Features implements jingle.Transport: XEP-0261 and XEP-0047.
func (t *Transport) Features() []string { return []string{NS, NSIBB} }

// Kind implements jingle.Transport.
func (t *Transport) Kind() jingle.TransportKind { return jingle.Stream }

// Priority implements jingle.Transport.
func (t *Transport) Priority() int { return DefaultPriority }

// Payloads are the (namespace, local name) pairs to register HandleIQ for.
func (t *Transport) Payloads() [][2]string {
	return [][2]string{{NSIBB, "open"}, {NSIBB, "data"}, {NSIBB, "close"}}
}

// NewHandle implements jingle.StreamTransport. This transport sends no
// transport-info, so it never calls s.Send.
func (t *Transport) NewHandle(_ context.Context, s jingle.TransportSession, _ string) (jingle.TransportHandle, error) {
	return t.newHandle(s), nil
}

func (t *Transport) newHandle(s jingle.TransportSession) *handle {
	return &handle{t: t, s: s, ready: make(chan struct{})}
}

func (t *Transport) register(st *Stream) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := streamKey{st.peer, st.sid}
	if _, dup := t.streams[k]; dup {
		return fmt.Errorf("ibb: stream %s with %s already exists", st.sid, st.peer)
	}
	t.streams[k] = st
	return nil
}

func (t *Transport) unregister(st *Stream) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := streamKey{st.peer, st.sid}
	if t.streams[k] == st {
		delete(t.streams, k)
	}
}

func (t *Transport) lookup(peer, sid string) *Stream {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.streams[streamKey{peer, sid}]
}

// HandleIQ serves XEP-0047 open, data and close IQs. A stream that was
// not negotiated through Jingle (unknown peer+sid) gets item-not-found,
// so a third party cannot inject data into a transfer.
func (t *Transport) HandleIQ(ctx context.Context, iq *jingle.IQ) *jingle.IQ {
	if iq.Type != jingle.IQSet {
		return iq.ErrorReply(jingle.BadRequest("ibb: expected an IQ set"))
	}
	var head struct {
		XMLName xml.Name
		SID     string `xml:"sid,attr"`
	}
	if err := xml.Unmarshal(iq.Payload, &head); err != nil || head.XMLName.Space != NSIBB {
		return iq.ErrorReply(jingle.BadRequest("ibb: malformed payload"))
	}
	st := t.lookup(iq.From, head.SID)
	if st == nil {
		return iq.ErrorReply(&jingle.Error{Type: jingle.ErrorTypeCancel, Condition: jingle.CondItemNotFound, Text: "ibb: no such stream"})
	}
	switch head.XMLName.Local {
	case "open":
		var o struct {
			BlockSize uint16 `xml:"block-size,attr"`
			Stanza    string `xml:"stanza,attr"`
		}
		if err := xml.Unmarshal(iq.Payload, &o); err != nil {
			return iq.ErrorReply(jingle.BadRequest("ibb: malformed open"))
		}
		if err := st.remoteOpen(o.BlockSize, o.Stanza); err != nil {
			return iq.ErrorReply(err)
		}
	case "data":
		var d dataIQ
		if err := xml.Unmarshal(iq.Payload, &d); err != nil {
			return iq.ErrorReply(jingle.BadRequest("ibb: malformed data"))
		}
		if err := st.remoteData(ctx, d.Seq, d.Data); err != nil {
			return iq.ErrorReply(err)
		}
	case "close":
		st.remoteClose()
	default:
		return iq.ErrorReply(&jingle.Error{Type: jingle.ErrorTypeCancel, Condition: jingle.CondFeatureNotImplemented})
	}
	return iq.Result()
}

// handle is one content's IBB negotiation (XEP-0261 §2).
type handle struct {
	t *Transport
	s jingle.TransportSession

	mu        sync.Mutex
	sid       string
	blockSize uint16
	localDone bool
	remote    bool
	stream    *Stream
	ready     chan struct{}
	err       error
	closed    bool
	wg        sync.WaitGroup
	cancel    context.CancelFunc
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Local implements jingle.TransportHandle. A responder answers with the
// smaller of the offered block size and ours.
func (h *handle) Local(context.Context) (jingle.Element, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sid == "" {
		h.sid = randomID()
	}
	if h.blockSize == 0 || h.blockSize > h.t.blockSize {
		h.blockSize = h.t.blockSize
	}
	h.localDone = true
	if err := h.maybeStreamLocked(); err != nil {
		return jingle.Element{}, err
	}
	return (&Wire{BlockSize: h.blockSize, SID: h.sid}).Element()
}

// HandleRemote implements jingle.TransportHandle.
func (h *handle) HandleRemote(_ context.Context, a jingle.Action, e jingle.Element) error {
	w, err := Decode(&e)
	if err != nil {
		return err
	}
	if w.Stanza != "" && w.Stanza != "iq" {
		return ErrStanzaMode
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.remote {
		return nil // transport-info carries nothing for IBB
	}
	if h.sid == "" {
		h.sid = w.SID
	} else if w.SID != h.sid {
		return fmt.Errorf("%w: sid %q, expected %q", ErrBadTransport, w.SID, h.sid)
	}
	if h.blockSize == 0 || w.BlockSize < h.blockSize {
		h.blockSize = w.BlockSize
	}
	h.remote = true
	return h.maybeStreamLocked()
}

// maybeStreamLocked creates the stream once both transports are known.
// The session initiator then sends <open/> (XEP-0261 §2); the responder
// waits for it.
func (h *handle) maybeStreamLocked() error {
	if !h.localDone || !h.remote || h.stream != nil || h.closed {
		return nil
	}
	st := newStream(h.t, h.s.Local(), h.s.Peer(), h.sid, int(h.blockSize))
	if err := h.t.register(st); err != nil {
		return err
	}
	h.stream = st
	if !h.s.IsInitiator() {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			select {
			case <-st.opened:
			case <-st.ctx.Done():
			}
			h.finish(nil)
		}()
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.finish(st.open(ctx))
	}()
	return nil
}

func (h *handle) finish(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.ready:
		return
	default:
	}
	if err == nil && h.stream != nil {
		select {
		case <-h.stream.ctx.Done():
			err = ErrClosed
		default:
		}
	}
	h.err = err
	close(h.ready)
}

// Conn implements jingle.TransportHandle.
func (h *handle) Conn(ctx context.Context) (io.ReadWriteCloser, error) {
	select {
	case <-h.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return nil, h.err
	}
	return h.stream, nil
}

// Close implements jingle.TransportHandle; it closes the stream.
func (h *handle) Close() error {
	h.mu.Lock()
	h.closed = true
	st := h.stream
	cancel := h.cancel
	h.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	var err error
	if st != nil {
		err = st.Close()
	}
	h.wg.Wait()
	h.finish(ErrClosed)
	return err
}
