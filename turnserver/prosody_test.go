package turnserver_test

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/pion/turn/v5"

	"github.com/jingled/jingled/internal/prosodytest"
	"github.com/jingled/jingled/turnserver"
)

// TestProsodyTurnExternal is the XMPP integration: a real Prosody with
// mod_turn_external shares a secret with our relay; a client asks Prosody
// for external services (XEP-0215) through our XMPP layer, gets time-limited
// credentials, and allocates with them on our relay over UDP and TCP.
// The Prosody side of this is what docs/DEPLOY.md tells self-hosters to
// write in prosody.cfg.lua.
func TestProsodyTurnExternal(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no Prosody")
	}
	const secret = "prosody-shared-secret"
	relay, err := turnserver.New(turnserver.Config{
		Address:      "127.0.0.1",
		Realm:        "localhost",
		Secrets:      []string{"rotated-in-next", secret},
		UDPSockets:   2,
		RelayPortMin: 40000, RelayPortMax: 49999,
		AllowPeers: []string{"127.0.0.1/32"}, // The echo peer below.
	}, turnserver.WithEphemeralPorts())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = relay.Close() })
	port := relay.Addrs().UDP.(*net.UDPAddr).Port //nolint:forcetypeassert // UDP.

	res := turnserver.ProsodyServices(t, prosodytest.WithTURNExternal(prosodytest.TURNExternal{
		Secret: secret, Host: "127.0.0.1", Port: port, TTL: time.Hour, TCP: true,
	}))
	peer := echoPeer(t)
	seen := map[string]bool{}
	for _, s := range res.Servers {
		if s.Type != "turn" {
			continue
		}
		t.Logf("XEP-0215 %s (expires %s)", s.URL, s.Expires.Format(time.RFC3339))
		exp, _, err := turnserver.ParseRESTUsername(s.Username)
		if err != nil {
			t.Fatalf("username %q from Prosody: %v", s.Username, err)
		}
		if d := time.Until(exp); d < 50*time.Minute || d > 61*time.Minute {
			t.Errorf("credential expires in %v, want about the 1h TTL", d)
		}
		transport := s.Transport
		if transport == "" {
			transport = "udp"
		}
		addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
		var conn net.PacketConn
		switch transport {
		case "udp":
			conn, err = net.ListenPacket("udp4", "127.0.0.1:0")
		case "tcp":
			var tc net.Conn
			tc, err = net.Dial("tcp", addr)
			if err == nil {
				conn = turn.NewSTUNConn(tc)
			}
		default:
			t.Fatalf("transport %q", transport)
		}
		if err != nil {
			t.Fatal(err)
		}
		allocateAndEcho(t, addr, conn, s.Username, s.Credential, peer)
		_ = conn.Close()
		seen[transport] = true
	}
	if !seen["udp"] || !seen["tcp"] {
		t.Fatalf("relayed over %v, want udp and tcp (servers %+v, skipped %+v)", seen, res.Servers, res.Skipped)
	}
}

func allocateAndEcho(t *testing.T, addr string, conn net.PacketConn, user, pass string, peer net.PacketConn) {
	t.Helper()
	cl, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn, Username: user, Password: pass,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Listen(); err != nil {
		t.Fatal(err)
	}
	rc, err := cl.Allocate()
	if err != nil {
		t.Fatalf("Allocate with Prosody's credentials: %v", err)
	}
	defer rc.Close()
	buf := make([]byte, 1500)
	for range 10 {
		if _, err := rc.WriteTo([]byte("romeo?"), peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		_ = rc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if n, _, err := rc.ReadFrom(buf); err == nil && string(buf[:n]) == "romeo?" {
			return
		}
	}
	t.Fatal("no echo through the relay")
}

func echoPeer(t *testing.T) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); <-done })

	return pc
}
