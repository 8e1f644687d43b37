package turnserver

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// tlsTestConfig is loopbackConfig with TLS on (a fresh certificate for
// 127.0.0.1, returned as certFile) that may relay to loopback peers.
func tlsTestConfig(t *testing.T) (cfg Config, certFile string) {
	t.Helper()
	certFile, keyFile := writeTestCert(t, t.TempDir(), 1)
	cfg = loopbackConfig()
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	cfg.AllowPeers = []string{"127.0.0.1/32"}

	return cfg, certFile
}

// trustingClient returns a TLS client configuration that trusts only the
// test certificate in certFile, as a deployment trusts its CA: the
// certificate is verified, never skipped.
func trustingClient(t *testing.T, certFile string) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in", certFile)
	}

	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// allocateOverTLS allocates with pion's client over a verified TLS
// connection to addr and relays a round trip to peer.
func allocateOverTLS(t *testing.T, addr net.Addr, tc *tls.Config, cfg Config, peer net.Addr) {
	t.Helper()
	conn, err := tlsDial(addr, tc)
	if err != nil {
		t.Fatalf("TLS to %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_, relay := pionClient(t, addr, turn.NewSTUNConn(conn), "alice", "wonderland", cfg.Realm)
	roundTrip(t, relay, peer)
}

// TestTLSPortServesTLSAndTCP: with tls_port equal to port (what an
// operator sets for "443 only"), one TCP listener serves TURN over TLS and
// plain TURN over TCP; pion's client allocates and relays over each, and
// the connections are counted by what they carried.
func TestTLSPortServesTLSAndTCP(t *testing.T) {
	cfg, certFile := tlsTestConfig(t)
	cfg.Port, cfg.TLSPort = 443, 443
	s := startServer(t, cfg)
	a := s.Addrs()
	if a.TLS == nil || a.TCP == nil || a.TLS.String() != a.TCP.String() {
		t.Fatalf("TLS listener %v, TCP %v: want one shared listener", a.TLS, a.TCP)
	}
	if a.TLS.(*net.TCPAddr).Port != a.UDP.(*net.UDPAddr).Port { //nolint:forcetypeassert // TCP and UDP listeners.
		t.Fatalf("TLS port %v is not the UDP port %v", a.TLS, a.UDP)
	}
	peer := echoPeer(t)

	allocateOverTLS(t, a.TLS, trustingClient(t, certFile), cfg, peer.LocalAddr())

	plain, err := net.Dial("tcp", a.TLS.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = plain.Close() })
	_, relay := pionClient(t, a.TLS, turn.NewSTUNConn(plain), "alice", "wonderland", cfg.Realm)
	roundTrip(t, relay, peer.LocalAddr())

	for _, tr := range []string{transportTLS, transportTCP} {
		if n := metricValue(t, s, "jingled_turn_stream_connections_total", "transport", tr); n != 1 {
			t.Errorf("stream_connections_total{transport=%q} = %v, want 1", tr, n)
		}
	}
	if n := metricValue(t, s, "jingled_turn_allocations_total"); n != 2 {
		t.Errorf("allocations_total = %v, want 2", n)
	}
}

// TestTLSPortRefusesPlainWithDisableTCP: disable_tcp means no unencrypted
// TURN over TCP anywhere, the TLS port included; TLS still works there.
func TestTLSPortRefusesPlainWithDisableTCP(t *testing.T) {
	cfg, certFile := tlsTestConfig(t)
	cfg.DisableTCP = true
	s := startServer(t, cfg)
	if s.Addrs().TCP != nil {
		t.Fatalf("plain TCP listener %v with disable_tcp", s.Addrs().TCP)
	}
	c := dialRaw(t, "tcp", s.Addrs().TLS, "alice", "wonderland")
	c.send(c.build(stun.MethodAllocate, false, udpTransport()))
	if m, err := c.recv(5 * time.Second); err == nil {
		t.Fatalf("plain TURN on the TLS port answered with disable_tcp: %v", m)
	}
	if n := metricValue(t, s, "jingled_turn_stream_connections_total", "transport", transportTCP); n != 0 {
		t.Errorf("a refused plain connection was counted as tcp: %v", n)
	}
	allocateOverTLS(t, s.Addrs().TLS, trustingClient(t, certFile), cfg, echoPeer(t).LocalAddr())
}

// TestTLSListenerOn443 binds the real port 443 (root only; `make test`
// runs as root in a namespace of its own) and allocates over TLS there,
// the certificate verified: the listener a "443 only" network reaches.
func TestTLSListenerOn443(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("binding 443 needs root (or CAP_NET_BIND_SERVICE)")
	}
	cfg, certFile := tlsTestConfig(t)
	cfg.TLSPort = 443
	cfg.Port = freeTCPAndUDPPort(t)
	s, err := New(cfg, WithLogger(testLogger(t)))
	if errors.Is(err, syscall.EADDRINUSE) {
		t.Skipf("port 443 is taken on this machine's loopback: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if got := s.Addrs().TLS.String(); got != "127.0.0.1:443" {
		t.Fatalf("TLS listener on %s, want 127.0.0.1:443", got)
	}
	allocateOverTLS(t, s.Addrs().TLS, trustingClient(t, certFile), cfg, echoPeer(t).LocalAddr())
	if n := metricValue(t, s, "jingled_turn_stream_connections_total", "transport", transportTLS); n != 1 {
		t.Errorf("stream_connections_total{transport=tls} = %v, want 1", n)
	}
}

func tlsDial(addr net.Addr, tc *tls.Config) (*tls.Conn, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: tc}
	c, err := d.Dial("tcp", addr.String())
	if err != nil {
		return nil, err //nolint:wrapcheck // Test helper.
	}

	return c.(*tls.Conn), nil //nolint:forcetypeassert // tls.Dialer returns one.
}

// freeTCPAndUDPPort returns a port free for both TCP and UDP on 127.0.0.1.
func freeTCPAndUDPPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port //nolint:forcetypeassert // TCP.
		pc, err := net.ListenPacket("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		_ = ln.Close()
		if err == nil {
			_ = pc.Close()

			return port
		}
	}
	t.Fatal("no port free for TCP and UDP")

	return 0
}
