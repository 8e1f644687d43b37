package turnserver

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

func TestRelayStaticUserUDP(t *testing.T) {
	cfg := loopbackConfig()
	cfg.AllowPeers = []string{"127.0.0.1/32"}
	s := startServer(t, cfg)
	peer := echoPeer(t)

	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, relay := pionClient(t, s.Addrs().UDP, conn, "alice", "wonderland", cfg.Realm)
	roundTrip(t, relay, peer.LocalAddr())

	if got := metricValue(t, s, "jingled_turn_relayed_packets_total", "direction", "to_peer"); got < 1 {
		t.Errorf("to_peer packets = %v, want >= 1", got)
	}
	if got := metricValue(t, s, "jingled_turn_relayed_packets_total", "direction", "from_peer"); got < 1 {
		t.Errorf("from_peer packets = %v, want >= 1", got)
	}
	if got := metricValue(t, s, "jingled_turn_allocations_open"); got != 1 {
		t.Errorf("allocations_open = %v, want 1", got)
	}
}

// roundTrip sends through the relay to the echo peer and waits for the echo.
func roundTrip(t *testing.T, relay net.PacketConn, peer net.Addr) {
	t.Helper()
	msg := []byte("hello through the relay")
	buf := make([]byte, 1600)
	for range 10 { // The first datagram may race the permission.
		if _, err := relay.WriteTo(msg, peer); err != nil {
			t.Fatalf("relay write: %v", err)
		}
		_ = relay.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, from, err := relay.ReadFrom(buf)
		if err != nil {
			continue
		}
		if !bytes.Equal(buf[:n], msg) || from.String() != peer.String() {
			t.Fatalf("got %q from %v, want %q from %v", buf[:n], from, msg, peer)
		}

		return
	}
	t.Fatal("no echo through the relay")
}

func TestRelaySharedSecretTCP(t *testing.T) {
	cfg := loopbackConfig()
	cfg.AllowPeers = []string{"127.0.0.1/32"}
	s := startServer(t, cfg)
	peer := echoPeer(t)

	user, pass, err := GenerateCredentials("s3cret", "romeo", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tc, err := net.Dial("tcp", s.Addrs().TCP.String())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	_, relay := pionClient(t, s.Addrs().TCP, turn.NewSTUNConn(tc), user, pass, cfg.Realm)
	roundTrip(t, relay, peer.LocalAddr())
}

func TestWrongPasswordIs401(t *testing.T) {
	s := startServer(t, loopbackConfig())
	for _, tc := range []struct{ name, user, pass string }{
		{"static user", "alice", "not-the-password"},
		{"unknown user", "mallory", "x"},
		{"rest bad hmac", "9999999999:romeo", "AAAA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, "udp", s.Addrs().UDP, tc.user, tc.pass)
			if got := errCode(c.do(stun.MethodAllocate, udpTransport())); got != 401 {
				t.Fatalf("Allocate with wrong credentials: code %d, want 401", got)
			}
		})
	}
	if got := metricValue(t, s, "jingled_turn_auth_total", "result", "bad_password"); got != 2 {
		t.Errorf("auth bad_password = %v, want 2", got)
	}
	if got := metricValue(t, s, "jingled_turn_auth_total", "result", "unknown_user"); got != 1 {
		t.Errorf("auth unknown_user = %v, want 1", got)
	}
}

func TestExpiredCredentialRefusedAtAllocateOnly(t *testing.T) {
	clock := newTestClock()
	s := startServer(t, loopbackConfig(), withClock(clock.now))
	user, pass, err := GenerateCredentials("s3cret", "romeo", time.Minute, clock.now())
	if err != nil {
		t.Fatal(err)
	}
	live := dialRaw(t, "udp", s.Addrs().UDP, user, pass)
	if got := errCode(live.do(stun.MethodAllocate, udpTransport())); got != 200 {
		t.Fatalf("Allocate with live credential: %d", got)
	}

	clock.advance(2 * time.Minute)

	late := dialRaw(t, "udp", s.Addrs().UDP, user, pass)
	if got := errCode(late.do(stun.MethodAllocate, udpTransport())); got != 401 {
		t.Fatalf("Allocate with expired credential: code %d, want 401", got)
	}
	// The call that allocated before expiry goes on.
	if got := errCode(live.do(stun.MethodRefresh, lifetimeAttr(600))); got != 200 {
		t.Fatalf("Refresh of a live allocation after expiry: code %d, want 200", got)
	}
	if got := metricValue(t, s, "jingled_turn_auth_total", "result", "expired"); got != 1 {
		t.Errorf("auth expired = %v, want 1", got)
	}
}

