package udpgso

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
)

func listen(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func wrap(t *testing.T, c *net.UDPConn) *Conn {
	t.Helper()
	w, ok := Wrap(c).(*Conn)
	if !ok {
		t.Skip("the kernel has neither UDP_SEGMENT nor UDP_GRO")
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// datagram i: its index in the first bytes, then a pattern, n bytes.
func datagram(i, n int) []byte {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(i*7 + j)
	}
	if n >= 2 {
		b[0], b[1] = byte(i>>8), byte(i)
	}
	return b
}

// sizes: runs of equal datagrams broken by shorter and longer ones, more
// than one batch holds.
func sizes() []int {
	var s []int
	for i := range 300 {
		switch {
		case i%97 == 96:
			s = append(s, 1400) // longer: starts a new batch
		case i%41 == 40:
			s = append(s, 300) // shorter: ends one
		case i%89 == 50:
			s = append(s, 0) // empty: alone
		default:
			s = append(s, 1229)
		}
	}
	return s
}

type reader interface {
	ReadFromUDP([]byte) (int, *net.UDPAddr, error)
	SetReadDeadline(time.Time) error
}

func expect(t *testing.T, r reader, from net.Addr, sz []int) {
	t.Helper()
	buf := make([]byte, 2048)
	_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i, n := range sz {
		got, addr, err := r.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("datagram %d of %d: %v", i, len(sz), err)
		}
		if !bytes.Equal(buf[:got], datagram(i, n)) {
			want := datagram(i, n)
			t.Fatalf("datagram %d: %d bytes %x..., want %d bytes %x...", i, got, buf[:min(got, 4)], n, want[:min(n, 4)])
		}
		if addr.String() != from.String() {
			t.Fatalf("datagram %d from %s, want %s", i, addr, from)
		}
	}
}

// Batches leave as the datagrams they were written as, in order, to a
// plain socket and to a wrapped one; a wrapped receiver reads a
// plain sender's datagrams as they are.
func TestRoundTrip(t *testing.T) {
	sz := sizes()
	for _, tc := range []struct {
		name           string
		wrapTx, wrapRx bool
	}{
		{"wrapped to plain", true, false},
		{"wrapped to wrapped", true, true},
		{"plain to wrapped", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, rx := listen(t), listen(t)
			_ = rx.SetReadBuffer(4 << 20)
			var w interface {
				WriteToUDP([]byte, *net.UDPAddr) (int, error)
			} = tx
			if tc.wrapTx {
				w = wrap(t, tx)
			}
			var r reader = rx
			var wr *Conn
			if tc.wrapRx {
				wr = wrap(t, rx)
				r = wr
			}
			to := rx.LocalAddr().(*net.UDPAddr)
			for i, n := range sz {
				if _, err := w.WriteToUDP(datagram(i, n), to); err != nil {
					t.Fatal(err)
				}
			}
			expect(t, r, tx.LocalAddr(), sz)
			if wc, ok := w.(*Conn); ok && wc.SendErrors() != 0 {
				t.Errorf("%d send errors", wc.SendErrors())
			}
		})
	}
}

