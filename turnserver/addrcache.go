package turnserver

import (
	"net"
	"net/netip"
)

// addrCache hands out one *net.UDPAddr per source, so reading a datagram
// does not allocate an address: net.UDPConn.ReadFrom allocates two objects
// per call, and a relay reads every datagram twice (from the client, from
// the peer). The cached addresses are never mutated, so pion may keep them
// (it stores the client's in the allocation's 5-tuple). Each socket has one
// reader goroutine, which owns its cache.
type addrCache struct {
	m map[netip.AddrPort]*net.UDPAddr
}

// addrCacheMax bounds the cache; a flood of sources only clears it.
const addrCacheMax = 4096

func (c *addrCache) get(ap netip.AddrPort) *net.UDPAddr {
	if a, ok := c.m[ap]; ok {
		return a
	}
	if c.m == nil {
		c.m = make(map[netip.AddrPort]*net.UDPAddr)
	}
	if len(c.m) >= addrCacheMax {
		clear(c.m)
	}
	a := udpAddr16(ap)
	c.m[ap] = a

	return a
}

// udpAddr16 builds a UDPAddr whose IP is in 16-byte form even for IPv4:
// pion keys allocations by IP.To16(), which allocates a copy per packet for
// a 4-byte IP. net.IP treats both forms alike everywhere else.
func udpAddr16(ap netip.AddrPort) *net.UDPAddr {
	ip := ap.Addr().As16()

	return &net.UDPAddr{IP: ip[:], Port: int(ap.Port()), Zone: ap.Addr().Zone()}
}

// readFrom reads like net.PacketConn.ReadFrom, through the cache when the
// socket is a real UDP socket (vnet's are not).
func readFrom(pc net.PacketConn, c *addrCache, p []byte) (int, net.Addr, error) {
	if u, ok := pc.(*net.UDPConn); ok {
		n, ap, err := u.ReadFromUDPAddrPort(p)
		if err != nil {
			return n, nil, err //nolint:wrapcheck // Callers match net errors.
		}

		return n, c.get(ap), nil
	}

	return pc.ReadFrom(p) //nolint:wrapcheck // As above.
}
