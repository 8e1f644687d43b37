// Direct receive: audio RTP decrypted on the socket's read goroutine and
// handed to its sink there, past pion's read path.

package rtp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/pion/dtls/v3"
	pionrtp "github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/transport/v4"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/ice"
)

// Why: every received RTP packet takes four goroutine hand-offs in pion
// v4.2.20 (the ICE candidate's read loop into the agent's buffer, the
// mux's read loop into an endpoint, the SRTP session's read loop into a
// stream, the track reader) and the interceptor chain (NACK, reports,
// stats). On a conference focus that is about 30 µs of CPU per packet,
// 45% of the focus's one core at 300 participants (docs/BENCHMARKS.md,
// run 11), and what queues the mixes behind each other. A stream that
// takes the direct path costs one SRTP decrypt and one header parse on
// the goroutine that read the datagram.
//
// How: the PeerConnection's UDP sockets are ours (directNet, through
// SettingEngine.SetNet), so every datagram passes directConn's read
// first. Once a remote audio track has delivered its first packet the
// normal way (pion has bound the stream, OnTrack ran, the sink exists),
// the call arms its SSRC here with the sink's delivery function; from
// then on directConn takes that SSRC's SRTP packets itself and pion never
// sees them. Everything else (STUN, DTLS, RTCP, SCTP, video, streams not
// armed) goes to pion unchanged. On the shared UDP port (UDPMux) the
// port's read loop does the same for the datagrams from each call's
// selected remote address (directRoutes).
//
// What a direct stream gives up: pion's interceptors do not see its
// packets, so no RTCP receiver reports or NACKs are sent for it (an
// audio stream needs neither: Opus conceals, and we send no NACK for
// audio anyway) and pion's counters stop; the stream keeps its own
// (directStream), which Stats adds. Packets that do not arrive on our
// sockets (a TURN relayed pair: the relay's datagrams are unwrapped
// inside pion's TURN client) still take pion's path, and reach the same
// sink. A server's own candidates are rarely relayed; a client's relay
// sends to our socket like any peer. One case is not covered: a pair
// that moves to a relayed local candidate more than half the sequence
// space after the switch (32,768 packets, 11 minutes of 20 ms audio)
// finds pion's SRTP context guessing the wrong rollover counter, and
// that stream is lost.
//
// The keys: pion does not export a DTLS transport's connection, so
// dtlsConnOf reads DTLSTransport's unexported conn field by reflection,
// at the pinned pion/webrtc version. A version that renames it leaves
// every call on pion's path, and TestCallDirectAudio fails on that.

// directNet is a transport.Net whose UDP sockets pass their datagrams
// through rx first.
type directNet struct {
	transport.Net
	rx      *directRx
	sockets *directSockets
}

// ListenUDP opens the socket pion asked for and wraps it if it is a
// candidate's: bound to a unicast address. pion's mDNS sockets (bound to
// the multicast group, 224.0.0.0:5353) stay plain *net.UDPConns: x/net's
// ipv4.PacketConn reads control messages only from that concrete type
// and fails every read of anything else, which pion's mDNS read loop
// retries forever (a spinning goroutine that also blocks the agent's
// Close; tests/dino's conference test found it).
func (n directNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	u, ok := c.(*net.UDPConn)
	if !ok || laddr == nil || laddr.IP.IsMulticast() || laddr.IP.IsUnspecified() || laddr.IP == nil {
		return c, nil
	}
	dc := &directConn{UDPConn: u, rx: n.rx, sockets: n.sockets}
	n.sockets.add(dc)
	return dc, nil
}

// directConn is a UDP socket of a PeerConnection with direct receive.
// pion/ice reads it through ReadFromAddrPort (its allocation-free path)
// from one goroutine per socket.
type directConn struct {
	*net.UDPConn
	rx      *directRx
	sockets *directSockets
}

// Close closes the socket and forgets it for direct send.
func (c *directConn) Close() error {
	c.sockets.remove(c)
	return c.UDPConn.Close()
}

// ReadFromAddrPort returns the next datagram that is pion's; datagrams
// of armed streams are handled on the way.
func (c *directConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	for {
		n, from, err := c.UDPConn.ReadFromUDPAddrPort(p)
		if err != nil || !c.rx.take(p[:n]) {
			return n, from, err
		}
	}
}

// WriteToAddrPort implements pion/ice's AddrPortReaderWriter.
func (c *directConn) WriteToAddrPort(p []byte, to netip.AddrPort) (int, error) {
	return c.UDPConn.WriteToUDPAddrPort(p, to)
}

