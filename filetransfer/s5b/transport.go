package s5b

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/jingled/jingled/jingle"
)

// DefaultPriority places SOCKS5 between the datachannel and IBB in the
// fallback order.
const DefaultPriority = 20

// DefaultDialTimeout bounds one connection attempt to a candidate.
const DefaultDialTimeout = 5 * time.Second

// Transport is the XEP-0260 transport; one value serves every session.
type Transport struct {
	out         jingle.Sender
	hosts       []string
	proxies     []StreamHost
	log         *slog.Logger
	dialTimeout time.Duration
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Option configures a Transport.
type Option func(*Transport)

// WithHosts sets the local addresses direct candidates listen on. The
// default is every address of the interfaces that are up, loopback
// excluded; tests pass "127.0.0.1" to stay on loopback. WithHosts() with no
// host disables direct candidates (proxy only).
func WithHosts(hosts ...string) Option {
	return func(t *Transport) { t.hosts = append([]string{}, hosts...) }
}

// WithProxies adds XEP-0065 proxies (see DiscoverProxies) as proxy
// candidates.
func WithProxies(p ...StreamHost) Option {
	return func(t *Transport) { t.proxies = append(t.proxies, p...) }
}

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option {
	return func(t *Transport) {
		if l != nil {
			t.log = l
		}
	}
}

// WithDialTimeout overrides DefaultDialTimeout.
func WithDialTimeout(d time.Duration) Option {
	return func(t *Transport) {
		if d > 0 {
			t.dialTimeout = d
		}
	}
}

// WithDialContext replaces the dialer used to reach candidates (a
// firewall in tests, a socket-marking dialer in production).
func WithDialContext(f func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return func(t *Transport) { t.dial = f }
}

// New returns the transport. out carries the proxy activation IQ; it is
// the same Sender the jingle.Manager uses.
func New(out jingle.Sender, opts ...Option) *Transport {
	t := &Transport{out: out, log: slog.New(slog.DiscardHandler), dialTimeout: DefaultDialTimeout}
	t.hosts = nil
	hostsSet := false
	for _, o := range opts {
		o(t)
		if t.hosts != nil {
			hostsSet = true
		}
	}
	if !hostsSet {
		t.hosts = interfaceHosts()
	}
	if t.dial == nil {
		d := &net.Dialer{}
		t.dial = d.DialContext
	}
	return t
}

// interfaceHosts lists the unicast addresses of up, non-loopback
// interfaces.
func interfaceHosts() []string {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []string
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := i.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.IsGlobalUnicast() {
				out = append(out, ipn.IP.String())
			}
		}
	}
	return out
}

// Namespace implements jingle.Transport.
func (t *Transport) Namespace() string { return NS }

// Features implements jingle.Transport.
func (t *Transport) Features() []string { return []string{NS} }

// Kind implements jingle.Transport.
func (t *Transport) Kind() jingle.TransportKind { return jingle.Stream }

// Priority implements jingle.Transport.
func (t *Transport) Priority() int { return DefaultPriority }

// NewHandle implements jingle.StreamTransport. The handle reports its
// candidates (candidate-used, activated, ...) with s.Send.
func (t *Transport) NewHandle(_ context.Context, s jingle.TransportSession, content string) (jingle.TransportHandle, error) {
	return t.newHandle(s, content), nil
}

// handle is one content's SOCKS5 negotiation (XEP-0260 §2).
type handle struct {
	t       *Transport
	s       jingle.TransportSession
	content string
	log     *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	result chan struct{}

	mu        sync.Mutex
	sid       string
	built     bool
	localEl   jingle.Element
	local     []Candidate
	listeners []net.Listener
	accepted  map[string]net.Conn // our candidate's cid -> conn the peer opened

	remoteKnown bool
	remote      []Candidate
	remoteDst   string
	started     bool

	ourDone    bool
	ourUsed    *Candidate // the peer's candidate we connected to
	ourConn    net.Conn
	theirDone  bool
	theirUsed  string // our cid the peer connected to; "" for candidate-error
	activated  string
	proxyStart bool
	proxyConn  net.Conn
	finished   bool
	conn       net.Conn
	err        error
}

func (t *Transport) newHandle(s jingle.TransportSession, content string) *handle {
	ctx, cancel := context.WithCancel(context.Background())
	return &handle{
		t: t, s: s, content: content, ctx: ctx, cancel: cancel,
		log:      t.log.With("transport", "s5b", "content", content, "peer", s.Peer()),
		result:   make(chan struct{}),
		accepted: map[string]net.Conn{},
	}
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Local implements jingle.TransportHandle: it opens the listeners of the
// direct candidates and lists them with the proxies.
func (h *handle) Local(ctx context.Context) (jingle.Element, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.built {
		return h.localEl, nil
	}
	if h.sid == "" {
		h.sid = randomID()
	}
	me, peer := h.s.Local(), h.s.Peer()
	var lc net.ListenConfig
	for i, host := range h.t.hosts {
		l, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			h.log.Debug("s5b: cannot listen", "host", host, "err", err)
			continue
		}
		port, _ := strconv.Atoi(portOf(l.Addr()))
		c := Candidate{CID: randomID(), Host: host, JID: me, Port: uint16(port), Priority: Priority(TypeDirect, uint16(65535-i)), Type: TypeDirect}
		h.local = append(h.local, c)
		h.listeners = append(h.listeners, l)
		h.wg.Add(1)
		go h.acceptLoop(l, c.CID)
	}
	for i, p := range h.t.proxies {
		h.local = append(h.local, Candidate{CID: randomID(), Host: p.Host, JID: p.JID, Port: p.Port, Priority: Priority(TypeProxy, uint16(65535-i)), Type: TypeProxy})
	}
	el, err := (&Wire{SID: h.sid, DstAddr: DstAddr(h.sid, me, peer), Mode: "tcp", Candidates: h.local}).Element()
	if err != nil {
		return jingle.Element{}, err
	}
	h.localEl, h.built = el, true
	h.maybeStartLocked()
	return el, nil
}