// With segmentation and coalescing both ends move many datagrams per
// system call: a burst of equal datagrams takes fewer reads than
// datagrams.
func TestBatchesCoalesce(t *testing.T) {
	tx, rx := listen(t), listen(t)
	_ = rx.SetReadBuffer(4 << 20)
	w, r := wrap(t, tx), wrap(t, rx)
	if !w.sys.canSegment() || !r.sys.gro {
		t.Skip("no UDP_SEGMENT or UDP_GRO here")
	}
	// Held so that the burst queues and leaves in batches.
	w.wmu.Lock()
	w.sending = true
	w.wmu.Unlock()
	to := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	const n = 200
	for i := range n {
		if _, err := w.WriteToAddrPort(datagram(i, 1229), to); err != nil {
			t.Fatal(err)
		}
	}
	w.wmu.Lock()
	batches := len(w.queue)
	w.kick <- struct{}{}
	w.wmu.Unlock()
	if batches != (n+maxSegments-1)/maxSegments && batches != n*1229/maxBatch+1 {
		t.Errorf("%d datagrams queued as %d batches", n, batches)
	}
	reads := 0
	buf := make([]byte, 2048)
	_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := range n {
		r.rmu.Lock()
		if r.roff >= r.rend {
			reads++
		}
		r.rmu.Unlock()
		got, _, err := r.ReadFromAddrPort(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if !bytes.Equal(buf[:got], datagram(i, 1229)) {
			t.Fatalf("datagram %d differs", i)
		}
	}
	if reads > batches {
		t.Errorf("%d datagrams took %d reads, more than the %d batches sent", n, reads, batches)
	}
}

// How writes group into batches: one address, equal lengths, a shorter
// one last, within the kernel's limits.
func TestAdd(t *testing.T) {
	a := netip.MustParseAddrPort("127.0.0.1:1")
	b := netip.MustParseAddrPort("127.0.0.1:2")
	type write struct {
		n  int
		to netip.AddrPort
	}
	run := func(ws ...write) []string {
		w := &Conn{sys: &sysConn{}}
		w.sys.gso.Store(true)
		for _, x := range ws {
			w.add(make([]byte, x.n), x.to)
		}
		var out []string
		for _, q := range w.queue {
			out = append(out, fmt.Sprintf("%s %dx%d (%d)", q.addr, q.n, q.seg, len(q.buf)))
		}
		return out
	}
	rep := func(n int, w write) []write {
		var s []write
		for range n {
			s = append(s, w)
		}
		return s
	}
	for _, tc := range []struct {
		name string
		ws   []write
		want []string
	}{
		{"one", []write{{1200, a}}, []string{"127.0.0.1:1 1x1200 (1200)"}},
		{"equal", rep(3, write{1200, a}), []string{"127.0.0.1:1 3x1200 (3600)"}},
		{"shorter ends", []write{{1200, a}, {1200, a}, {100, a}, {1200, a}},
			[]string{"127.0.0.1:1 3x1200 (2500)", "127.0.0.1:1 1x1200 (1200)"}},
		{"longer starts", []write{{1200, a}, {1300, a}, {1300, a}},
			[]string{"127.0.0.1:1 1x1200 (1200)", "127.0.0.1:1 2x1300 (2600)"}},
		{"addresses", []write{{1200, a}, {1200, b}, {1200, a}},
			[]string{"127.0.0.1:1 1x1200 (1200)", "127.0.0.1:2 1x1200 (1200)", "127.0.0.1:1 1x1200 (1200)"}},
		{"empty ones alone", []write{{1200, a}, {0, a}, {0, a}, {1200, a}},
			[]string{"127.0.0.1:1 1x1200 (1200)", "127.0.0.1:1 1x0 (0)", "127.0.0.1:1 1x0 (0)", "127.0.0.1:1 1x1200 (1200)"}},
		{"64 segments", rep(65, write{100, a}),
			[]string{"127.0.0.1:1 64x100 (6400)", "127.0.0.1:1 1x100 (100)"}},
		{"65000 bytes", rep(56, write{1200, a}),
			[]string{"127.0.0.1:1 54x1200 (64800)", "127.0.0.1:1 2x1200 (2400)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := run(tc.ws...)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("batches\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
	// Without segmentation every datagram is its own batch.
	w := &Conn{sys: &sysConn{}}
	w.add(make([]byte, 1200), a)
	w.add(make([]byte, 1200), a)
	if len(w.queue) != 2 {
		t.Errorf("without UDP_SEGMENT: %d batches for 2 datagrams", len(w.queue))
	}
}

// Close sends what was queued before it; later writes and blocked reads
// fail with net.ErrClosed.
func TestClose(t *testing.T) {
	tx, rx := listen(t), listen(t)
	w := wrap(t, tx)
	w.wmu.Lock()
	w.sending = true // hold the queue until Close
	w.wmu.Unlock()
	to := rx.LocalAddr().(*net.UDPAddr)
	sz := []int{1229, 1229, 1229, 10}
	for i, n := range sz {
		if _, err := w.WriteToUDP(datagram(i, n), to); err != nil {
			t.Fatal(err)
		}
	}
	w.wmu.Lock()
	w.kick <- struct{}{}
	w.wmu.Unlock()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	expect(t, rx, tx.LocalAddr(), sz)
	if _, err := w.WriteToUDP([]byte("late"), to); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close: %v, want net.ErrClosed", err)
	}

	r := wrap(t, listen(t))
	errc := make(chan error, 1)
	go func() {
		_, _, err := r.ReadFromAddrPort(make([]byte, 100))
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	r.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("read blocked at Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a read blocked at Close did not return")
	}
}

// A writer waits while maxBatches batches are queued, and goes on once
// they are sent.
func TestBackpressure(t *testing.T) {
	tx, rx1, rx2 := listen(t), listen(t), listen(t)
	w := wrap(t, tx)
	w.wmu.Lock()
	w.sending = true // hold the queue
	w.wmu.Unlock()
	to := []*net.UDPAddr{rx1.LocalAddr().(*net.UDPAddr), rx2.LocalAddr().(*net.UDPAddr)}
	for i := range maxBatches {
		// Alternating addresses: a batch each.
		if _, err := w.WriteToUDP(datagram(i, 100), to[i%2]); err != nil {
			t.Fatal(err)
		}
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := w.WriteToUDP(datagram(maxBatches, 100), to[0])
		wrote <- err
	}()
	select {
	case err := <-wrote:
		t.Fatalf("a write past %d queued batches returned (%v) before they were sent", maxBatches, err)
	case <-time.After(100 * time.Millisecond):
	}
	w.wmu.Lock()
	w.kick <- struct{}{}
	w.wmu.Unlock()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting write did not go on after the queue was sent")
	}
	var want1, want2 []int
	for i := range maxBatches + 1 {
		if i%2 == 0 || i == maxBatches {
			want1 = append(want1, i)
		} else {
			want2 = append(want2, i)
		}
	}
	buf := make([]byte, 200)
	for _, c := range []struct {
		rx   *net.UDPConn
		want []int
	}{{rx1, want1}, {rx2, want2}} {
		_ = c.rx.SetReadDeadline(time.Now().Add(5 * time.Second))
		for _, i := range c.want {
			n, _, err := c.rx.ReadFromUDP(buf)
			if err != nil {
				t.Fatalf("datagram %d: %v", i, err)
			}
			if !bytes.Equal(buf[:n], datagram(i, 100)) {
				t.Fatalf("datagram %d differs", i)
			}
		}
	}
}
