package turnserver

import (
	"fmt"
	"net"
	"net/netip"
)

// DenyReason says why the peer policy refused an address. The values are
// metric label values, so they are short, fixed and never carry user data.
type DenyReason string

// Reasons a peer address is refused.
const (
	DenyNone        DenyReason = ""
	DenyConfig      DenyReason = "denylist"    // matched Config.DenyPeers
	DenyUnspecified DenyReason = "unspecified" // 0.0.0.0/8, ::
	DenyLoopback    DenyReason = "loopback"    // 127/8, ::1
	DenyLinkLocal   DenyReason = "link_local"  // 169.254/16 (cloud metadata), fe80::/10
	DenyPrivate     DenyReason = "private"     // RFC 1918, CGNAT 100.64/10, ULA fc00::/7, site-local
	DenyMulticast   DenyReason = "multicast"   // 224/4, ff00::/8
	DenyBroadcast   DenyReason = "broadcast"   // 255.255.255.255 and the server's subnet broadcasts
	DenyReserved    DenyReason = "reserved"    // 240/4, documentation, benchmarking, IETF blocks
	DenySelf        DenyReason = "self"        // one of the server's own addresses, outside the relay ports
	DenyInvalid     DenyReason = "invalid"     // not an IP address at all
)

type classRange struct {
	prefix netip.Prefix
	reason DenyReason
}

// defaultDenied lists the address classes a relay must never reach unless the
// operator opts in. Relaying to them is how a TURN server becomes an SSRF
// proxy into the host's LAN, its loopback services or the cloud metadata API
// (coturn CVE-2020-26262 and the pion probe in issue 4).
var defaultDenied = mustRanges([]struct {
	cidr   string
	reason DenyReason
}{
	{"0.0.0.0/8", DenyUnspecified},
	{"127.0.0.0/8", DenyLoopback},
	{"169.254.0.0/16", DenyLinkLocal},
	{"10.0.0.0/8", DenyPrivate},
	{"172.16.0.0/12", DenyPrivate},
	{"192.168.0.0/16", DenyPrivate},
	{"100.64.0.0/10", DenyPrivate},
	{"192.0.0.0/24", DenyReserved},
	{"192.0.2.0/24", DenyReserved},
	{"198.18.0.0/15", DenyReserved},
	{"198.51.100.0/24", DenyReserved},
	{"203.0.113.0/24", DenyReserved},
	{"224.0.0.0/4", DenyMulticast},
	{"255.255.255.255/32", DenyBroadcast},
	{"240.0.0.0/4", DenyReserved},
	{"::/128", DenyUnspecified},
	{"::1/128", DenyLoopback},
	{"fe80::/10", DenyLinkLocal},
	{"fec0::/10", DenyPrivate},
	{"fc00::/7", DenyPrivate},
	{"ff00::/8", DenyMulticast},
	{"100::/64", DenyReserved},
	{"2001:db8::/32", DenyReserved},
	{"2001:10::/28", DenyReserved},
	{"2001:20::/28", DenyReserved},
	{"::/96", DenyReserved}, // IPv4-compatible addresses that did not unwrap to a public IPv4
})

func mustRanges(in []struct {
	cidr   string
	reason DenyReason
},
) []classRange {
	out := make([]classRange, 0, len(in))
	for _, r := range in {
		out = append(out, classRange{prefix: netip.MustParsePrefix(r.cidr), reason: r.reason})
	}

	return out
}

// Prefixes that carry an IPv4 address inside an IPv6 one.
var (
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")   // RFC 6052
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48") // RFC 8215
	sixToFour      = netip.MustParsePrefix("2002::/16")      // RFC 3056
	teredo         = netip.MustParsePrefix("2001::/32")      // RFC 4380
	ipv4Compatible = netip.MustParsePrefix("::/96")          // RFC 4291 2.5.5.1, deprecated
)

// embeddedIPv4 returns every IPv4 address an IPv6 address may deliver
// traffic to. Checking only the IPv6 form is the bug class behind coturn's
// CVE-2020-26262: ::ffff:127.0.0.1 or 64:ff9b::a9fe:a9fe look public to a
// v6-only filter but reach loopback or the metadata service.
func embeddedIPv4(a netip.Addr) []netip.Addr {
	if !a.Is6() {
		return nil
	}
	if a.Is4In6() {
		return []netip.Addr{a.Unmap()}
	}
	b := a.As16()
	v4 := func(off int) netip.Addr {
		return netip.AddrFrom4([4]byte{b[off], b[off+1], b[off+2], b[off+3]})
	}
	switch {
	case nat64WellKnown.Contains(a):
		return []netip.Addr{v4(12)}
	case nat64Local.Contains(a):
		// RFC 6052 section 2.2 /48 layout: bits 48..63 and 72..87, skipping octet 8 (the "u" octet).
		return []netip.Addr{netip.AddrFrom4([4]byte{b[6], b[7], b[9], b[10]}), v4(12)}
	case sixToFour.Contains(a):
		return []netip.Addr{v4(2)}
	case teredo.Contains(a):
		// Server address in plain, client address obfuscated (XOR 0xff) in the last 32 bits.
		return []netip.Addr{v4(4), netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})}
	case ipv4Compatible.Contains(a) && a != netip.IPv6Unspecified() && a != netip.IPv6Loopback():
		return []netip.Addr{v4(12)}
	}

	return nil
}

