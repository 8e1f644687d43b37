// Direct send: audio RTP encrypted and written to the selected pair's
// socket by us, past pion's write path.

package rtp

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	pionrtp "github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// Why: below a track's write, pion v4.2.20 runs every packet through the
// interceptor chain (NACK responder, sender reports, stats), the SRTP
// session, the mux endpoint and the ICE connection before the socket,
// about 11 µs a packet on the conference focus, where every participant
// gets a mix every 20 ms (docs/BENCHMARKS.md, run 12). A direct stream
// costs one header marshal, one SRTP encrypt and the socket write; on
// the shared UDP port (UDPMux) the write joins the batch of its tick.
//
// How: directTx is the outermost interceptor of the PeerConnection
// (added last, so the track writes to it first). It sees every audio
// packet from the stream's start, so it keeps the stream's SRTP rollover
// counter; once the call is connected (armTx) and the selected pair runs
// through one of our sockets (a host or server-reflexive candidate: the
// PeerConnection's own, or the shared port's), it encrypts with its own
// context for the local keys and writes the packet itself. Otherwise
// (before that, on a relayed pair, while ICE is not connected) it hands
// the packet on to pion, unchanged. The pair is looked up again when ICE
// selects another (ICE restart) and every few seconds, so a path that
// moves is followed.
//
// What a direct stream gives up: pion's sender reports go on with the
// counts of before the switch (their timestamps stay right), and pion's
// stats stop; directTx counts, and Stats adds its counts. A pair that
// moves from one of our sockets to a relayed local candidate more than
// half the sequence space after the switch (32,768 packets, 11 minutes
// of 20 ms audio) leaves pion's SRTP context guessing the wrong rollover
// counter; a call that relays from the start never goes direct.

// directTx is one PeerConnection's direct send.
type directTx struct {
	mu      sync.Mutex
	srtp    *srtp.Context // local keys; nil until armed
	ice     *webrtc.ICETransport
	sockets func(local netip.AddrPort) addrPortWriter
	conn    addrPortWriter // the selected pair's socket; nil: pion sends
	remote  netip.AddrPort
	checked time.Time
	// moved is set by ICE when it selects a pair (the first, or another
	// after a restart): the next packet looks the pair up again at once.
	moved   atomic.Bool
	lookups uint64 // selected-pair lookups, for tests
	streams map[uint32]*txStream
	// last is the stream of the last packet sent, its map lookup
	// skipped for the next (a PeerConnection mostly sends one).
	last     *txStream
	lastSSRC uint32
	buf      []byte // the packet marshaled
	enc      []byte // the packet encrypted
}

// addrPortWriter is the socket directTx writes to: a directConn, or the
// shared port's batchConn. Neither keeps b after it returns.
type addrPortWriter interface {
	WriteToAddrPort(b []byte, to netip.AddrPort) (int, error)
}

// txStream is one audio SSRC's sending state.
type txStream struct {
	// roc and lastSeq follow the sequence numbers from the stream's
	// first packet, so the direct context takes over with the rollover
	// counter pion's context has.
	roc     uint32
	lastSeq uint16
	seen    bool
	direct  bool // the direct context has the stream
	packets uint64
	bytes   uint64
}

// directRecheck is how often the selected pair is looked up again when
// ICE has not said it moved: after a write error, and as a safety net.
// Once a second cost 2.4% of jingled's CPU at 1000 echo calls.
const directRecheck = 5 * time.Second

func newDirectTx(sockets func(netip.AddrPort) addrPortWriter) *directTx {
	return &directTx{sockets: sockets, streams: map[uint32]*txStream{}}
}

// arm gives tx the local SRTP keys of dt's session and its ICE transport;
// from the next packet on, audio goes direct where the pair allows.
func (tx *directTx) arm(dt *webrtc.DTLSTransport, weClient bool) error {
	ctx, err := localSRTP(dt, weClient)
	if err != nil {
		return err
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.srtp == nil {
		tx.srtp, tx.ice = ctx, dt.ICETransport()
		// The transport's one handler for this (pion keeps one per
		// transport; nothing else in jingled sets it).
		tx.ice.OnSelectedCandidatePairChange(func(*webrtc.ICECandidatePair) { tx.moved.Store(true) })
		tx.moved.Store(true)
	}
	return nil
}

// send writes the packet if its stream goes direct, and reports whether
// it did; false: pion sends it.
func (tx *directTx) send(h *pionrtp.Header, payload []byte) bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	s := tx.last
	if s == nil || tx.lastSSRC != h.SSRC {
		if s = tx.streams[h.SSRC]; s == nil {
			s = &txStream{}
			tx.streams[h.SSRC] = s
		}
		tx.last, tx.lastSSRC = s, h.SSRC
	}
	s.follow(h.SequenceNumber)
	if !tx.routeLocked() {
		return false
	}
	if !s.direct {
		tx.srtp.SetROC(h.SSRC, s.roc)
		s.direct = true
	}
	n := h.MarshalSize() + len(payload)
	if cap(tx.buf) < n {
		tx.buf = make([]byte, n, 2*n)
	}
	plain := tx.buf[:n]
	hn, err := h.MarshalTo(plain)
	if err != nil {
		return false
	}
	copy(plain[hn:], payload)
	// Into a buffer of tx's own, reused: both writers are done with it
	// when they return (directConn writes at once, batchConn copies).
	enc, err := tx.srtp.EncryptRTP(tx.enc[:0], plain, h)
	if err != nil {
		return false
	}
	tx.enc = enc
	if _, err := tx.conn.WriteToAddrPort(enc, tx.remote); err != nil {
		// Lost, as a datagram the kernel refuses is; the pair is
		// looked up again before the next.
		tx.conn = nil
		return true
	}
	s.packets++
	s.bytes += uint64(n)
	return true
}

