package turnserver

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun/v4"
)

// The ChannelData fast path (RFC 8656 section 12). Once a channel is bound
// on a UDP allocation, its datagrams no longer go through pion: a client's
// ChannelData is unwrapped and sent from the relay socket by the listener's
// reader, and a peer's datagram is wrapped and sent to the client by the
// relay socket's reader. pion's own path allocates nine objects per round
// trip (5-tuple strings, ChannelData encoding, debug-log arguments) and
// takes its allocation and channel locks per datagram; the bench/turn
// profile showed that garbage as a large part of what the relay spends
// beyond its system calls.
//
// Every check of the slow path still applies: the channel was
// policy-checked and permission-capped by the gate at ChannelBind, and the
// relay socket's WriteTo and ReadFrom (peer verdict memo, bandwidth caps,
// relayed bytes/packets metrics) are the same for both paths. Bindings are
// learnt from pion's own success responses, so pion decides every binding
// (including its refusals) and the fast path only mirrors them; a mirrored
// binding expires one second before pion's, after which datagrams fall back
// to pion, which drops or relays them as before.

// fastBindMargin makes a mirrored binding end before pion's: the mirror's
// clock starts when the ChannelBind was read, before pion handled it.
const fastBindMargin = time.Second

const channelBindSuccess = 0x0109

// fastAlloc is one UDP allocation as the fast path sees it.
type fastAlloc struct {
	relay  *relayConn
	turn   udpWriter // the listener socket the client uses
	client netip.AddrPort

	mu    sync.Mutex                 // serializes binders
	chans atomic.Pointer[[]fastChan] // copy on write: read per datagram
}

type fastChan struct {
	number  uint16
	peer    netip.AddrPort
	peerUA  *net.UDPAddr
	expires int64 // UnixNano
}

func (a *fastAlloc) byNumber(num uint16, now int64) *fastChan {
	if cs := a.chans.Load(); cs != nil {
		for i := range *cs {
			if c := &(*cs)[i]; c.number == num && c.expires > now {
				return c
			}
		}
	}

	return nil
}

func (a *fastAlloc) byPeer(peer netip.AddrPort, now int64) *fastChan {
	if cs := a.chans.Load(); cs != nil {
		for i := range *cs {
			if c := &(*cs)[i]; c.peer == peer && c.expires > now {
				return c
			}
		}
	}

	return nil
}

// bind adds or refreshes a channel pion has just granted, dropping expired
// ones.
func (a *fastAlloc) bind(num uint16, peer netip.AddrPort, expires int64, now int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var old []fastChan
	if cs := a.chans.Load(); cs != nil {
		old = *cs
	}
	out := make([]fastChan, 0, len(old)+1)
	for _, c := range old {
		if c.number != num && c.peer != peer && c.expires > now {
			out = append(out, c)
		}
	}
	out = append(out, fastChan{number: num, peer: peer, peerUA: udpAddr16(peer), expires: expires})
	a.chans.Store(&out)
}

// fastTable maps a listener socket's clients to their allocations. The
// listener's reader looks up every ChannelData datagram; allocations are
// added by that reader and removed by whichever goroutine closes them.
type fastTable struct {
	mu sync.RWMutex
	m  map[netip.AddrPort]*fastAlloc
}

func (t *fastTable) get(client netip.AddrPort) *fastAlloc {
	t.mu.RLock()
	a := t.m[client]
	t.mu.RUnlock()

	return a
}

func (t *fastTable) add(a *fastAlloc) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[netip.AddrPort]*fastAlloc)
	}
	t.m[a.client] = a
}

func (t *fastTable) remove(a *fastAlloc) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[a.client] == a {
		delete(t.m, a.client)
	}
}

// pendingBind is the ChannelBind request pion is handling on a listener
// socket; pion answers it on the same goroutine before the next read.
type pendingBind struct {
	valid  bool
	tid    [stun.TransactionIDSize]byte
	client netip.AddrPort
	number uint16
	peer   netip.AddrPort
	readAt time.Time
}

