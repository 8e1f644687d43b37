package filetransfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
)

// Result describes a finished transfer, for the CLI's final line.
type Result struct {
	SID  string
	Peer string
	// Sent is true when we were the file sender.
	Sent bool
	// Name is the file's name as offered; Path where we wrote it
	// (receiver only).
	Name string
	Path string
	// Size is the whole file; Offset where this transfer started (resume)
	// and Transferred the bytes that crossed the wire.
	Size        int64
	Offset      int64
	Transferred int64
	// Hash is the verified (receiver) or offered (sender) digest.
	Hash Hash
	// Transport is the namespace that carried the data; Tried lists the
	// ones that failed before it (transport-replace fallback).
	Transport string
	Tried     []string
	// Pair is the ICE candidate pair of a datachannel transfer (direct or
	// through the relay); zero for SOCKS5 and IBB.
	Pair    ice.Pair
	Started time.Time
	Ended   time.Time
	// Reason is how the session ended.
	Reason *jingle.Reason
	// Err is nil on success.
	Err error
}

// attempt is one transport tried for the content.
type attempt struct {
	ns string
	t  jingle.StreamTransport
	h  jingle.TransportHandle
	// sent is closed once the action carrying our transport element
	// (session-initiate, session-accept, transport-replace or
	// transport-accept) has been acknowledged: the transport's own
	// transport-info must not overtake it.
	sent     chan struct{}
	sentOnce sync.Once
}

func (at *attempt) markSent() { at.sentOnce.Do(func() { close(at.sent) }) }

// transfer is one file-transfer session; it is the jingle.SessionHandler.
type transfer struct {
	app       *App
	local     string
	peer      string
	initiator bool
	sending   bool
	content   string
	creator   jingle.Creator
	log       *slog.Logger
	ctx       context.Context
	cancel    context.CancelFunc

	sOnce  sync.Once
	s      *jingle.Session
	sReady chan struct{}

	// Immutable once the data phase starts.
	desc            *Description
	remoteTransport jingle.Element
	src             io.ReadSeeker
	digest          *digest // the sender's, until the offer carries it
	sk              *sink
	progress        func(done, total int64)

	mu          sync.Mutex
	cur         *attempt
	curChanged  chan struct{}
	handles     []jingle.TransportHandle
	early       []jingle.Element // transport-info before our handle exists
	plan        []choice
	tried       []string
	accepted    chan struct{} // session-accept, or transport-accept of cur
	rejected    chan struct{} // transport-reject of cur
	acceptDesc  *Description
	checksum    []Hash
	checksumCh  chan struct{}
	receivedCh  chan struct{}
	pair        ice.Pair // of the connected datachannel, under mu
	done        chan struct{}
	reason      *jingle.Reason
	superseded  bool  // a new offer of the same file ended this receive
	acceptErr   error // our session-accept, refused (accept without wait)
	result      Result
	resultReady chan struct{}
}

func (a *App) newTransfer(local, peer string, initiator, sending bool, content string, creator jingle.Creator) *transfer {
	ctx, cancel := context.WithCancel(a.ctx)
	return &transfer{
		app: a, local: local, peer: peer, initiator: initiator, sending: sending, content: content, creator: creator,
		log: a.log.With("peer", peer, "content", content), ctx: ctx, cancel: cancel,
		sReady: make(chan struct{}), curChanged: make(chan struct{}), accepted: make(chan struct{}),
		rejected: make(chan struct{}), checksumCh: make(chan struct{}), receivedCh: make(chan struct{}),
		done: make(chan struct{}), resultReady: make(chan struct{}),
	}
}

func (tr *transfer) setSession(s *jingle.Session) {
	tr.sOnce.Do(func() {
		tr.s = s
		tr.log = tr.log.With("sid", s.SID())
		close(tr.sReady)
	})
}

// send is the transports' way to the session, usable before it exists.
func (tr *transfer) send(ctx context.Context, j *jingle.Jingle) error {
	select {
	case <-tr.sReady:
	case <-ctx.Done():
		return ctx.Err()
	case <-tr.ctx.Done():
		return jingle.ErrSessionEnded
	}
	return tr.s.Send(ctx, j)
}

func (tr *transfer) session() *jingle.Session {
	select {
	case <-tr.sReady:
		return tr.s
	default:
		return nil
	}
}