// ReadFrom implements net.PacketConn like ReadFromAddrPort.
func (c *directConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, from, err := c.ReadFromAddrPort(p)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// directRx is one PeerConnection's direct receive: its remote SRTP
// context and its armed streams.
type directRx struct {
	mu      sync.Mutex
	srtp    *srtp.Context // the peer's keys; nil until the first arm
	streams map[uint32]*directStream
	ended   map[string]directCounts // by content, the disarmed streams' counts
	hdr     pionrtp.Header          // scratch for decrypt, guarded by mu
	armed   atomic.Int32            // len(streams), read without mu per datagram
	// last is the stream of the last packet taken (a PeerConnection
	// mostly receives one audio stream): its map lookup per packet, a
	// cache miss at a thousand calls, is skipped.
	last     *directStream
	lastSSRC uint32
	jitter   *jitterMeter
	// routes is the shared UDP port's table when the PeerConnection is
	// on one (UDPMux), and remote the address rx is routed from there.
	routes *directRoutes
	remote netip.AddrPort
}

func newDirectRx(j *jitterMeter, routes *directRoutes) *directRx {
	return &directRx{streams: map[uint32]*directStream{}, ended: map[string]directCounts{}, jitter: j, routes: routes}
}

// directStream is one armed SSRC.
type directStream struct {
	deliver func(*pionrtp.Packet)
	// reuse: deliver keeps nothing of the packet once it returns (the
	// sink is a CopyingSink or none; an echo writes it through or queues
	// a clone), so take decrypts and parses into pooled scratch instead
	// of allocating both per packet.
	reuse   bool
	content string
	// jitter is the stream's state in the call's jitter meter, found
	// once at arm (nil: looked up per packet, or no meter).
	jitter *jitterState
	// armSeq is the last sequence number pion decrypted, at rollover
	// counter 0; the direct context starts from it (take).
	armSeq  uint16
	started bool
	// Counted under directRx.mu: packets and bytes (header and payload,
	// as pion's stats count them), the highest and first extended
	// sequence numbers (RFC 3550 A.1) for loss.
	packets, bytes   uint64
	firstExt, maxExt uint64
	authFailed       uint64
}

// errNoDirectKeys: the DTLS keys could not be read (see dtlsConnOf).
var errNoDirectKeys = errors.New("rtp: direct receive: DTLS keys not available")

// arm makes rx take ssrc's packets from now on and hand them to deliver.
// The first arm derives the peer's SRTP keys from dt, the DTLS transport
// in which they were negotiated; weClient is our DTLS role. On a shared
// UDP port, rx is routed the datagrams from the selected pair's remote
// address (route).
//
// seq is the sequence number of the packet pion delivered last, with the
// rollover counter pion's context has for a new stream: 0.
//
// reuse says deliver keeps nothing of a packet after it returns.
func (rx *directRx) arm(dt *webrtc.DTLSTransport, weClient bool, ssrc uint32, seq uint16, content string, deliver func(*pionrtp.Packet), reuse bool) error {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	if rx.srtp == nil {
		ctx, err := remoteSRTP(dt, weClient)
		if err != nil {
			return err
		}
		rx.srtp = ctx
	}
	rx.streams[ssrc] = &directStream{deliver: deliver, reuse: reuse, content: content, armSeq: seq, jitter: rx.jitter.state(ssrc)}
	if rx.lastSSRC == ssrc {
		rx.last = nil
	}
	rx.armed.Store(int32(len(rx.streams)))
	rx.routeLocked(dt)
	return nil
}

// route re-reads the selected pair after the path changed (the call's
// reader got a packet of an armed stream the normal way).
func (rx *directRx) route(dt *webrtc.DTLSTransport) {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	if len(rx.streams) > 0 {
		rx.routeLocked(dt)
	}
}

func (rx *directRx) routeLocked(dt *webrtc.DTLSTransport) {
	if rx.routes == nil {
		return
	}
	remote, ok := selectedRemote(dt.ICETransport())
	if !ok || remote == rx.remote {
		return
	}
	rx.routes.remove(rx.remote, rx)
	rx.remote = remote
	rx.routes.set(remote, rx)
}

// disarm stops taking ssrc's packets (its track ended); its counts stay
// in the content's stats.
func (rx *directRx) disarm(ssrc uint32) {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	if s := rx.streams[ssrc]; s != nil {
		rx.ended[s.content] = rx.ended[s.content].add(s.counts())
	}
	delete(rx.streams, ssrc)
	if rx.lastSSRC == ssrc {
		rx.last = nil
	}
	rx.armed.Store(int32(len(rx.streams)))
	if len(rx.streams) == 0 && rx.routes != nil {
		rx.routes.remove(rx.remote, rx)
		rx.remote = netip.AddrPort{}
	}
}

// directRoutes is the shared UDP port's table of direct receivers: its
// one socket reads every PeerConnection's datagrams, so each goes to the
// receiver of the PeerConnection whose selected pair it came from. A
// datagram from an address not in the table (a pair just changed, STUN
// from a new candidate) goes to pion's mux as before.
type directRoutes struct {
	mu sync.RWMutex
	by map[netip.AddrPort]*directRx
	n  atomic.Int32
}

func newDirectRoutes() *directRoutes {
	return &directRoutes{by: map[netip.AddrPort]*directRx{}}
}

func (r *directRoutes) set(a netip.AddrPort, rx *directRx) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.by[a] = rx
	r.n.Store(int32(len(r.by)))
}