func (c *gatedPacketConn) clearBind() {
	c.bindMu.Lock()
	c.bind.valid = false
	c.bindMu.Unlock()
}

// noteBind remembers an authenticated ChannelBind request that the gate
// passed to pion (m is the gate's decoded copy of it).
func (c *gatedPacketConn) noteBind(m *stun.Message, client netip.AddrPort, now time.Time) {
	if m.Type != stun.NewType(stun.MethodChannelBind, stun.ClassRequest) {
		return
	}
	num, err := m.Get(stun.AttrChannelNumber)
	if err != nil || len(num) < 2 {
		return
	}
	pv, err := m.Get(stun.AttrXORPeerAddress)
	if err != nil {
		return
	}
	ip, port, ok := decodeXORAddr(pv, m.TransactionID)
	if !ok {
		return
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return
	}
	c.bindMu.Lock()
	defer c.bindMu.Unlock()
	c.bind = pendingBind{
		valid: true, tid: m.TransactionID, client: client,
		number: binary.BigEndian.Uint16(num), peer: netip.AddrPortFrom(addr.Unmap(), uint16(port)), //nolint:gosec // 16-bit field.
		readAt: now,
	}
}

// noteBindResponse mirrors the binding when p is pion's success response to
// the pending ChannelBind. Other datagrams cost a two-byte compare.
func (c *gatedPacketConn) noteBindResponse(p []byte) {
	if len(p) < 20 || binary.BigEndian.Uint16(p[0:2]) != channelBindSuccess {
		return
	}
	c.bindMu.Lock()
	b := c.bind
	match := b.valid && bytes.Equal(p[8:20], b.tid[:])
	if match {
		c.bind.valid = false
	}
	c.bindMu.Unlock()
	if !match {
		return
	}
	if a := c.fast.get(b.client); a != nil {
		expires := b.readAt.Add(channelBindLifetime - fastBindMargin).UnixNano()
		a.bind(b.number, b.peer, expires, b.readAt.UnixNano())
	}
}

// forward relays a client's ChannelData on a mirrored channel from the
// allocation's relay socket and reports whether it did; false hands the
// datagram to pion. With q (the event loop's) the send is queued.
func (c *gatedPacketConn) forward(b []byte, client netip.AddrPort, q *sendQueue) bool {
	a := c.fast.get(client)
	if a == nil {
		return false
	}
	l := int(binary.BigEndian.Uint16(b[2:4]))
	if 4+l > len(b) {
		return false // pion drops it as malformed.
	}
	ch := a.byNumber(binary.BigEndian.Uint16(b[0:2]), time.Now().UnixNano())
	if ch == nil {
		return false
	}
	// Errors are counted by the relay socket (denied_peer, send_error), as
	// pion's path only logs them.
	_, _ = a.relay.writeTo(b[4:4+l], ch.peerUA, ch.peer, q)

	return true
}

// toClient wraps a peer's datagram, read into buf[4:4+n], as ChannelData
// on a mirrored channel and sends it to the client, or queues it on q;
// false hands it to pion.
func (a *fastAlloc) toClient(buf []byte, n int, peer netip.AddrPort, m *metrics, q *sendQueue) bool {
	ch := a.byPeer(peer, time.Now().UnixNano())
	if ch == nil {
		return false
	}
	binary.BigEndian.PutUint16(buf[0:2], ch.number)
	binary.BigEndian.PutUint16(buf[2:4], uint16(n)) //nolint:gosec // n <= MTU.
	end := 4 + n
	// pion pads ChannelData to 4 bytes on UDP too (allowed by RFC 8656
	// section 12.5); do the same so clients see one wire format.
	for end%4 != 0 {
		buf[end] = 0
		end++
	}
	if lc, ok := a.turn.(*loopConn); ok && q.add(lc, buf[:end], a.client) {
		return true
	}
	if _, err := a.turn.WriteToUDPAddrPort(buf[:end], a.client); err != nil {
		m.dropped.WithLabelValues("send_error").Inc()
	}

	return true
}