// newAttempt creates and records a handle for c. Once the session has
// ended (Terminated has closed the handles it knew) a new handle is closed
// at once: a transport-replace being answered, or a replacement being
// built, when the session ends would otherwise leave its listener,
// stream or PeerConnection open for good. Never called in the session
// loop, so the Close may block.
func (tr *transfer) newAttempt(c choice) (*attempt, error) {
	at := &attempt{ns: c.ns, t: c.t, sent: make(chan struct{})}
	h, err := c.t.NewHandle(tr.ctx, attemptSession{tr, at}, tr.content)
	if err != nil {
		return nil, fmt.Errorf("filetransfer: %s: %w", c.ns, err)
	}
	at.h = h
	tr.mu.Lock()
	select {
	case <-tr.done:
		tr.mu.Unlock()
		_ = at.h.Close()
		return nil, fmt.Errorf("filetransfer: %s: %w", c.ns, jingle.ErrSessionEnded)
	default:
	}
	tr.handles = append(tr.handles, at.h)
	tr.mu.Unlock()
	return at, nil
}

// attemptSession is the session as an attempt's transport handle sees it
// (jingle.TransportSession). An initiator builds its first handle before
// the session exists, so Send waits until the session runs and the
// action carrying this attempt's transport element has been
// acknowledged: the transport's own transport-info must not overtake it.
type attemptSession struct {
	tr *transfer
	at *attempt
}

func (a attemptSession) Local() string     { return a.tr.local }
func (a attemptSession) Peer() string      { return a.tr.peer }
func (a attemptSession) IsInitiator() bool { return a.tr.initiator }

func (a attemptSession) Send(ctx context.Context, j *jingle.Jingle) error {
	select {
	case <-a.at.sent:
	case <-ctx.Done():
		return ctx.Err()
	case <-a.tr.ctx.Done():
		return jingle.ErrSessionEnded
	}
	return a.tr.send(ctx, j)
}

// setCur makes at the current transport and wakes waiters.
func (tr *transfer) setCur(at *attempt) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.cur != nil && tr.cur.h != nil && tr.cur != at {
		tr.tried = append(tr.tried, tr.cur.ns)
	}
	tr.cur = at
	close(tr.curChanged)
	tr.curChanged = make(chan struct{})
	tr.accepted = make(chan struct{})
	tr.rejected = make(chan struct{})
}

func (tr *transfer) current() (*attempt, chan struct{}) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.cur, tr.curChanged
}

// HandleAction implements jingle.SessionHandler (in the session loop).
func (tr *transfer) HandleAction(ctx context.Context, s *jingle.Session, j *jingle.Jingle) error {
	tr.setSession(s)
	switch j.Action {
	case jingle.ActionSessionAccept, jingle.ActionTransportAccept:
		c := j.Content(tr.content)
		if c == nil {
			return jingle.BadRequest("no content " + tr.content)
		}
		tr.mu.Lock()
		cur, accepted := tr.cur, tr.accepted
		if j.Action == jingle.ActionSessionAccept && c.Description != nil {
			if d, err := DecodeDescription(c.Description); err == nil {
				tr.acceptDesc = d
			}
		}
		tr.mu.Unlock()
		if c.Transport != nil && cur != nil && cur.h != nil {
			if c.TransportNS() != cur.ns {
				return jingle.BadRequest("transport namespace changed in " + string(j.Action))
			}
			if err := cur.h.HandleRemote(ctx, j.Action, *c.Transport); err != nil {
				tr.log.Debug("filetransfer: peer transport refused", "err", err)
				return jingle.BadRequest(err.Error())
			}
		}
		closeOnce(accepted)
	case jingle.ActionTransportInfo:
		c := j.Content(tr.content)
		cur, _ := tr.current()
		if c == nil || c.Transport == nil || cur == nil || c.TransportNS() != cur.ns {
			return nil // for a transport we replaced: stale, harmless
		}
		if cur.h == nil {
			// Candidates trickled before we accepted (StanzaJS does):
			// kept for the handle accept creates.
			tr.mu.Lock()
			if len(tr.early) < 256 {
				tr.early = append(tr.early, *c.Transport)
			}
			tr.mu.Unlock()
			return nil
		}
		if err := cur.h.HandleRemote(ctx, j.Action, *c.Transport); err != nil {
			return jingle.BadRequest(err.Error())
		}
	case jingle.ActionTransportReplace:
		return tr.onReplace(s, j)
	case jingle.ActionTransportReject:
		tr.mu.Lock()
		closeOnce(tr.rejected)
		tr.mu.Unlock()
	case jingle.ActionSessionInfo:
		return tr.onInfo(j)
	}
	return nil
}

