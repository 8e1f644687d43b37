package ibb

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jingled/jingled/jingle"
)

// maxBuffered bounds the received bytes waiting for Read. An honest
// sender has one block in flight, so the buffer only fills when the
// reader falls behind (or a peer ignores acks).
const maxBuffered = 1 << 20

// roomWait bounds how long HandleIQ waits for the reader to make room in
// a full buffer. HandleIQ runs on the connection's one dispatch goroutine,
// behind which every other IQ and message of the account waits (disco,
// pings, other sessions' Jingle actions), so a stalled reader must not
// hold it: past roomWait the packet is refused with a resource-constraint
// error of type 'wait', which XEP-0047 §2.2 tells the sender to answer by
// suspending the stream and retrying later.
const roomWait = 50 * time.Millisecond

// Retrying a block the receiver refused with an error of type 'wait':
// backoff from retryMin doubling to retryMax, giving up when the receiver
// has taken nothing for iqTimeout.
const (
	retryMin = 20 * time.Millisecond
	retryMax = time.Second
)

// iqTimeout bounds the wait for one IBB ack.
const iqTimeout = 30 * time.Second

// Stream is an established in-band bytestream, usable like a net.Conn
// for reading, writing and closing.
type Stream struct {
	t          *Transport
	local      string
	peer       string
	sid        string
	blockSize  int
	opened     chan struct{}
	openOnce   sync.Once
	opening    atomic.Bool // our <open/> was sent, its result may be on its way
	ctx        context.Context
	cancel     context.CancelFunc
	closeOnce  sync.Once
	notifyRead chan struct{}
	notifyRoom chan struct{}

	wmu  sync.Mutex // serializes writers: seq order is the wire order
	wseq uint16

	mu      sync.Mutex
	buf     []byte
	rseq    uint16
	eof     bool
	err     error
	closing bool
}

func newStream(t *Transport, local, peer, sid string, blockSize int) *Stream {
	ctx, cancel := context.WithCancel(context.Background())
	return &Stream{t: t, local: local, peer: peer, sid: sid, blockSize: blockSize, opened: make(chan struct{}),
		ctx: ctx, cancel: cancel, notifyRead: make(chan struct{}, 1), notifyRoom: make(chan struct{}, 1)}
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (s *Stream) iq(payload []byte) *jingle.IQ {
	return &jingle.IQ{ID: "ibb-" + randomID(), From: s.local, To: s.peer, Type: jingle.IQSet, Payload: payload}
}

// open sends XEP-0047's <open/> with the negotiated values.
func (s *Stream) open(ctx context.Context) error {
	b, err := xml.Marshal(openIQ{BlockSize: uint16(s.blockSize), SID: s.sid, Stanza: "iq"})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, iqTimeout)
	defer cancel()
	s.opening.Store(true)
	res, err := s.t.out.SendIQ(ctx, s.iq(b))
	if err == nil && res != nil && res.Type == jingle.IQError && res.Error != nil {
		err = res.Error
	}
	if err != nil {
		return fmt.Errorf("ibb: open %s: %w", s.sid, err)
	}
	s.openOnce.Do(func() { close(s.opened) })
	return nil
}

func (s *Stream) remoteOpen(blockSize uint16, stanza string) error {
	if stanza != "" && stanza != "iq" {
		return &jingle.Error{Type: jingle.ErrorTypeCancel, Condition: jingle.CondFeatureNotImplemented, Text: "ibb: only iq stanzas"}
	}
	if int(blockSize) > s.blockSize || blockSize == 0 {
		// XEP-0047 §2.1: a block size above what was negotiated.
		return &jingle.Error{Type: jingle.ErrorTypeModify, Condition: jingle.CondResourceConstraint, Text: "ibb: block-size above the negotiated one"}
	}
	s.openOnce.Do(func() { close(s.opened) })
	return nil
}

