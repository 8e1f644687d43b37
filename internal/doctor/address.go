package doctor

import "net/netip"

// AddrClass says whether clients elsewhere on the internet can reach an
// address.
type AddrClass string

// Address classes. Public is everything else: the question is whether a
// client on another network can send to it, and a relay on a documentation
// range does not happen outside test namespaces (which use one to play the
// public internet).
const (
	Public      AddrClass = "public"
	Loopback    AddrClass = "loopback"
	Private     AddrClass = "private" // RFC 1918, ULA fc00::/7
	CGNAT       AddrClass = "cgnat"   // 100.64.0.0/10 (RFC 6598): the carrier's NAT, unreachable from outside
	LinkLocal   AddrClass = "link-local"
	Unspecified AddrClass = "unspecified"
	Multicast   AddrClass = "multicast"
)

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Classify returns a's class; IPv4 mapped into IPv6 is judged as IPv4.
func Classify(a netip.Addr) AddrClass {
	a = a.Unmap()
	switch {
	case !a.IsValid() || a.IsUnspecified():
		return Unspecified
	case a.IsLoopback():
		return Loopback
	case a.IsPrivate():
		return Private
	case a.Is4() && cgnat.Contains(a):
		return CGNAT
	case a.IsLinkLocalUnicast():
		return LinkLocal
	case a.IsMulticast():
		return Multicast
	}
	return Public
}
