package turnserver

import (
	"context"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// coturn's own test client and peer (Debian package coturn) against our
// relay: the wire-compatibility check that matters to self-hosters
// replacing coturn. A missing binary fails the test with an install hint,
// except under -short (make test-unit), which runs no external programs.

const coturnHint = "install Debian package coturn (make deps) for turnutils_uclient and turnutils_peer"

func needCoturn(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no external programs")
	}
	for _, bin := range []string{"turnutils_uclient", "turnutils_peer"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: %s", bin, coturnHint)
		}
	}
}

// startCoturnPeer runs turnutils_peer (a UDP echo peer) on loopback.
func startCoturnPeer(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port //nolint:forcetypeassert // UDP.
	_ = pc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "turnutils_peer", "-L", "127.0.0.1", "-p", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })

	return port
}

var (
	lostRe  = regexp.MustCompile(`Total lost packets (\d+) \(`)
	bytesRe = regexp.MustCompile(`tot_send_bytes ~ (\d+), tot_recv_bytes ~ (\d+)`)
)

// uclientResult runs turnutils_uclient and returns sent and received bytes
// and lost packets as it reports them.
func runUclient(t *testing.T, args ...string) (sent, recv, lost int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "turnutils_uclient", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("turnutils_uclient %v: %v\n%s", args, err, out)
	}
	// Progress lines come first; the totals are the last match.
	lms := lostRe.FindAllSubmatch(out, -1)
	bms := bytesRe.FindAllSubmatch(out, -1)
	if lms == nil || bms == nil {
		t.Fatalf("turnutils_uclient output not understood:\n%s", out)
	}
	lm, bm := lms[len(lms)-1], bms[len(bms)-1]
	lost, _ = strconv.Atoi(string(lm[1]))
	sent, _ = strconv.Atoi(string(bm[1]))
	recv, _ = strconv.Atoi(string(bm[2]))

	return sent, recv, lost
}

func TestCoturnClientRelaysThroughUs(t *testing.T) {
	needCoturn(t)
	dir := t.TempDir()
	certFile, keyFile := writeTestCert(t, dir, 1)
	cfg := loopbackConfig()
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	cfg.Secrets = []string{"coturn-compat-secret"}
	cfg.AllowPeers = []string{"127.0.0.1/32"} // turnutils_peer lives on loopback.
	cfg.MaxAllocationsPerUser = 1000
	s := startServer(t, cfg)
	peer := startCoturnPeer(t)
	port := func(a net.Addr) string { _, p, _ := net.SplitHostPort(a.String()); return p }

	static := []string{"-u", "alice", "-w", "wonderland"}
	secret := []string{"-W", "coturn-compat-secret", "-u", "romeo"}
	// Moderate load: 10 clients, 100 messages each of 160 bytes (a 64 kbit/s
	// voice frame) every 5 ms. -c: no RTCP allocations, as WebRTC (rtcp-mux);
	// without it uclient allocates RTP/RTCP pairs with EVEN-PORT and
	// RESERVATION-TOKEN, also tested.
	load := []string{"-m", "10", "-n", "100", "-l", "160", "-z", "5", "-e", "127.0.0.1", "-r", strconv.Itoa(peer)}
	rtcpMux := []string{"-c"}
	for _, tc := range []struct {
		name  string
		flags []string
		port  string
	}{
		{"udp static", join(rtcpMux, static), port(s.Addrs().UDP)},
		{"udp shared secret", join(rtcpMux, secret), port(s.Addrs().UDP)},
		{"udp static rtp+rtcp pairs", static, port(s.Addrs().UDP)},
		{"tcp static", join(rtcpMux, []string{"-t"}, static), port(s.Addrs().TCP)},
		{"tcp shared secret", join(rtcpMux, []string{"-t"}, secret), port(s.Addrs().TCP)},
		{"tls shared secret", join(rtcpMux, []string{"-t", "-S"}, secret), port(s.Addrs().TLS)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // uclient idles most of its run; the server is shared.
			args := append(append(append([]string{}, tc.flags...), load...), "-p", tc.port, "127.0.0.1")
			sent, recv, lost := runUclient(t, args...)
			if sent == 0 || recv != sent || lost != 0 {
				t.Fatalf("sent %d bytes, received %d, lost %d packets", sent, recv, lost)
			}
			t.Logf("sent %d bytes, received %d, lost 0", sent, recv)
		})
	}
}

func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}

	return out
}
