package turnserver

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// fastAllocOf returns the fast-path allocation the server's UDP listener
// holds for a client, or nil.
func fastAllocOf(s *Server, client net.Addr) *fastAlloc {
	ap := client.(*net.UDPAddr).AddrPort() //nolint:forcetypeassert // UDP.
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	for _, g := range s.gated {
		if a := g.fast.get(ap); a != nil {
			return a
		}
	}

	return nil
}

func channelData(num uint16, payload []byte) []byte {
	b := make([]byte, 4, 4+len(payload))
	binary.BigEndian.PutUint16(b[0:2], num)
	binary.BigEndian.PutUint16(b[2:4], uint16(len(payload))) //nolint:gosec // Small test payloads.
	return append(b, payload...)
}

// ChannelData on a bound channel is relayed both ways by the fast path
// (pion no longer sees it), still counted in the relayed metrics, with
// pion's wire format (4-byte padding); the mirror follows pion's bindings
// and goes away with the allocation.
func TestChannelDataFastPath(t *testing.T) {
	eachUDPMode(t, testChannelDataFastPath)
}

// eachUDPMode runs f with UDP sockets served by the event loop and, with
// DisableUDPLoop, by a goroutine each.
func eachUDPMode(t *testing.T, f func(t *testing.T, disableLoop bool)) {
	t.Helper()
	for _, mode := range []struct {
		name    string
		disable bool
	}{{"loop", false}, {"goroutine", true}} {
		t.Run(mode.name, func(t *testing.T) { f(t, mode.disable) })
	}
}

func testChannelDataFastPath(t *testing.T, disableLoop bool) {
	cfg := loopbackConfig()
	cfg.AllowPeers = []string{"127.0.0.1/32"}
	cfg.UDPSockets = 1
	cfg.DisableUDPLoop = disableLoop
	s := startServer(t, cfg)
	if got := len(s.loops); got != map[bool]int{false: 1, true: 0}[disableLoop] {
		t.Fatalf("%d event loops", got)
	}
	peer := echoPeer(t)
	pa := peer.LocalAddr().(*net.UDPAddr) //nolint:forcetypeassert // UDP.
	c := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
	if got := errCode(c.do(stun.MethodAllocate, udpTransport())); got != 200 {
		t.Fatalf("Allocate: %d", got)
	}
	a := fastAllocOf(s, c.conn.LocalAddr())
	if a == nil {
		t.Fatal("allocation not on the fast path")
	}
	if a.byNumber(0x4000, time.Now().UnixNano()) != nil {
		t.Fatal("channel mirrored before it was bound")
	}
	// A refused ChannelBind (peer denied by policy) is not mirrored.
	if got := errCode(c.do(stun.MethodChannelBind, channelAttr(0x4001), peerAttr("127.0.0.2", pa.Port))); got != 403 {
		t.Fatalf("ChannelBind to a denied peer: %d", got)
	}
	if got := errCode(c.do(stun.MethodChannelBind, channelAttr(0x4000), peerAttr(pa.IP.String(), pa.Port))); got != 200 {
		t.Fatalf("ChannelBind: %d", got)
	}
	now := time.Now().UnixNano()
	if a.byNumber(0x4001, now) != nil {
		t.Fatal("refused channel mirrored")
	}
	ch := a.byNumber(0x4000, now)
	if ch == nil || ch.peer != netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(pa.Port)) { //nolint:gosec // Port.
		t.Fatalf("bound channel not mirrored: %+v", ch)
	}
	if left := time.Duration(ch.expires - now); left > channelBindLifetime || left < channelBindLifetime-time.Minute {
		t.Fatalf("mirrored binding lives %v, want just under %v", left, channelBindLifetime)
	}

	toPeer := metricValue(t, s, "jingled_turn_relayed_packets_total", "direction", "to_peer")
	fromPeer := metricValue(t, s, "jingled_turn_relayed_packets_total", "direction", "from_peer")
	buf := make([]byte, 1600)
	for i, size := range []int{1, 4, 161, 1000} {
		payload := bytes.Repeat([]byte{byte(i + 1)}, size)
		if _, err := c.conn.Write(channelData(0x4000, payload)); err != nil {
			t.Fatal(err)
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.conn.Read(buf)
		if err != nil {
			t.Fatalf("size %d: no echo: %v", size, err)
		}
		got := buf[:n]
		if n%4 != 0 || n < 4+size {
			t.Fatalf("size %d: datagram of %d bytes, want padded to 4", size, n)
		}
		if num := binary.BigEndian.Uint16(got[0:2]); num != 0x4000 {
			t.Fatalf("channel %#x", num)
		}
		if l := int(binary.BigEndian.Uint16(got[2:4])); l != size || !bytes.Equal(got[4:4+l], payload) {
			t.Fatalf("size %d: echoed %d bytes, payload differs", size, l)
		}
	}
	if d := metricValue(t, s, "jingled_turn_relayed_packets_total", "direction", "to_peer") - toPeer; d != 4 {
		t.Fatalf("to_peer packets counted %v, want 4", d)
	}
	if d := metricValue(t, s, "jingled_turn_relayed_packets_total", "direction", "from_peer") - fromPeer; d != 4 {
		t.Fatalf("from_peer packets counted %v, want 4", d)
	}

	// A truncated frame (length field past the datagram) is not forwarded
	// by the fast path; pion drops it.
	bad := channelData(0x4000, []byte{1, 2, 3, 4})
	binary.BigEndian.PutUint16(bad[2:4], 100)
	if s.gated[0].forward(bad, a.client, nil) {
		t.Fatal("truncated ChannelData forwarded")
	}

	// Deleting the allocation removes it from the fast path.
	if got := errCode(c.do(stun.MethodRefresh, lifetimeAttr(0))); got != 200 {
		t.Fatalf("Refresh 0: %d", got)
	}
	eventually(t, "allocation gone from the fast path", func() bool { return fastAllocOf(s, c.conn.LocalAddr()) == nil })
}