// onReplace answers the initiator's transport-replace (XEP-0260 §2.6,
// XEP-0166 §7.2.15): transport-accept if we have the transport, else
// transport-reject. The answer needs our transport element, which may
// take gathering time, so it is built off the loop.
func (tr *transfer) onReplace(s *jingle.Session, j *jingle.Jingle) error {
	c := j.Content(tr.content)
	if c == nil || c.Transport == nil {
		return jingle.BadRequest("transport-replace without our content")
	}
	t := transport(s.Manager(), c.TransportNS())
	if t == nil || tr.initiator {
		rej := jingle.Content{Creator: c.Creator, Name: c.Name, Transport: c.Transport}
		// In the session loop: queue the answer, its ack is not awaited.
		_, err := s.Queue(&jingle.Jingle{Action: jingle.ActionTransportReject, Contents: []jingle.Content{rej}})
		return err
	}
	el := *c.Transport
	creator := c.Creator
	tr.app.goOwned(func() {
		at, err := tr.newAttempt(choice{t, c.TransportNS()})
		if err != nil {
			return // the session ended meanwhile
		}
		if err := at.h.HandleRemote(tr.ctx, jingle.ActionTransportReplace, el); err != nil {
			tr.fail(fmt.Errorf("filetransfer: replacement transport: %w", err))
			return
		}
		local, err := at.h.Local(tr.ctx)
		if err != nil {
			tr.fail(fmt.Errorf("filetransfer: replacement transport: %w", err))
			return
		}
		tr.setCur(at)
		acc := jingle.Content{Creator: creator, Name: tr.content, Transport: &local}
		err = s.Send(tr.ctx, &jingle.Jingle{Action: jingle.ActionTransportAccept, Contents: []jingle.Content{acc}})
		at.markSent()
		if err != nil {
			tr.fail(fmt.Errorf("filetransfer: transport-accept: %w", err))
		}
	})
	return nil
}

// onInfo reads XEP-0234 session-info payloads: checksum and received.
func (tr *transfer) onInfo(j *jingle.Jingle) error {
	for i := range j.Payloads {
		p := &j.Payloads[i]
		if !knownNS(p.XMLName.Space) {
			return jingle.ErrUnsupportedInfo
		}
		switch p.XMLName.Local {
		case "checksum":
			c, err := DecodeChecksum(p)
			if err != nil {
				return jingle.BadRequest(err.Error())
			}
			hs := c.File.Hashes
			if len(hs) == 0 && c.File.Range != nil {
				hs = c.File.Range.Hashes
			}
			tr.mu.Lock()
			tr.checksum = append(tr.checksum, hs...)
			closeOnce(tr.checksumCh)
			tr.mu.Unlock()
		case "received":
			tr.mu.Lock()
			closeOnce(tr.receivedCh)
			tr.mu.Unlock()
		default:
			return jingle.ErrUnsupportedInfo
		}
	}
	return nil
}

// Terminated implements jingle.SessionHandler: it releases the transports
// and wakes every waiter.
func (tr *transfer) Terminated(_ *jingle.Session, r *jingle.Reason) {
	tr.mu.Lock()
	if tr.reason == nil {
		tr.reason = r
	}
	hs := tr.handles
	tr.handles = nil
	select {
	case <-tr.done:
	default:
		close(tr.done)
	}
	tr.mu.Unlock()
	tr.cancel()
	// Closing can block on network teardown (datachannel); not in the loop.
	tr.app.goOwned(func() {
		for _, h := range hs {
			_ = h.Close()
		}
	})
}

func closeOnce(c chan struct{}) {
	select {
	case <-c:
	default:
		close(c)
	}
}