func TestSecretRotationAcceptsEverySecret(t *testing.T) {
	cfg := loopbackConfig()
	cfg.Secrets = []string{"new-secret", "old-secret"}
	s := startServer(t, cfg)
	for _, secret := range cfg.Secrets {
		user, pass, err := GenerateCredentials(secret, "", time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		c := dialRaw(t, "udp", s.Addrs().UDP, user, pass)
		if got := errCode(c.do(stun.MethodAllocate, udpTransport())); got != 200 {
			t.Errorf("Allocate with %s: code %d", secret, got)
		}
	}
}

func TestPeerPolicyOnTheWire(t *testing.T) {
	s := startServer(t, loopbackConfig())
	c := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
	if got := errCode(c.do(stun.MethodAllocate, udpTransport())); got != 200 {
		t.Fatalf("Allocate: %d", got)
	}
	for _, tc := range []struct {
		name   string
		method stun.Method
		attrs  []stun.Setter
		want   int
	}{
		{"loopback permission", stun.MethodCreatePermission, []stun.Setter{peerAttr("127.0.0.1", 5000)}, 403},
		{"metadata permission", stun.MethodCreatePermission, []stun.Setter{peerAttr("169.254.169.254", 80)}, 403},
		{"rfc1918 permission", stun.MethodCreatePermission, []stun.Setter{peerAttr("10.1.2.3", 80)}, 403},
		{"unspecified permission", stun.MethodCreatePermission, []stun.Setter{peerAttr("0.0.0.0", 80)}, 403},
		{"mapped loopback permission", stun.MethodCreatePermission, []stun.Setter{peerAttr("::ffff:127.0.0.1", 80)}, 403},
		{"second peer denied", stun.MethodCreatePermission, []stun.Setter{peerAttr("192.0.32.10", 80), peerAttr("127.0.0.1", 80)}, 403},
		{"loopback channel", stun.MethodChannelBind, []stun.Setter{channelAttr(0x4000), peerAttr("127.0.0.1", 5000)}, 403},
		{"public permission", stun.MethodCreatePermission, []stun.Setter{peerAttr("192.0.32.10", 80)}, 200},
		{"public channel", stun.MethodChannelBind, []stun.Setter{channelAttr(0x4001), peerAttr("192.0.32.10", 80)}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errCode(c.do(tc.method, tc.attrs...)); got != tc.want {
				t.Fatalf("code %d, want %d", got, tc.want)
			}
		})
	}
	if got := metricValue(t, s, "jingled_turn_denied_peers_total", "reason", "loopback"); got != 4 {
		t.Errorf("denied loopback = %v, want 4", got)
	}
}

func TestPeerAllowedWhenConfigured(t *testing.T) {
	cfg := loopbackConfig()
	cfg.AllowPeers = []string{"127.0.0.1"}
	s := startServer(t, cfg)
	c := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
	if got := errCode(c.do(stun.MethodAllocate, udpTransport())); got != 200 {
		t.Fatalf("Allocate: %d", got)
	}
	if got := errCode(c.do(stun.MethodCreatePermission, peerAttr("127.0.0.1", 5000))); got != 200 {
		t.Fatalf("CreatePermission to allowed loopback: %d", got)
	}
	if got := errCode(c.do(stun.MethodCreatePermission, peerAttr("127.0.0.2", 5000))); got != 403 {
		t.Fatalf("CreatePermission to 127.0.0.2 (not allowed): %d", got)
	}
}