func portOf(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// acceptLoop serves one direct candidate: the peer must ask for the
// DST.ADDR of our candidates; anything else is refused.
func (h *handle) acceptLoop(l net.Listener, cid string) {
	defer h.wg.Done()
	want := DstAddr(h.sidLocked(), h.s.Local(), h.s.Peer())
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		_ = c.SetDeadline(time.Now().Add(h.t.dialTimeout))
		if _, err := serverHandshake(c, func(dst string) bool { return dst == want }); err != nil {
			h.log.Debug("s5b: refused connection", "cid", cid, "err", err)
			_ = c.Close()
			continue
		}
		_ = c.SetDeadline(time.Time{})
		h.mu.Lock()
		if _, dup := h.accepted[cid]; dup || h.finished {
			h.mu.Unlock()
			_ = c.Close()
			continue
		}
		h.accepted[cid] = c
		h.decideLocked()
		h.mu.Unlock()
	}
}

func (h *handle) sidLocked() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sid
}

// HandleRemote implements jingle.TransportHandle.
func (h *handle) HandleRemote(_ context.Context, a jingle.Action, e jingle.Element) error {
	t, err := Decode(&e)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sid == "" {
		h.sid = t.SID
	} else if t.SID != "" && t.SID != h.sid {
		return fmt.Errorf("%w: sid %q, expected %q", ErrBadTransport, t.SID, h.sid)
	}
	switch {
	case t.CandidateUsed != nil:
		if !h.isLocalCID(t.CandidateUsed.CID) {
			return fmt.Errorf("%w: candidate-used names unknown cid %q", ErrBadTransport, t.CandidateUsed.CID)
		}
		h.theirDone, h.theirUsed = true, t.CandidateUsed.CID
	case t.CandidateError != nil:
		h.theirDone, h.theirUsed = true, ""
	case t.Activated != nil:
		h.activated = t.Activated.CID
	case t.ProxyError != nil:
		h.finishLocked(nil, fmt.Errorf("%w: peer reports proxy-error", ErrFailed))
		return nil
	default:
		if a == jingle.ActionTransportInfo && len(t.Candidates) == 0 {
			return nil
		}
		if h.remoteKnown {
			return nil
		}
		h.remote = t.Candidates
		h.remoteDst = t.DstAddr
		if h.remoteDst == "" {
			h.remoteDst = DstAddr(h.sid, h.s.Peer(), h.s.Local())
		}
		h.remoteKnown = true
		h.maybeStartLocked()
	}
	h.decideLocked()
	return nil
}

func (h *handle) isLocalCID(cid string) bool {
	for _, c := range h.local {
		if c.CID == cid {
			return true
		}
	}
	return false
}

func (h *handle) localCandidate(cid string) *Candidate {
	for i := range h.local {
		if h.local[i].CID == cid {
			return &h.local[i]
		}
	}
	return nil
}

func (h *handle) maybeStartLocked() {
	if !h.built || !h.remoteKnown || h.started {
		return
	}
	h.started = true
	remote := append([]Candidate(nil), h.remote...)
	dst := h.remoteDst
	h.wg.Add(1)
	go h.connect(remote, dst)
}

// connect tries the peer's candidates by priority (XEP-0260 §2.3) and
// reports the first that works, or candidate-error.
func (h *handle) connect(remote []Candidate, dst string) {
	defer h.wg.Done()
	sort.SliceStable(remote, func(i, j int) bool { return remote[i].Priority > remote[j].Priority })
	var used *Candidate
	var conn net.Conn
	for i := range remote {
		c := remote[i]
		ctx, cancel := context.WithTimeout(h.ctx, h.t.dialTimeout)
		cn, err := h.dialSOCKS(ctx, net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))), dst)
		cancel()
		if err != nil {
			h.log.Debug("s5b: candidate failed", "cid", c.CID, "type", c.typ(), "err", err)
			continue
		}
		used, conn = &c, cn
		break
	}
	var report Wire
	h.mu.Lock()
	report.SID = h.sid
	h.mu.Unlock()
	if used != nil {
		report.CandidateUsed = &CIDRef{CID: used.CID}
	} else {
		report.CandidateError = &struct{}{}
	}
	if err := h.sendInfo(&report); err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		h.mu.Lock()
		h.finishLocked(nil, fmt.Errorf("s5b: reporting candidate: %w", err))
		h.mu.Unlock()
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.finished {
		if conn != nil {
			_ = conn.Close()
		}
		return
	}
	h.ourDone, h.ourUsed, h.ourConn = true, used, conn
	h.decideLocked()
}