// terminate ends the session with r (from a goroutine, not the loop).
func (tr *transfer) terminate(r *jingle.Reason) {
	s := tr.session()
	if s == nil {
		tr.cancel()
		return
	}
	tr.mu.Lock()
	if tr.reason == nil {
		tr.reason = r
	}
	tr.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(tr.ctx), 10*time.Second)
	defer cancel()
	if err := s.Terminate(ctx, r); err != nil {
		tr.log.Debug("filetransfer: terminate", "err", err)
	}
}

// fail ends the session for err.
func (tr *transfer) fail(err error) {
	if tr.ctx.Err() != nil {
		return
	}
	tr.log.Debug("filetransfer: failed", "err", err)
	tr.terminate(errReason(err))
}

// connect returns a working stream, replacing failed transports when we
// are the initiator (XEP-0260 §2.6: only the initiator replaces) and
// following the initiator's replacements otherwise.
func (tr *transfer) connect() (io.ReadWriteCloser, error) {
	for {
		cur, changed := tr.current()
		ctx, cancel := context.WithTimeout(tr.ctx, tr.app.transportTimeout)
		// A replacement makes the old transport moot at once.
		stop := make(chan struct{})
		tr.app.goOwned(func() {
			select {
			case <-changed:
				cancel()
			case <-stop:
			}
		})
		conn, err := cur.h.Conn(ctx)
		close(stop)
		cancel()
		if err == nil {
			if p, ok := conn.(interface{ Pair() ice.Pair }); ok {
				tr.mu.Lock()
				tr.pair = p.Pair()
				tr.mu.Unlock()
			}
			return conn, nil
		}
		if tr.ctx.Err() != nil {
			return nil, tr.ctx.Err()
		}
		tr.log.Info("filetransfer: transport failed", "transport", cur.ns, "err", err)
		if !tr.initiator {
			select {
			case <-changed:
				continue
			case <-tr.ctx.Done():
				return nil, tr.ctx.Err()
			case <-time.After(tr.app.transportTimeout):
				return nil, fmt.Errorf("%w: %s failed and no replacement came: %w", ErrNoTransport, cur.ns, err)
			}
		}
		if err := tr.replace(); err != nil {
			return nil, err
		}
	}
}

// replace sends transport-replace with the next untried transport until
// one is accepted.
func (tr *transfer) replace() error {
	for {
		tr.mu.Lock()
		var next *choice
		used := map[string]bool{}
		for _, ns := range append(append([]string(nil), tr.tried...), tr.cur.ns) {
			used[Family(ns)] = true
		}
		for i := range tr.plan {
			if !used[Family(tr.plan[i].ns)] {
				next = &tr.plan[i]
				break
			}
		}
		tr.mu.Unlock()
		if next == nil {
			return fmt.Errorf("%w: every transport failed", ErrNoTransport)
		}
		at, err := tr.newAttempt(*next)
		if err != nil {
			return err
		}
		el, err := at.h.Local(tr.ctx)
		if err != nil {
			tr.setCur(at)
			continue
		}
		tr.setCur(at)
		tr.mu.Lock()
		accepted, rejected := tr.accepted, tr.rejected
		tr.mu.Unlock()
		c := jingle.Content{Creator: tr.creator, Name: tr.content, Transport: &el}
		err = tr.s.Send(tr.ctx, &jingle.Jingle{Action: jingle.ActionTransportReplace, Contents: []jingle.Content{c}})
		at.markSent()
		if err != nil {
			if tr.ctx.Err() != nil {
				return tr.ctx.Err()
			}
			continue
		}
		tr.log.Info("filetransfer: transport-replace", "transport", next.ns)
		select {
		case <-accepted:
			return nil
		case <-rejected:
			continue
		case <-tr.ctx.Done():
			return tr.ctx.Err()
		}
	}
}

// finish records the result once.
func (tr *transfer) finish(res Result) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	select {
	case <-tr.resultReady:
		return
	default:
	}
	res.Tried = append([]string(nil), tr.tried...)
	if tr.cur != nil {
		res.Transport = tr.cur.ns
	}
	res.Pair = tr.pair
	res.Reason = tr.reason
	if s := tr.s; s != nil {
		res.SID = s.SID()
	}
	res.Peer, res.Sent, res.Ended = tr.peer, tr.sending, time.Now()
	tr.result = res
	close(tr.resultReady)
}

var errEndedEarly = errors.New("filetransfer: session ended before the transfer completed")