func TestQuotaIs486(t *testing.T) {
	cfg := loopbackConfig()
	cfg.MaxAllocationsPerUser = 1
	cfg.MaxAllocations = 2
	s := startServer(t, cfg)

	first := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
	if got := errCode(first.do(stun.MethodAllocate, udpTransport())); got != 200 {
		t.Fatalf("first Allocate: %d", got)
	}
	second := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
	if got := errCode(second.do(stun.MethodAllocate, udpTransport())); got != 486 {
		t.Fatalf("second Allocate of the same user: code %d, want 486", got)
	}
	u, p, _ := GenerateCredentials("s3cret", "bob", time.Hour, time.Now())
	bob := dialRaw(t, "udp", s.Addrs().UDP, u, p)
	if got := errCode(bob.do(stun.MethodAllocate, udpTransport())); got != 200 {
		t.Fatalf("other user's Allocate: %d", got)
	}
	u, p, _ = GenerateCredentials("s3cret", "carol", time.Hour, time.Now())
	carol := dialRaw(t, "udp", s.Addrs().UDP, u, p)
	if got := errCode(carol.do(stun.MethodAllocate, udpTransport())); got != 486 {
		t.Fatalf("Allocate beyond the total: code %d, want 486", got)
	}
	// Freeing one (Refresh with lifetime 0) makes room again.
	if got := errCode(first.do(stun.MethodRefresh, lifetimeAttr(0))); got != 200 {
		t.Fatalf("deallocate: %d", got)
	}
	eventually(t, "deallocation", func() bool { return s.AllocationCount() == 1 })
	if got := errCode(second.do(stun.MethodAllocate, udpTransport())); got != 200 {
		t.Fatalf("Allocate after freeing: %d", got)
	}
	if got := metricValue(t, s, "jingled_turn_quota_rejections_total"); got != 2 {
		t.Errorf("quota rejections = %v, want 2", got)
	}
}

func TestPermissionCapIs508(t *testing.T) {
	cfg := loopbackConfig()
	cfg.MaxPermissionsPerAllocation = 2
	s := startServer(t, cfg)
	c := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
	if got := errCode(c.do(stun.MethodAllocate, udpTransport())); got != 200 {
		t.Fatalf("Allocate: %d", got)
	}
	if got := errCode(c.do(stun.MethodCreatePermission, peerAttr("192.0.32.10", 1), peerAttr("192.0.32.11", 1))); got != 200 {
		t.Fatalf("two permissions: %d", got)
	}
	if got := errCode(c.do(stun.MethodCreatePermission, peerAttr("192.0.32.12", 1))); got != 508 {
		t.Fatalf("third permission: code %d, want 508", got)
	}
}

func TestAuthFailuresAreRateLimited(t *testing.T) {
	cfg := loopbackConfig()
	cfg.AuthFailuresPerMinute = 3
	s := startServer(t, cfg)
	c := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wrong")
	for i := range 3 {
		if got := errCode(c.do(stun.MethodAllocate, udpTransport())); got != 401 {
			t.Fatalf("failure %d: code %d, want 401", i, got)
		}
	}
	c.send(c.build(stun.MethodAllocate, true, udpTransport()))
	eventually(t, "rate-limit drop", func() bool {
		return metricValue(t, s, "jingled_turn_auth_total", "result", "rate_limited") == 1
	})
	// Even the right password from that source is dropped for the minute.
	good := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
	good.conn = c.conn
	good.nonce, good.realm = c.nonce, c.realm
	good.send(good.build(stun.MethodAllocate, true, udpTransport()))
	eventually(t, "second rate-limit drop", func() bool {
		return metricValue(t, s, "jingled_turn_auth_total", "result", "rate_limited") == 2
	})
	if m, err := c.recv(50 * time.Millisecond); !errors.Is(err, errNoResponse) {
		t.Fatalf("rate-limited request was answered: %v %v", m, err)
	}
}

