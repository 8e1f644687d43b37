package proctest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// It comes from the kernel's ephemeral range, where any socket bound to
// port 0 may take it before the test binds it: use it for a TCP
// listener the test starts at once, and QuietPorts for UDP.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// QuietPorts returns the first of n consecutive ports on 127.0.0.1 that
// were free for UDP and TCP a moment ago, chosen at random below the
// kernel's ephemeral range. A port from FreePort is an ephemeral one,
// and the suite runs packages side by side whose ICE agents bind UDP
// sockets to port 0 by the dozen: a fresh-clone CI run lost the race
// for an RTP port that way (ffmpeg's "bind failed: Address already in
// use" in TestRTPSendRole, seconds after the port was picked). Below the
// range only a test that names the port can take it. The first port is
// even: RTP's convention, with RTCP on the next (ffmpeg and GStreamer
// bind both).
func QuietPorts(t testing.TB, n int) int {
	t.Helper()
	hi := ephemeralLow() - n
	lo := max(1024, hi-12000)
	for range 100 {
		p := (lo + rand.IntN(hi-lo)) &^ 1
		if portsFree(p, n) {
			return p
		}
	}
	t.Fatalf("no %d free consecutive ports between %d and %d", n, lo, hi+n)
	return 0
}

// ephemeralLow is the first port of net.ipv4.ip_local_port_range
// (32768 if it cannot be read, Linux's default).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	v, err := strconv.Atoi(f[0])
	if err != nil || v < 2048 {
		return 32768
	}
	return v
}

// portsFree binds UDP and TCP on each of n ports from p and releases them.
func portsFree(p, n int) bool {
	for i := range n {
		a := fmt.Sprintf("127.0.0.1:%d", p+i)
		u, err := net.ListenPacket("udp", a)
		if err != nil {
			return false
		}
		u.Close()
		l, err := net.Listen("tcp", a)
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}