// Bindings are mirrored copy-on-write: a rebind refreshes in place, expired
// ones are dropped, and lookups never see an expired binding.
func TestFastAllocBind(t *testing.T) {
	var a fastAlloc
	p1 := netip.MustParseAddrPort("192.0.2.1:1000")
	p2 := netip.MustParseAddrPort("192.0.2.2:2000")
	a.bind(0x4000, p1, 100, 0)
	a.bind(0x4001, p2, 50, 0)
	if c := a.byPeer(p2, 10); c == nil || c.number != 0x4001 {
		t.Fatalf("byPeer: %+v", c)
	}
	if a.byNumber(0x4001, 50) != nil {
		t.Fatal("expired binding returned")
	}
	a.bind(0x4000, p1, 300, 200) // refresh; 0x4001 has expired
	if cs := *a.chans.Load(); len(cs) != 1 || cs[0].expires != 300 {
		t.Fatalf("after refresh: %+v", cs)
	}
	if c := a.byNumber(0x4000, 250); c == nil || c.peerUA.Port != 1000 {
		t.Fatalf("refreshed binding: %+v", c)
	}
}

// The per-user bandwidth cap holds on the fast path: ChannelData on a bound
// channel is counted against the same bucket pion's path uses.
func TestChannelDataFastPathBandwidthCap(t *testing.T) {
	eachUDPMode(t, testChannelDataFastPathBandwidthCap)
}

func testChannelDataFastPathBandwidthCap(t *testing.T, disableLoop bool) {
	cfg := loopbackConfig()
	cfg.AllowPeers = []string{"127.0.0.1/32"}
	cfg.UDPSockets = 1
	cfg.DisableUDPLoop = disableLoop
	cfg.UserBandwidth = 1000 // bytes/s; the bucket still allows a 64 KiB burst.
	s := startServer(t, cfg)
	// A silent peer: only the client->peer direction meets the bucket.
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = peer.Close() })
	pa := peer.LocalAddr().(*net.UDPAddr) //nolint:forcetypeassert // UDP.
	c := boundClient(t, s, pa)
	if a := fastAllocOf(s, c.conn.LocalAddr()); a == nil || a.byNumber(0x4000, time.Now().UnixNano()) == nil {
		t.Fatal("channel not on the fast path")
	}
	frame := channelData(0x4000, make([]byte, 1000))
	for range 300 { // 300 kB, far past the burst.
		if _, err := c.conn.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "bandwidth drops", func() bool {
		return metricValue(t, s, "jingled_turn_dropped_total", "reason", "bandwidth") > 0
	})
	if sent := metricValue(t, s, "jingled_turn_relayed_bytes_total", "direction", "to_peer"); sent == 0 || sent > 100_000 {
		t.Fatalf("%v bytes relayed to the peer under a 1000 B/s cap, want the burst", sent)
	}
}