func TestMalformedInputDoesNotStopServing(t *testing.T) {
	s := startServer(t, loopbackConfig())
	c := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
	junk := [][]byte{
		{},
		{0x00, 0x01},
		{0x40, 0x00, 0xff, 0xff, 1, 2}, // ChannelData, lying length
		append([]byte{0x00, 0x03, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42}, make([]byte, 20)...), // Allocate, bad attrs
		bytes.Repeat([]byte{0xff}, 1500),
	}
	for _, j := range junk {
		if _, err := c.conn.Write(j); err != nil {
			t.Fatal(err)
		}
	}
	bind, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	c.send(bind)
	var m *stun.Message
	for m == nil || m.TransactionID != bind.TransactionID {
		if m, err = c.recv(2 * time.Second); err != nil {
			t.Fatalf("binding after junk: %v", err)
		}
	}
	var xor stun.XORMappedAddress
	if err := xor.GetFrom(m); err != nil || xor.String() != c.conn.LocalAddr().String() {
		t.Fatalf("binding answer %v %v (%v), want %v", m.Type, xor, err, c.conn.LocalAddr())
	}
	// Over TCP, a stream that is neither STUN nor ChannelData is cut.
	tc := dialRaw(t, "tcp", s.Addrs().TCP, "alice", "wonderland")
	if _, err := tc.conn.Write([]byte{0xC0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.recv(2 * time.Second); err == nil || errors.Is(err, errNoResponse) {
		t.Fatalf("junk TCP stream: got %v, want the connection closed", err)
	}
}

func TestShutdownDrainsAllocations(t *testing.T) {
	cfg := loopbackConfig()
	s := startServer(t, cfg)
	c := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
	if got := errCode(c.do(stun.MethodAllocate, udpTransport())); got != 200 {
		t.Fatalf("Allocate: %d", got)
	}
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	eventually(t, "draining", func() bool { return s.gate.draining.Load() })

	other := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
	if got := errCode(other.do(stun.MethodAllocate, udpTransport())); got != 508 {
		t.Fatalf("Allocate while draining: code %d, want 508", got)
	}
	// The open allocation still works while draining.
	if got := errCode(c.do(stun.MethodRefresh, lifetimeAttr(600))); got != 200 {
		t.Fatalf("Refresh while draining: %d", got)
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned with an allocation open: %v", err)
	default:
	}
	if got := errCode(c.do(stun.MethodRefresh, lifetimeAttr(0))); got != 200 {
		t.Fatalf("deallocate: %d", got)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := s.Shutdown(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Shutdown: %v, want ErrClosed", err)
	}
}

func TestShutdownGraceEnds(t *testing.T) {
	cfg := loopbackConfig()
	s := startServer(t, cfg)
	c := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
	if got := errCode(c.do(stun.MethodAllocate, udpTransport())); got != 200 {
		t.Fatalf("Allocate: %d", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with a done context: %v", err)
	}
	eventually(t, "allocations closed", func() bool { return s.AllocationCount() == 0 })
}

func TestMetricsCarryNoUserData(t *testing.T) {
	cfg := loopbackConfig()
	cfg.AllowPeers = []string{"127.0.0.1/32"}
	cfg.Users["verysecretname"] = "pw"
	s := startServer(t, cfg)
	peer := echoPeer(t)
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, relay := pionClient(t, s.Addrs().UDP, conn, "verysecretname", "pw", cfg.Realm)
	roundTrip(t, relay, peer.LocalAddr())
	bad := dialRaw(t, "udp", s.Addrs().UDP, "verysecretname", "wrong")
	bad.do(stun.MethodAllocate, udpTransport())

	text := allMetricText(t, s)
	for _, leak := range []string{"verysecretname", "s3cret", "127.0.0.1", conn.LocalAddr().String()} {
		if strings.Contains(text, leak) {
			t.Errorf("metrics contain %q", leak)
		}
	}
}

func TestCloseReleasesRelaySockets(t *testing.T) {
	cfg := loopbackConfig()
	cfg.RelayPortMin, cfg.RelayPortMax = 47000, 47000
	s, err := New(cfg, WithEphemeralPorts(), WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
	if got := errCode(c.do(stun.MethodAllocate, udpTransport())); got != 200 {
		t.Fatalf("Allocate: %d", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:47000")
	if err != nil {
		t.Fatalf("relay port still bound after Close: %v", err)
	}
	_ = pc.Close()
}

func TestUserBandwidthCapDrops(t *testing.T) {
	cfg := loopbackConfig()
	cfg.AllowPeers = []string{"127.0.0.1/32"}
	cfg.UserBandwidth = 1000 // bytes/s; the bucket still allows a 64 KiB burst.
	s := startServer(t, cfg)
	peer := echoPeer(t)
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, relay := pionClient(t, s.Addrs().UDP, conn, "alice", "wonderland", cfg.Realm)
	roundTrip(t, relay, peer.LocalAddr())
	payload := make([]byte, 1000)
	for range 300 { // 300 kB, far past the burst.
		if _, err := relay.WriteTo(payload, peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "bandwidth drops", func() bool {
		return metricValue(t, s, "jingled_turn_dropped_total", "reason", "bandwidth") > 0
	})
	if sent := metricValue(t, s, "jingled_turn_relayed_bytes_total", "direction", "to_peer"); sent > 100_000 {
		t.Fatalf("%v bytes relayed to the peer under a 1000 B/s cap", sent)
	}
}

// EVEN-PORT with R bit, then RESERVATION-TOKEN from another client port,
// which with several SO_REUSEPORT sockets may reach another listener socket.
func TestEvenPortReservationAcrossSockets(t *testing.T) {
	cfg := loopbackConfig()
	cfg.UDPSockets = 4
	s := startServer(t, cfg)
	for i := range 4 { // Several rounds: new client ports hash to various sockets.
		rtp := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
		m := rtp.do(stun.MethodAllocate, udpTransport(), stunRawAttr{stun.AttrEvenPort, []byte{0x80}})
		if got := errCode(m); got != 200 {
			t.Fatalf("round %d: EVEN-PORT Allocate: %d", i, got)
		}
		var relayed stun.XORMappedAddress
		if err := relayed.GetFromAs(m, stun.AttrXORRelayedAddress); err != nil {
			t.Fatal(err)
		}
		token, err := m.Get(stun.AttrReservationToken)
		if err != nil {
			t.Fatalf("no RESERVATION-TOKEN: %v", err)
		}
		if relayed.Port%2 != 0 {
			t.Fatalf("EVEN-PORT gave port %d", relayed.Port)
		}
		rtcp := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
		m = rtcp.do(stun.MethodAllocate, udpTransport(), stunRawAttr{stun.AttrReservationToken, token})
		if got := errCode(m); got != 200 {
			t.Fatalf("round %d: Allocate with the token: %d", i, got)
		}
		var second stun.XORMappedAddress
		if err := second.GetFromAs(m, stun.AttrXORRelayedAddress); err != nil {
			t.Fatal(err)
		}
		if second.Port != relayed.Port+1 {
			t.Fatalf("reserved port %d, want %d", second.Port, relayed.Port+1)
		}
		// A token works once.
		again := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
		if got := errCode(again.do(stun.MethodAllocate, udpTransport(), stunRawAttr{stun.AttrReservationToken, token})); got != 508 {
			t.Fatalf("reused token: %d, want 508", got)
		}
	}
}

// RFC 6062: a TCP allocation's Connect is checked per address and port.
func TestTCPConnectPolicy(t *testing.T) {
	cfg := loopbackConfig()
	s := startServer(t, cfg)
	c := dialRaw(t, "tcp", s.Addrs().TCP, "alice", "wonderland")
	tcpTransport := stunRawAttr{stun.AttrRequestedTransport, []byte{6, 0, 0, 0}}
	if got := errCode(c.do(stun.MethodAllocate, tcpTransport)); got != 200 {
		t.Fatalf("TCP Allocate: %d", got)
	}
	for _, peer := range []string{"127.0.0.1", "169.254.169.254", "::ffff:10.0.0.1", "64:ff9b::7f00:1"} {
		if got := errCode(c.do(stun.MethodConnect, peerAttr(peer, 22))); got != 403 {
			t.Errorf("Connect to %s: code %d, want 403", peer, got)
		}
	}
	if got := metricValue(t, s, "jingled_turn_denied_peers_total"); got != 4 {
		t.Errorf("denied peers = %v, want 4", got)
	}
}

func TestUpdateCredentialsRotatesWithoutDroppingCalls(t *testing.T) {
	clock := newTestClock()
	cfg := loopbackConfig()
	cfg.Secrets = []string{"old"}
	s := startServer(t, cfg, withClock(clock.now))
	u, p, _ := GenerateCredentials("old", "romeo", time.Minute, clock.now())
	call := dialRaw(t, "udp", s.Addrs().UDP, u, p)
	if got := errCode(call.do(stun.MethodAllocate, udpTransport())); got != 200 {
		t.Fatalf("Allocate with the old secret: %d", got)
	}
	// Step 1: add the new secret next to the old one.
	if err := s.UpdateCredentials(cfg.Users, []string{"new", "old"}); err != nil {
		t.Fatal(err)
	}
	nu, np, _ := GenerateCredentials("new", "juliet", time.Hour, clock.now())
	fresh := dialRaw(t, "udp", s.Addrs().UDP, nu, np)
	if got := errCode(fresh.do(stun.MethodAllocate, udpTransport())); got != 200 {
		t.Fatalf("Allocate with the new secret: %d", got)
	}
	// Step 3: drop the old secret after the credential TTL.
	clock.advance(2 * time.Minute)
	if err := s.UpdateCredentials(cfg.Users, []string{"new"}); err != nil {
		t.Fatal(err)
	}
	late := dialRaw(t, "udp", s.Addrs().UDP, u, p)
	if got := errCode(late.do(stun.MethodAllocate, udpTransport())); got != 401 {
		t.Fatalf("Allocate with the removed secret: %d, want 401", got)
	}
	// The call allocated with the old secret goes on: its allocation's key
	// stays good for its own requests.
	if got := errCode(call.do(stun.MethodRefresh, lifetimeAttr(600))); got != 200 {
		t.Fatalf("Refresh of the call made with the removed secret: %d, want 200", got)
	}
	if got := errCode(call.do(stun.MethodCreatePermission, peerAttr("192.0.32.10", 1))); got != 200 {
		t.Fatalf("CreatePermission of that call: %d, want 200", got)
	}
	// But that key opens nothing new: another client port with it is refused.
	other := dialRaw(t, "udp", s.Addrs().UDP, u, p)
	if got := errCode(other.do(stun.MethodRefresh, lifetimeAttr(600))); got == 200 {
		t.Fatal("Refresh without an allocation succeeded")
	}
	if err := s.UpdateCredentials(nil, nil); err == nil {
		t.Fatal("empty credentials accepted")
	}
}

func TestIdleUnauthenticatedTCPIsClosed(t *testing.T) {
	defer func(d time.Duration) { unauthTimeout = d }(unauthTimeout)
	unauthTimeout = 2 * time.Second // Generous: the Allocate below must beat it under -race on a busy machine.
	s := startServer(t, loopbackConfig())

	idle := dialRaw(t, "tcp", s.Addrs().TCP, "alice", "wonderland")
	if _, err := idle.recv(20 * time.Second); err == nil || errors.Is(err, errNoResponse) {
		t.Fatalf("idle unauthenticated connection: %v, want it closed", err)
	}
	// An authenticated one may idle past the timeout and still refresh.
	c := dialRaw(t, "tcp", s.Addrs().TCP, "alice", "wonderland")
	if got := errCode(c.do(stun.MethodAllocate, udpTransport())); got != 200 {
		t.Fatalf("Allocate: %d", got)
	}
	time.Sleep(2 * unauthTimeout)
	if got := errCode(c.do(stun.MethodRefresh, lifetimeAttr(600))); got != 200 {
		t.Fatalf("Refresh after idling: %d", got)
	}
}

func TestIPv6Loopback(t *testing.T) {
	cfg := loopbackConfig()
	cfg.Address = "::1"
	cfg.AllowPeers = []string{"::1"}
	s, err := New(cfg, WithEphemeralPorts(), WithLogger(testLogger(t)))
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	peer, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := peer.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = peer.WriteTo(buf[:n], from)
		}
	}()
	t.Cleanup(func() { _ = peer.Close(); <-done })
	conn, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, relay := pionClient(t, s.Addrs().UDP, conn, "alice", "wonderland", cfg.Realm)
	if ra := relay.LocalAddr().(*net.UDPAddr); !ra.IP.Equal(net.IPv6loopback) { //nolint:forcetypeassert // UDP.
		t.Fatalf("relayed address %v, want [::1]", ra)
	}
	roundTrip(t, relay, peer.LocalAddr())
	// ::ffff:127.0.0.1 is loopback too, but not the allowed ::1: refused.
	c := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
	if got := errCode(c.do(stun.MethodAllocate, udpTransport())); got != 200 {
		t.Fatalf("Allocate: %d", got)
	}
	if got := errCode(c.do(stun.MethodCreatePermission, peerAttr("::ffff:127.0.0.1", 1))); got != 403 {
		t.Fatalf("mapped loopback: %d, want 403", got)
	}
}

// 1:1 NAT (cloud VMs): relay sockets bind the private address and the
// public one is advertised; the public one counts as our own address.
func TestExternalIPAdvertised(t *testing.T) {
	cfg := loopbackConfig()
	cfg.ExternalIP = "203.0.113.10"
	s := startServer(t, cfg)
	c := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
	m := c.do(stun.MethodAllocate, udpTransport())
	if got := errCode(m); got != 200 {
		t.Fatalf("Allocate: %d", got)
	}
	var relayed stun.XORMappedAddress
	if err := relayed.GetFromAs(m, stun.AttrXORRelayedAddress); err != nil {
		t.Fatal(err)
	}
	if !relayed.IP.Equal(net.ParseIP("203.0.113.10")) || relayed.Port < cfg.RelayPortMin || relayed.Port > cfg.RelayPortMax {
		t.Fatalf("relayed %v, want 203.0.113.10 in %d-%d", relayed, cfg.RelayPortMin, cfg.RelayPortMax)
	}
	// The relay socket really is bound on the private address.
	if pc, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(relayed.Port))); err == nil {
		_ = pc.Close()
		t.Fatalf("relay port %d not bound on 127.0.0.1", relayed.Port)
	}
	// Our public address is reachable as a peer only on relay ports.
	if got := s.gate.policy.CheckAddr(net.ParseIP("203.0.113.10"), 22); got != DenySelf {
		t.Fatalf("own public address port 22: %q, want self", got)
	}
	if got := s.gate.policy.CheckAddr(net.ParseIP("203.0.113.10"), relayed.Port); got != DenyNone {
		t.Fatalf("own public address relay port: %q", got)
	}
}

// RFC 8656 sections 7.2 and 7.3: lifetime = max(600, min(requested, 3600)).
func TestLifetimeClamp(t *testing.T) {
	s := startServer(t, loopbackConfig())
	lifetimeOf := func(m *stun.Message) time.Duration {
		t.Helper()
		v, err := m.Get(stun.AttrLifetime)
		if err != nil || len(v) != 4 {
			t.Fatalf("no LIFETIME in %v (code %d)", m.Type, errCode(m))
		}

		return time.Duration(uint32(v[0])<<24|uint32(v[1])<<16|uint32(v[2])<<8|uint32(v[3])) * time.Second
	}
	for _, tc := range []struct {
		requested uint32
		min, max  time.Duration
	}{
		{5, 600 * time.Second, 600 * time.Second},      // Too short: the default.
		{900, 900 * time.Second, 900 * time.Second},    // In range: as asked.
		{7200, 3599 * time.Second, 3600 * time.Second}, // Too long: the maximum (less a second, see clampLifetime).
	} {
		c := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
		m := c.do(stun.MethodAllocate, udpTransport(), lifetimeAttr(tc.requested))
		if got := lifetimeOf(m); got < tc.min || got > tc.max {
			t.Errorf("Allocate asking %ds: lifetime %v, want %v..%v", tc.requested, got, tc.min, tc.max)
		}
		m = c.do(stun.MethodRefresh, lifetimeAttr(tc.requested))
		if got := lifetimeOf(m); got < tc.min || got > tc.max {
			t.Errorf("Refresh asking %ds: lifetime %v, want %v..%v", tc.requested, got, tc.min, tc.max)
		}
	}
}