func (h *handle) dialSOCKS(ctx context.Context, addr, dst string) (net.Conn, error) {
	c, err := h.t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("s5b: dialing %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	err = clientHandshake(c, dst)
	stop()
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("s5b: %s: %w", addr, err)
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

func (h *handle) sendInfo(t *Wire) error {
	el, err := t.Element()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
	defer cancel()
	return h.s.Send(ctx, &jingle.Jingle{
		Action:   jingle.ActionTransportInfo,
		Contents: []jingle.Content{{Creator: jingle.CreatorInitiator, Name: h.content, Transport: &el}},
	})
}

// decideLocked nominates the candidate once both reports are in
// (XEP-0260 §2.4).
func (h *handle) decideLocked() {
	if h.finished || !h.ourDone || !h.theirDone {
		return
	}
	theirs := h.localCandidate(h.theirUsed)
	ours := h.ourUsed
	if ours == nil && theirs == nil {
		h.finishLocked(nil, fmt.Errorf("%w: both sides sent candidate-error", ErrFailed))
		return
	}
	useOurs := theirs == nil
	if ours != nil && theirs != nil {
		switch {
		case ours.Priority != theirs.Priority:
			useOurs = ours.Priority > theirs.Priority
		default:
			// Same priority: the initiator's choice wins.
			useOurs = h.s.IsInitiator()
		}
	}
	if useOurs {
		if ours.typ() == TypeProxy {
			// The peer offered the proxy: it activates, we wait.
			if h.activated == "" {
				return
			}
			if h.activated != ours.CID {
				h.finishLocked(nil, fmt.Errorf("%w: peer activated %q, nominated %q", ErrFailed, h.activated, ours.CID))
				return
			}
		}
		c := h.ourConn
		h.ourConn = nil
		h.finishLocked(c, nil)
		return
	}
	if theirs.typ() == TypeProxy {
		if !h.proxyStart {
			h.proxyStart = true
			h.wg.Add(1)
			go h.activateProxy(*theirs)
		}
		return
	}
	c := h.accepted[theirs.CID]
	if c == nil {
		return // the accept loop has not recorded it yet; it calls back
	}
	delete(h.accepted, theirs.CID)
	h.finishLocked(c, nil)
}

// activateProxy connects to our own proxy candidate, activates it and
// tells the peer (XEP-0260 §2.4, XEP-0065 §6.3.5).
func (h *handle) activateProxy(c Candidate) {
	defer h.wg.Done()
	h.mu.Lock()
	sid := h.sid
	h.mu.Unlock()
	me, peer := h.s.Local(), h.s.Peer()
	ctx, cancel := context.WithTimeout(h.ctx, h.t.dialTimeout+30*time.Second)
	defer cancel()
	conn, err := h.dialSOCKS(ctx, net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))), DstAddr(sid, me, peer))
	if err == nil {
		err = activate(ctx, h.t.out, me, c.JID, sid, peer)
	}
	if err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		_ = h.sendInfo(&Wire{SID: sid, ProxyError: &struct{}{}})
		h.mu.Lock()
		h.finishLocked(nil, fmt.Errorf("%w: proxy %s: %w", ErrFailed, c.JID, err))
		h.mu.Unlock()
		return
	}
	if err := h.sendInfo(&Wire{SID: sid, Activated: &CIDRef{CID: c.CID}}); err != nil {
		_ = conn.Close()
		h.mu.Lock()
		h.finishLocked(nil, fmt.Errorf("s5b: sending activated: %w", err))
		h.mu.Unlock()
		return
	}
	h.mu.Lock()
	h.finishLocked(conn, nil)
	h.mu.Unlock()
}

// finishLocked records the outcome once and releases what is not used.
func (h *handle) finishLocked(c net.Conn, err error) {
	if h.finished {
		if c != nil {
			_ = c.Close()
		}
		return
	}
	h.finished, h.conn, h.err = true, c, err
	for _, l := range h.listeners {
		_ = l.Close()
	}
	for cid, a := range h.accepted {
		_ = a.Close()
		delete(h.accepted, cid)
	}
	if h.ourConn != nil {
		_ = h.ourConn.Close()
		h.ourConn = nil
	}
	close(h.result)
}

// Conn implements jingle.TransportHandle.
func (h *handle) Conn(ctx context.Context) (io.ReadWriteCloser, error) {
	select {
	case <-h.result:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-h.ctx.Done():
		return nil, ErrClosed
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return nil, h.err
	}
	return h.conn, nil
}

// Close implements jingle.TransportHandle; it also closes the stream.
func (h *handle) Close() error {
	h.cancel()
	h.mu.Lock()
	if !h.finished {
		h.finishLocked(nil, ErrClosed)
	}
	c := h.conn
	h.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
	h.wg.Wait()
	return nil
}
