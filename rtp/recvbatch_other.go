//go:build !linux

package rtp

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
)

// xnetReader is x/net's ReadBatch: one datagram per call on systems
// without recvmmsg.
type xnetReader struct {
	io   xnetBatch
	msgs []ipv4.Message
}

func newBatchReader(c *net.UDPConn, size int) (batchReader, error) {
	r := &xnetReader{io: xnetConn(c), msgs: make([]ipv4.Message, size)}
	for i := range r.msgs {
		r.msgs[i].Buffers = make([][]byte, 1)
	}
	return r, nil
}

func (r *xnetReader) readBatch(bufs [][]byte, ns []int, froms []netip.AddrPort) (int, error) {
	k := min(len(bufs), len(r.msgs), len(ns), len(froms))
	for i := range k {
		r.msgs[i].Buffers[0] = bufs[i]
	}
	n, err := r.io.ReadBatch(r.msgs[:k], 0)
	if err != nil {
		return 0, err
	}
	for i := range n {
		ns[i] = r.msgs[i].N
		froms[i] = netip.AddrPort{}
		if ua, ok := r.msgs[i].Addr.(*net.UDPAddr); ok {
			froms[i] = ua.AddrPort()
		}
	}
	return n, nil
}