// PeerPolicy decides which peer addresses an allocation may reach. The zero
// value is not usable; build one with NewPeerPolicy.
//
// Order of evaluation: an explicit deny entry always wins; then an explicit
// allow entry; then the server's own addresses (reachable only on relay ports,
// so two allocations on this server can talk, as a relay-relay call needs);
// then the default-denied classes. IPv4 embedded in IPv6 is checked as
// IPv4 as well, and the stricter answer wins.
type PeerPolicy struct {
	allow    []netip.Prefix
	deny     []netip.Prefix
	self     map[netip.Addr]bool
	bcast    map[netip.Addr]bool
	relayMin uint16
	relayMax uint16
}

// NewPeerPolicy builds a policy from CIDR (or bare IP) lists, the server's own
// addresses, the broadcast addresses of its subnets and its relay port range.
func NewPeerPolicy(allow, deny []string, self []netip.Addr, subnets []netip.Prefix, relayMin, relayMax uint16) (*PeerPolicy, error) {
	p := &PeerPolicy{
		self:     make(map[netip.Addr]bool, len(self)),
		bcast:    make(map[netip.Addr]bool, len(subnets)),
		relayMin: relayMin,
		relayMax: relayMax,
	}
	var err error
	if p.allow, err = parsePrefixes(allow); err != nil {
		return nil, fmt.Errorf("allow_peers: %w", err)
	}
	if p.deny, err = parsePrefixes(deny); err != nil {
		return nil, fmt.Errorf("deny_peers: %w", err)
	}
	for _, a := range self {
		// Loopback is never a legitimate relay destination, not even our own
		// relay ports: tests that need it name it in allow.
		if a = a.Unmap(); !a.IsLoopback() && !a.IsUnspecified() {
			p.self[a] = true
		}
	}
	for _, s := range subnets {
		if b, ok := broadcastOf(s); ok {
			p.bcast[b] = true
		}
	}

	return p, nil
}

func parsePrefixes(in []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(in))
	for _, s := range in {
		pfx, err := parsePrefix(s)
		if err != nil {
			return nil, err
		}
		out = append(out, pfx)
	}

	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if pfx, err := netip.ParsePrefix(s); err == nil {
		pfx = pfx.Masked()
		if pfx.Addr().Is4In6() && pfx.Bits() >= 96 {
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
		}

		return pfx, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%w: %q is neither a CIDR nor an IP address", ErrInvalidConfig, s)
	}
	a = a.Unmap()

	return netip.PrefixFrom(a, a.BitLen()), nil
}

// broadcastOf returns the directed broadcast address of an IPv4 subnet.
func broadcastOf(p netip.Prefix) (netip.Addr, bool) {
	if !p.Addr().Is4() || p.Bits() >= 31 {
		return netip.Addr{}, false
	}
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= host

	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// CheckIP decides on a permission for an IP address (CreatePermission,
// ChannelBind and Connect carry one; TURN permissions are per IP, RFC 8656
// section 9). The server's own addresses pass here because their ports are
// checked per packet by CheckAddr.
func (p *PeerPolicy) CheckIP(ip net.IP) DenyReason {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return DenyInvalid
	}

	return p.check(a, 0, false)
}

// CheckAddr decides on one datagram or connection to ip:port.
func (p *PeerPolicy) CheckAddr(ip net.IP, port int) DenyReason {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return DenyInvalid
	}

	return p.check(a, port, true)
}

func (p *PeerPolicy) check(a netip.Addr, port int, withPort bool) DenyReason {
	a = a.WithZone("")
	// Embedded IPv4 first, so the reason names what the packet would reach.
	for _, e := range embeddedIPv4(a) {
		if r := p.checkOne(e, port, withPort); r != DenyNone {
			return r
		}
	}

	return p.checkOne(a.Unmap(), port, withPort)
}

func (p *PeerPolicy) checkOne(a netip.Addr, port int, withPort bool) DenyReason {
	for _, d := range p.deny {
		if d.Contains(a) {
			return DenyConfig
		}
	}
	for _, al := range p.allow {
		if al.Contains(a) {
			// A broad allow (a LAN range) does not open the server's own
			// services on that LAN; only naming the host itself does.
			if p.self[a] && al.Bits() != a.BitLen() && withPort && !p.relayPort(port) {
				return DenySelf
			}

			return DenyNone
		}
	}
	if p.self[a] {
		if withPort && !p.relayPort(port) {
			return DenySelf
		}

		return DenyNone
	}
	if p.bcast[a] {
		return DenyBroadcast
	}
	for _, c := range defaultDenied {
		if c.prefix.Contains(a) {
			return c.reason
		}
	}

	return DenyNone
}

func (p *PeerPolicy) relayPort(port int) bool {
	return port >= int(p.relayMin) && port <= int(p.relayMax) && port > 0
}

// wideOpen reports allow entries that would expose what the default policy
// exists to protect: everything (/0 to /7), the cloud metadata service or the
// unspecified address.
func wideOpen(allow []netip.Prefix) []netip.Prefix {
	sensitive := []netip.Addr{
		netip.MustParseAddr("169.254.169.254"),
		netip.MustParseAddr("fd00:ec2::254"),
		netip.MustParseAddr("0.0.0.0"),
		netip.MustParseAddr("::"),
	}
	var out []netip.Prefix
	for _, p := range allow {
		wide := p.Bits() < 8
		for _, s := range sensitive {
			if p.Contains(s) {
				wide = true
			}
		}
		if wide {
			out = append(out, p)
		}
	}

	return out
}
