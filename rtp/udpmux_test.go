package rtp

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// Many goroutines write through one batchConn at once, as a server's
// calls do; every datagram arrives whole, and the reader side hands out
// every datagram of each batch it reads.
func TestBatchConnMovesEveryDatagram(t *testing.T) {
	a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = b.SetReadBuffer(4 << 20)
	src, dst := mustBatchConn(t, a), mustBatchConn(t, b)
	defer src.Close()
	defer dst.Close()
	to := dst.LocalAddr().(*net.UDPAddr).AddrPort()

	const writers, each = 8, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				p := []byte(fmt.Sprintf("w%d-%04d-%s", w, i, bytes.Repeat([]byte{'x'}, i%100)))
				if _, err := src.WriteToAddrPort(p, to); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					time.Sleep(time.Millisecond) // stay under the receive buffer
				}
			}
		}()
	}
	seen := map[string]bool{}
	buf := make([]byte, 1500)
	_ = dst.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(seen) < writers*each {
		n, from, err := dst.ReadFromAddrPort(buf)
		if err != nil {
			t.Fatalf("after %d datagrams: %v", len(seen), err)
		}
		if from != src.LocalAddr().(*net.UDPAddr).AddrPort() {
			t.Fatalf("datagram from %v, want %v", from, src.LocalAddr())
		}
		var w, i int
		if _, err := fmt.Sscanf(string(buf[:n]), "w%d-%04d-", &w, &i); err != nil {
			t.Fatalf("garbled datagram %q", buf[:n])
		}
		if got, want := n, len(fmt.Sprintf("w%d-%04d-", w, i))+i%100; got != want {
			t.Fatalf("datagram %q is %d bytes, want %d", buf[:n], got, want)
		}
		seen[string(buf[:n])] = true
	}
	wg.Wait()
}

// Writing after Close fails; what was written before it was sent.
func TestBatchConnClose(t *testing.T) {
	c, r := batchPair(t)
	if _, err := c.WriteTo([]byte("last"), r.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteTo([]byte("late"), r.LocalAddr()); err == nil {
		t.Fatal("write after Close succeeded")
	}
	buf := make([]byte, 100)
	_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := r.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "last" {
		t.Fatalf("read %q, %v; want the datagram queued before Close", buf[:n], err)
	}
}

// A corked batchConn queues every write and sends the lot at the last
// uncork, in order (a conference tick's mixes in one sendmmsg).
func TestBatchConnCork(t *testing.T) {
	c, r := batchPair(t)
	defer c.Close()
	to := r.LocalAddr().(*net.UDPAddr).AddrPort()
	c.cork()
	c.cork() // nested: only the outer uncork sends
	for i := range 10 {
		if _, err := c.WriteToAddrPort([]byte{byte(i)}, to); err != nil {
			t.Fatal(err)
		}
	}
	c.uncork()
	c.wmu.Lock()
	queued := len(c.queue)
	c.wmu.Unlock()
	if queued != 10 {
		t.Fatalf("%d datagrams queued while corked, want 10", queued)
	}
	c.uncork()
	_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 10)
	for i := range 10 {
		n, _, err := r.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if n != 1 || buf[0] != byte(i) {
			t.Fatalf("datagram %d is %v", i, buf[:n])
		}
	}
}

// batchPair is a batchConn on loopback and a plain socket to send it
// datagrams to; the plain one is closed at cleanup.
func batchPair(t *testing.T) (*batchConn, *net.UDPConn) {
	t.Helper()
	a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return mustBatchConn(t, a), r
}

func mustBatchConn(t *testing.T, c *net.UDPConn) *batchConn {
	t.Helper()
	b, err := newBatchConn(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