// remove drops a's route if it is still rx's.
func (r *directRoutes) remove(a netip.AddrPort, rx *directRx) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.by[a] == rx {
		delete(r.by, a)
	}
	r.n.Store(int32(len(r.by)))
}

// lookup is the direct receiver routed the datagrams from from, or nil.
func (r *directRoutes) lookup(from netip.AddrPort) *directRx {
	if r == nil || r.n.Load() == 0 {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.by[unmapped(from)]
}

func unmapped(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// selectedRemote is the remote address of it's selected pair.
func selectedRemote(it *webrtc.ICETransport) (netip.AddrPort, bool) {
	if !ice.Started(it) {
		return netip.AddrPort{}, false
	}
	p, err := it.GetSelectedCandidatePair()
	if err != nil || p == nil || p.Remote == nil {
		return netip.AddrPort{}, false
	}
	a, err := netip.ParseAddr(p.Remote.Address)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a.Unmap(), p.Remote.Port), true
}

// take handles b if it is an SRTP packet of an armed stream and reports
// whether it did; anything else is pion's. A packet of an armed stream
// that fails authentication or replay checks is dropped here, as pion's
// SRTP session would drop it.
func (rx *directRx) take(b []byte) bool {
	if rx.armed.Load() == 0 || len(b) < 12 || b[0]>>6 != 2 || (b[1] >= 192 && b[1] <= 223) {
		return false // not RTP (STUN, DTLS, RTCP: RFC 5761, 7983)
	}
	ssrc := binary.BigEndian.Uint32(b[8:12])
	rx.mu.Lock()
	s := rx.last
	if s == nil || rx.lastSSRC != ssrc {
		if s = rx.streams[ssrc]; s == nil {
			rx.mu.Unlock()
			return false
		}
		rx.last, rx.lastSSRC = s, ssrc
	}
	if !s.started {
		// The direct context's first packet of the stream: a fresh
		// context takes it for rollover counter 0, right unless the
		// sequence numbers wrapped since pion's last.
		s.started = true
		if seq := binary.BigEndian.Uint16(b[2:4]); seq < s.armSeq && s.armSeq-seq > 0x8000 {
			rx.srtp.SetROC(ssrc, 1)
		}
	}
	var sc *rxScratch
	var plain []byte
	var pkt *pionrtp.Packet
	if s.reuse {
		sc = rxScratchPool.Get().(*rxScratch)
		plain, pkt = sc.buf[:0], &sc.pkt
	} else {
		plain, pkt = make([]byte, len(b)), &pionrtp.Packet{}
	}
	plain, err := rx.srtp.DecryptRTP(plain, b, &rx.hdr)
	if err == nil {
		err = pkt.Unmarshal(plain)
	} else {
		s.authFailed++
	}
	if err != nil {
		rx.mu.Unlock()
		if sc != nil {
			rxScratchPool.Put(sc)
		}
		return true
	}
	s.count(pkt)
	deliver, jit := s.deliver, s.jitter
	rx.mu.Unlock()
	switch {
	case jit != nil:
		rx.jitter.arrivedAt(jit, pkt.Timestamp, time.Now())
	case rx.jitter != nil:
		rx.jitter.arrived(ssrc, pkt.Timestamp, time.Now())
	}
	deliver(pkt)
	if sc != nil {
		sc.buf = plain[:0] // sc.buf, or a larger one DecryptRTP made
		rxScratchPool.Put(sc)
	}
	return true
}

// rxScratch is what take decrypts and parses a packet into for a reuse
// stream: given back once deliver returns. Pooled rather than one per
// stream, since a PeerConnection's several sockets may each be taking a
// packet at once.
type rxScratch struct {
	buf []byte
	pkt pionrtp.Packet
}

var rxScratchPool = sync.Pool{New: func() any { return &rxScratch{buf: make([]byte, 0, readMTU)} }}

// count updates s's counters with p (under directRx.mu).
func (s *directStream) count(p *pionrtp.Packet) {
	s.packets++
	s.bytes += uint64(p.Header.MarshalSize() + len(p.Payload))
	seq := uint64(p.SequenceNumber)
	if s.packets == 1 {
		// One cycle up, so that a late packet from before a wrap
		// still extends below it.
		s.firstExt, s.maxExt = seq|0x10000, seq|0x10000
		return
	}
	// Extend seq to the cycle nearest the highest seen.
	ext := s.maxExt&^0xffff | seq
	switch {
	case ext+0x8000 < s.maxExt:
		ext += 0x10000
	case ext > s.maxExt+0x8000:
		ext -= 0x10000
	}
	if ext > s.maxExt {
		s.maxExt = ext
	}
	if ext < s.firstExt {
		s.firstExt = ext // late, from before the first that arrived
	}
}

// directCounts is what the direct path received for a content.
type directCounts struct {
	packets, bytes, lost uint64
}

func (c directCounts) add(d directCounts) directCounts {
	return directCounts{packets: c.packets + d.packets, bytes: c.bytes + d.bytes, lost: c.lost + d.lost}
}

// counts is what s received (under directRx.mu).
func (s *directStream) counts() directCounts {
	c := directCounts{packets: s.packets, bytes: s.bytes}
	if s.packets > 0 {
		if expected := s.maxExt - s.firstExt + 1; expected > s.packets {
			c.lost = expected - s.packets
		}
	}
	return c
}

// counts sums what the streams of content received, armed or ended.
func (rx *directRx) counts(content string) directCounts {
	if rx == nil {
		return directCounts{}
	}
	rx.mu.Lock()
	defer rx.mu.Unlock()
	c := rx.ended[content]
	for _, s := range rx.streams {
		if s.content == content {
			c = c.add(s.counts())
		}
	}
	return c
}

// remoteSRTP is the SRTP context that decrypts what the peer sends, from
// the keys negotiated in dt (RFC 5764 §4.2, as pion derives them).
func remoteSRTP(dt *webrtc.DTLSTransport, weClient bool) (*srtp.Context, error) {
	cfg, err := sessionKeys(dt, weClient)
	if err != nil {
		return nil, err
	}
	ctx, err := directContext(cfg.Keys.RemoteMasterKey, cfg.Keys.RemoteMasterSalt, cfg.Profile)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoDirectKeys, err)
	}
	return ctx, nil
}