// follow advances s's rollover counter with seq (RFC 3711 §3.3.1: a
// sequence number that jumps back by more than half the space wrapped).
func (s *txStream) follow(seq uint16) {
	if s.seen && seq < s.lastSeq && s.lastSeq-seq > 0x8000 {
		s.roc++
	}
	if !s.seen || int16(seq-s.lastSeq) > 0 {
		s.lastSeq = seq
	}
	s.seen = true
}

// routeLocked reports whether packets go direct now, looking the
// selected pair up again when ICE selected another or directRecheck has
// passed, direct or not. A lookup is costly (pion converts both
// candidates and asks the agent's loop: about 20 µs), and a relayed pair
// never goes direct: looked up per packet, as before, it cost a relayed
// call 50 lookups a second per audio stream.
func (tx *directTx) routeLocked() bool {
	if tx.srtp == nil {
		return false
	}
	if !tx.moved.Load() && time.Since(tx.checked) < directRecheck {
		return tx.conn != nil
	}
	tx.conn = nil
	switch tx.ice.State() {
	case webrtc.ICETransportStateConnected, webrtc.ICETransportStateCompleted:
	default:
		return false // asked again at the next packet: this much is cheap
	}
	tx.moved.Store(false)
	tx.checked = time.Now()
	tx.lookups++
	p, err := tx.ice.GetSelectedCandidatePair()
	if err != nil || p == nil || p.Local == nil || p.Remote == nil {
		return false
	}
	local, ok := socketAddr(p.Local)
	remote, rok := candidateAddr(p.Remote.Address, p.Remote.Port)
	if !ok || !rok || p.Local.Protocol != webrtc.ICEProtocolUDP {
		return false
	}
	if w := tx.sockets(local); w != nil {
		tx.conn, tx.remote = w, remote
	}
	return tx.conn != nil
}

// socketAddr is the address of the socket a local candidate sends from:
// its own for a host candidate, its base for a server-reflexive one;
// relayed candidates send through pion's TURN client (false).
func socketAddr(c *webrtc.ICECandidate) (netip.AddrPort, bool) {
	switch c.Typ {
	case webrtc.ICECandidateTypeHost:
		return candidateAddr(c.Address, c.Port)
	case webrtc.ICECandidateTypeSrflx:
		return candidateAddr(c.RelatedAddress, c.RelatedPort)
	}
	return netip.AddrPort{}, false
}

func candidateAddr(host string, port uint16) (netip.AddrPort, bool) {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a.Unmap(), port), true
}

// counts is what went direct on ssrc.
func (tx *directTx) counts(ssrc uint32) (packets, bytes uint64) {
	if tx == nil {
		return 0, 0
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if s := tx.streams[ssrc]; s != nil {
		return s.packets, s.bytes
	}
	return 0, 0
}

// NewInterceptor implements interceptor.Factory: tx is its
// PeerConnection's one.
func (tx *directTx) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &directTxInterceptor{tx: tx}, nil
}

type directTxInterceptor struct {
	interceptor.NoOp
	tx *directTx
}

// BindLocalStream puts tx in front of an audio stream's writer.
func (i *directTxInterceptor) BindLocalStream(info *interceptor.StreamInfo, next interceptor.RTPWriter) interceptor.RTPWriter {
	if !isAudio(info) {
		return next
	}
	return interceptor.RTPWriterFunc(func(h *pionrtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if i.tx.send(h, payload) {
			return h.MarshalSize() + len(payload), nil
		}
		return next.Write(h, payload, a)
	})
}

// localSRTP is the SRTP context that encrypts what we send in dt's
// session.
func localSRTP(dt *webrtc.DTLSTransport, weClient bool) (*srtp.Context, error) {
	cfg, err := sessionKeys(dt, weClient)
	if err != nil {
		return nil, err
	}
	return srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, cfg.Profile)
}

// directSockets are the UDP sockets of one PeerConnection's ICE agent,
// by local address, for directTx to write to.
type directSockets struct {
	mu sync.Mutex
	by map[netip.AddrPort]*directConn
}

func (s *directSockets) add(c *directConn) {
	a, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.by == nil {
		s.by = map[netip.AddrPort]*directConn{}
	}
	s.by[unmapped(a.AddrPort())] = c
}

func (s *directSockets) remove(c *directConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for a, x := range s.by {
		if x == c {
			delete(s.by, a)
		}
	}
}

// find is the socket bound to local, or nil.
func (s *directSockets) find(local netip.AddrPort) addrPortWriter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.by[local]; c != nil {
		return c
	}
	return nil
}
