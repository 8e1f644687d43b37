package turnserver

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.b.String()
}

// Debug logs of a busy relay, pion's included, must not carry passwords,
// shared secrets, derived REST passwords or usernames.
func TestLogsCarryNoSecrets(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug - 4}))
	cfg := loopbackConfig()
	cfg.Secrets = []string{"topsecret-shared"}
	cfg.Users = map[string]string{"staticuser": "staticpassword"}
	cfg.AllowPeers = []string{"127.0.0.1/32"}
	s := startServer(t, cfg, WithLogger(log))
	peer := echoPeer(t)

	restUser, restPass, err := GenerateCredentials("topsecret-shared", "restuser", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, relay := pionClient(t, s.Addrs().UDP, conn, restUser, restPass, cfg.Realm)
	roundTrip(t, relay, peer.LocalAddr())
	for _, c := range [][2]string{{"staticuser", "wrong"}, {restUser, "wrong"}, {"staticuser", "staticpassword"}} {
		raw := dialRaw(t, "udp", s.Addrs().UDP, c[0], c[1])
		raw.do(stun.MethodAllocate, udpTransport())
		raw.do(stun.MethodCreatePermission, peerAttr("10.0.0.1", 1))
	}
	out := buf.String()
	if !strings.Contains(out, "turn auth refused") {
		t.Fatalf("expected auth refusals in the debug log; got:\n%s", out)
	}
	for _, secret := range []string{"topsecret-shared", "staticpassword", restPass, "staticuser", "restuser"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q", secret)
		}
	}
}