// sessionKeys are the SRTP profile and keys negotiated in dt, ours and
// the peer's.
func sessionKeys(dt *webrtc.DTLSTransport, weClient bool) (*srtp.Config, error) {
	conn := dtlsConnOf(dt)
	if conn == nil {
		return nil, errNoDirectKeys
	}
	profile, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		return nil, fmt.Errorf("%w: no SRTP profile negotiated", errNoDirectKeys)
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return nil, fmt.Errorf("%w: no DTLS state", errNoDirectKeys)
	}
	cfg := &srtp.Config{Profile: srtp.ProtectionProfile(profile)}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, weClient); err != nil {
		return nil, fmt.Errorf("%w: %v", errNoDirectKeys, err)
	}
	return cfg, nil
}

// directReplayWindow is pion's SRTP session default (srtp v3.0.13,
// defaultSessionSRTPReplayProtectionWindow): the direct path rejects
// replays as the path it replaces did.
const directReplayWindow = 64

// directContext is a decrypting SRTP context as pion's session makes one.
func directContext(key, salt []byte, profile srtp.ProtectionProfile) (*srtp.Context, error) {
	return srtp.CreateContext(key, salt, profile, srtp.SRTPReplayProtection(directReplayWindow))
}

// dtlsConnOf is dt's DTLS connection, read from its unexported field
// (pion/webrtc v4.2.20's DTLSTransport.conn); nil when the field is not
// there or not set.
func dtlsConnOf(dt *webrtc.DTLSTransport) *dtls.Conn {
	if dt == nil {
		return nil
	}
	f := reflect.ValueOf(dt).Elem().FieldByName("conn")
	if !f.IsValid() || f.Type() != reflect.TypeOf((*dtls.Conn)(nil)) {
		return nil
	}
	c, _ := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(*dtls.Conn)
	return c
}

// weAreDTLSClient reports our DTLS role in pc's negotiated session: the
// client is the side whose setup attribute says active, or the one
// facing a passive peer (RFC 5763 §5).
func weAreDTLSClient(pc *webrtc.PeerConnection) (bool, error) {
	local, remote := pc.CurrentLocalDescription(), pc.CurrentRemoteDescription()
	if local == nil || remote == nil {
		return false, errors.New("rtp: direct receive: session not negotiated")
	}
	switch {
	case strings.Contains(local.SDP, "a=setup:active"), strings.Contains(remote.SDP, "a=setup:passive"):
		return true, nil
	case strings.Contains(local.SDP, "a=setup:passive"), strings.Contains(remote.SDP, "a=setup:active"):
		return false, nil
	}
	return false, errors.New("rtp: direct receive: no DTLS role in the session")
}
