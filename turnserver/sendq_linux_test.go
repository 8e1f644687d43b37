package turnserver

import (
	"net"
	"net/netip"
	"slices"
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
			if (w[0] == 'a' || w[0] == 'g') && from != a.localAP || w[0] == 'b' && from != b.localAP {
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

	// Equal-size datagrams to one address go as one GSO message where the
	// kernel has it; the receiver still gets them one by one, in order.
	burst := []string{"g0xx", "g1xx", "g2xx", "g3", "h0xx"}
	for _, m := range burst[:4] {
		q.add(a, []byte(m), to1)
	}
	q.add(a, []byte(burst[4]), to2)
	q.flush()
	read(r1, burst[:4]...)
	read(r2, burst[4])
	if q.gsoFails != 0 {
		t.Fatalf("%d GSO sends refused (kernel GSO: %v)", q.gsoFails, q.gso)
	}
	t.Logf("kernel UDP GSO: %v", q.gso)

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

// build groups a run's datagrams into GSO messages only where the kernel
// can split them back: one address, equal sizes, a shorter one only last,
// nothing above gsoSegMax.
func TestSendQueueGSOGroups(t *testing.T) {
	x := netip.MustParseAddrPort("127.0.0.1:1000")
	y := netip.MustParseAddrPort("127.0.0.1:1001")
	c := &loopConn{localAP: netip.MustParseAddrPort("127.0.0.1:9")}
	type d struct {
		size int
		to   netip.AddrPort
	}
	for _, tc := range []struct {
		name string
		in   []d
		gso  bool
		want []int
	}{
		{"one", []d{{100, x}}, true, []int{1}},
		{"equal to one address", []d{{100, x}, {100, x}, {100, x}}, true, []int{3}},
		{"shorter last", []d{{100, x}, {100, x}, {60, x}}, true, []int{3}},
		{"shorter in the middle ends the group", []d{{100, x}, {60, x}, {100, x}}, true, []int{2, 1}},
		{"longer ends the group", []d{{100, x}, {120, x}}, true, []int{1, 1}},
		{"another address", []d{{100, x}, {100, y}, {100, y}}, true, []int{1, 2}},
		{"above gsoSegMax", []d{{gsoSegMax + 1, x}, {gsoSegMax + 1, x}}, true, []int{1, 1}},
		{"without GSO", []d{{100, x}, {100, x}}, false, []int{1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := &sendQueue{}
			for _, in := range tc.in {
				if !q.add(c, make([]byte, in.size), in.to) {
					t.Fatal("add refused")
				}
			}
			k := q.build(0, q.n, tc.gso)
			if got := q.segs[:k]; !slices.Equal(got, tc.want) {
				t.Fatalf("groups %v, want %v", got, tc.want)
			}
			for i := range k {
				if hasCtrl := q.out[i].hdr.Control != nil; hasCtrl != (q.segs[i] > 1) {
					t.Fatalf("message %d of %d datagrams: control message %v", i, q.segs[i], hasCtrl)
				}
			}
		})
	}
}
