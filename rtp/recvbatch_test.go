package rtp

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestReadBatch: one read takes every queued datagram with its length
// and its sender's address and port, for IPv4 and IPv6 sockets, and
// allocates nothing.
func TestReadBatch(t *testing.T) {
	for _, v := range []struct{ network, ip string }{{"udp4", "127.0.0.1"}, {"udp6", "::1"}} {
		t.Run(v.network, func(t *testing.T) {
			rx, err := net.ListenUDP(v.network, &net.UDPAddr{IP: net.ParseIP(v.ip)})
			if err != nil {
				t.Skipf("%s: %v", v.network, err)
			}
			defer rx.Close()
			var txs []*net.UDPConn
			for range 3 {
				tx, err := net.ListenUDP(v.network, &net.UDPAddr{IP: net.ParseIP(v.ip)})
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Close()
				txs = append(txs, tx)
			}
			r, err := newBatchReader(rx, 8)
			if err != nil {
				t.Fatal(err)
			}
			bufs := make([][]byte, 8)
			for i := range bufs {
				bufs[i] = make([]byte, 1500)
			}
			ns, froms := make([]int, 8), make([]netip.AddrPort, 8)

			send := func() {
				for i, tx := range txs {
					if _, err := tx.WriteTo(make([]byte, 100+i), rx.LocalAddr()); err != nil {
						t.Fatal(err)
					}
				}
			}
			send()
			got := 0
			deadline := time.Now().Add(5 * time.Second)
			for got < len(txs) && time.Now().Before(deadline) {
				n, err := r.readBatch(bufs[got:], ns[got:], froms[got:])
				if err != nil {
					t.Fatal(err)
				}
				got += n
			}
			for i, tx := range txs {
				want := tx.LocalAddr().(*net.UDPAddr).AddrPort()
				if froms[i].Port() != want.Port() || froms[i].Addr().Unmap() != want.Addr().Unmap() {
					t.Errorf("datagram %d from %v, want %v", i, froms[i], want)
				}
				if ns[i] != 100+i {
					t.Errorf("datagram %d: %d bytes, want %d", i, ns[i], 100+i)
				}
			}
			// The read allocates nothing (x/net's allocated an address
			// per datagram): 21 batches queued, read three at a time.
			for range 21 {
				send()
			}
			time.Sleep(50 * time.Millisecond)
			allocs := testing.AllocsPerRun(20, func() {
				if n, err := r.readBatch(bufs[:3], ns, froms); err != nil || n != 3 {
					panic(fmt.Sprint(n, err))
				}
			})
			if allocs != 0 {
				t.Errorf("%.1f allocations per read of %d datagrams", allocs, len(txs))
			}
		})
	}
}