func (s *Stream) remoteData(ctx context.Context, seq uint16, b64 string) error {
	select {
	case <-s.opened:
	default:
		if !s.opening.Load() {
			return &jingle.Error{Type: jingle.ErrorTypeCancel, Condition: jingle.CondUnexpectedRequest, Text: "ibb: data before open"}
		}
		// Our <open/> is in flight and the peer sends data only once it
		// accepted it: its first block overtook the open's result (a
		// pull's responder writes at once). Waiting here for the result
		// would hold the connection's one dispatch goroutine, which
		// delivers it.
		s.openOnce.Do(func() { close(s.opened) })
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(data) > s.blockSize {
		s.fail(fmt.Errorf("ibb: bad data packet %d", seq))
		return jingle.BadRequest("ibb: bad data packet")
	}
	var full <-chan time.Time
	s.mu.Lock()
	for {
		if s.eof || s.err != nil {
			s.mu.Unlock()
			return &jingle.Error{Type: jingle.ErrorTypeCancel, Condition: jingle.CondItemNotFound, Text: "ibb: stream closed"}
		}
		if seq != s.rseq {
			// XEP-0047 §2.2: a missing or repeated packet breaks the
			// stream; the receiver closes it.
			s.err = fmt.Errorf("%w: got %d, expected %d", ErrSequence, seq, s.rseq)
			s.mu.Unlock()
			notify(s.notifyRead)
			return &jingle.Error{Type: jingle.ErrorTypeCancel, Condition: jingle.CondUnexpectedRequest, Text: "ibb: out of sequence"}
		}
		if len(s.buf) < maxBuffered {
			break
		}
		s.mu.Unlock()
		if full == nil {
			t := time.NewTimer(roomWait)
			defer t.Stop()
			full = t.C
		}
		select {
		case <-s.notifyRoom:
		case <-full:
			// Not taken: the sender retries the same seq later.
			return &jingle.Error{Type: jingle.ErrorTypeWait, Condition: jingle.CondResourceConstraint, Text: "ibb: reader behind, retry later"}
		case <-ctx.Done():
			return &jingle.Error{Type: jingle.ErrorTypeWait, Condition: jingle.CondResourceConstraint}
		case <-s.ctx.Done():
			return &jingle.Error{Type: jingle.ErrorTypeCancel, Condition: jingle.CondItemNotFound, Text: "ibb: stream closed"}
		}
		s.mu.Lock()
	}
	s.buf = append(s.buf, data...)
	s.rseq++ // wraps from 65535 to 0 (XEP-0047 §2.2)
	s.mu.Unlock()
	notify(s.notifyRead)
	return nil
}

func (s *Stream) remoteClose() {
	s.mu.Lock()
	s.eof = true
	s.mu.Unlock()
	notify(s.notifyRead)
}

func (s *Stream) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	notify(s.notifyRead)
}

// Read implements io.Reader; it returns io.EOF after the peer's <close/>.
func (s *Stream) Read(p []byte) (int, error) {
	s.mu.Lock()
	for len(s.buf) == 0 {
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return 0, err
		}
		if s.eof {
			s.mu.Unlock()
			return 0, io.EOF
		}
		if s.closing {
			s.mu.Unlock()
			return 0, ErrClosed
		}
		s.mu.Unlock()
		select {
		case <-s.notifyRead:
		case <-s.ctx.Done():
		}
		s.mu.Lock()
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	if len(s.buf) == 0 {
		s.buf = nil
	}
	s.mu.Unlock()
	notify(s.notifyRoom)
	return n, nil
}

// Write implements io.Writer: one data IQ per block, each acked before
// the next (XEP-0047 §2.2).
func (s *Stream) Write(p []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	prefix := "<data xmlns='" + NSIBB + "' sid='" + escape(s.sid) + "' seq='"
	written := 0
	for len(p) > 0 {
		n := min(len(p), s.blockSize)
		enc := base64.StdEncoding
		payload := make([]byte, 0, len(prefix)+8+enc.EncodedLen(n)+8)
		payload = append(payload, prefix...)
		payload = strconv.AppendUint(payload, uint64(s.wseq), 10)
		payload = append(payload, "'>"...)
		payload = enc.AppendEncode(payload, p[:n])
		payload = append(payload, "</data>"...)
		if err := s.sendBlock(payload); err != nil {
			return written, err
		}
		s.wseq++
		written += n
		p = p[n:]
	}
	return written, nil
}

// sendBlock sends one data IQ and waits for its ack. A refusal of type
// 'wait' (the receiver's buffer is full, or a server reports a
// temporary delivery failure) is retried with backoff, XEP-0047 §2.2,
// until the receiver has taken nothing for iqTimeout.
func (s *Stream) sendBlock(payload []byte) error {
	backoff := retryMin
	stalled := time.Now()
	for {
		ctx, cancel := context.WithTimeout(s.ctx, iqTimeout)
		res, err := s.t.out.SendIQ(ctx, s.iq(payload))
		cancel()
		if err == nil && res != nil && res.Type == jingle.IQError && res.Error != nil {
			err = res.Error
		}
		if err == nil {
			return nil
		}
		var je *jingle.Error
		if !errors.As(err, &je) || je.Type != jingle.ErrorTypeWait || time.Since(stalled) > iqTimeout {
			return fmt.Errorf("ibb: data %d: %w", s.wseq, err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return fmt.Errorf("ibb: data %d: %w", s.wseq, ErrClosed)
		}
		backoff = min(2*backoff, retryMax)
	}
}

// Close sends <close/> (unless the peer closed first) and forgets the
// stream. Reads pending in other goroutines return ErrClosed.
func (s *Stream) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		remoteClosed := s.eof
		s.mu.Unlock()
		select {
		case <-s.opened:
			if !remoteClosed {
				b, _ := xml.Marshal(closeIQ{SID: s.sid})
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err = s.t.out.SendIQ(ctx, s.iq(b))
				cancel()
			}
		default:
		}
		s.cancel()
		s.t.unregister(s)
	})
	if err != nil {
		return fmt.Errorf("ibb: close %s: %w", s.sid, err)
	}
	return nil
}

func escape(s string) string {
	var b xmlBuf
	_ = xml.EscapeText(&b, []byte(s))
	return string(b)
}

type xmlBuf []byte

func (w *xmlBuf) Write(p []byte) (int, error) { *w = append(*w, p...); return len(p), nil }

// CloseWrite ends the stream after the last block; an IBB <close/> ends
// both directions (XEP-0047 §2.3), so it is Close.
func (s *Stream) CloseWrite() error { return s.Close() }
