package turnserver

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The send queue delivers what it was given, in order, to the address each
// datagram names, grouped into one sendmmsg per run of the same socket;
// it refuses what it cannot hold or reach (the caller then sends at once),
// and sends nothing on a socket closed since the datagram was queued.
func TestSendQueue(t *testing.T) {
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	l, err := newUDPLoop(m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.close)
	lo := netip.MustParseAddrPort("127.0.0.1:0")
	open := func() *loopConn {
		c, err := l.listen(lo, false, 0, 0, readMax, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.closeFD)

		return c
	}
	a, b, gone := open(), open(), open()
	recv := func() (*net.UDPConn, netip.AddrPort) {
		u, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(lo))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = u.Close() })

		return u, u.LocalAddr().(*net.UDPAddr).AddrPort() //nolint:forcetypeassert // UDP.
	}
	r1, to1 := recv()
	r2, to2 := recv()

	q := newSendQueue(m)
	steps := []struct {
		c    *loopConn
		msg  string
		to   netip.AddrPort
		want bool
	}{
		{a, "a1", to1, true},
		{a, "a2", to2, true},
		{b, "b1", to1, true},
		{gone, "lost", to1, true}, // queued, then its socket closes
		{a, "a3", to1, true},
		{a, "v6", netip.MustParseAddrPort("[::1]:9"), false}, // an IPv4 socket cannot reach it
		{a, "", to1, false},                                  // nothing to send
	}
	for _, s := range steps {
		if got := q.add(s.c, []byte(s.msg), s.to); got != s.want {
			t.Fatalf("add(%q) = %v, want %v", s.msg, got, s.want)
		}
	}
	gone.closeFD()
	q.flush()
	if q.n != 0 {
		t.Fatalf("%d datagrams still queued after flush", q.n)
	}

	read := func(u *net.UDPConn, want ...string) {
		t.Helper()
		buf := make([]byte, 64)
		for _, w := range want {
			_ = u.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, from, err := u.ReadFromUDPAddrPort(buf)
			if err != nil {
				t.Fatalf("waiting for %q: %v", w, err)
			}
			if string(buf[:n]) != w {
				t.Fatalf("got %q, want %q", buf[:n], w)
			}
			if w[0] == 'a' && from != a.localAP || w[0] == 'b' && from != b.localAP {
				t.Fatalf("%q came from %v", w, from)
			}
		}
		_ = u.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, _, err := u.ReadFromUDPAddrPort(buf); err == nil {
			t.Fatalf("unexpected datagram %q", buf[:n])
		}
	}
	read(r1, "a1", "b1", "a3")
	read(r2, "a2")

	// A full queue refuses the next datagram.
	for i := range loopMsgs {
		if !q.add(a, []byte{byte(i)}, to2) {
			t.Fatalf("add %d of %d refused", i, loopMsgs)
		}
	}
	if q.add(a, []byte{9}, to2) {
		t.Fatal("a full queue took one more")
	}
	q.flush()
	want := make([]string, loopMsgs)
	for i := range want {
		want[i] = string([]byte{byte(i)})
	}
	// read checks the sender by the first byte's letter; these are not
	// letters, so only content and order are checked.
	read(r2, want...)
	if got := testutil.ToFloat64(m.dropped.WithLabelValues("send_error")); got != 0 {
		t.Fatalf("send errors = %v", got)
	}
}
