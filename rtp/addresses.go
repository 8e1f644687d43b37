// Which local addresses ICE can gather host candidates on, checked before a
// call is placed or answered (CheckAddresses, ErrNoAddress).

package rtp

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// hostInterface is one network interface as gathering sees it.
type hostInterface struct {
	Name  string
	Flags net.Flags
	Addrs []netip.Addr
}

// gatherable returns the addresses pion gathers host candidates on,
// mirroring pion/ice's localInterfaces with our settings: interfaces
// that are up; in normal mode not the loopback interface and no loopback
// address (pion skips both without IncludeLoopbackCandidate); in
// loopback mode (LoopbackOnly) every interface but only loopback
// addresses, so 127.0.0.2 on a dummy or veth interface counts. IPv6
// site-local and IPv4-compatible addresses never count (RFC 8445 §5.1.1.1).
func gatherable(ifs []hostInterface, loopback bool) []netip.Addr {
	var out []netip.Addr
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp == 0 {
			continue
		}
		if !loopback && ifi.Flags&net.FlagLoopback != 0 {
			continue
		}
		for _, a := range ifi.Addrs {
			a = a.Unmap()
			if a.IsLoopback() != loopback {
				continue
			}
			if a.Is6() && !supportedIPv6(a) {
				continue
			}
			out = append(out, a)
		}
	}
	return out
}

// supportedIPv6 is pion's isSupportedIPv6Partial: no IPv4-compatible
// (::a.b.c.d) and no site-local (fec0::/10) addresses.
func supportedIPv6(a netip.Addr) bool {
	b := a.As16()
	zeros := true
	for _, x := range b[:12] {
		zeros = zeros && x == 0
	}
	if zeros && !a.IsLoopback() {
		return false
	}
	return !(b[0] == 0xfe && b[1]&0xc0 == 0xc0)
}

// localInterfaces reads this host's interfaces.
func localInterfaces() ([]hostInterface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("rtp: listing interfaces: %w", err)
	}
	out := make([]hostInterface, 0, len(ifs))
	for _, ifi := range ifs {
		h := hostInterface{Name: ifi.Name, Flags: ifi.Flags}
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				h.Addrs = append(h.Addrs, p.Addr())
			}
		}
		out = append(out, h)
	}
	return out, nil
}

// CheckAddresses reports, before a call is placed or answered, whether
// ICE can gather any candidate: ErrNoAddress (wrapped, with what the host
// has) when no interface has a usable address and no TURN server is
// configured. It says nothing when Configure is set (a vnet or a custom
// network decides) or with RelayOnly (the relay's own check applies).
func (o *PeerOptions) CheckAddresses() error {
	if o.Configure != nil || o.RelayOnly {
		return nil
	}
	for _, s := range o.iceServers() {
		for _, u := range s.URLs {
			if strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
				return nil
			}
		}
	}
	ifs, err := localInterfaces()
	if err != nil {
		return err
	}
	return checkGatherable(ifs, o.Loopback)
}

// checkGatherable is CheckAddresses on a given set of interfaces.
func checkGatherable(ifs []hostInterface, loopback bool) error {
	if len(gatherable(ifs, loopback)) > 0 {
		return nil
	}
	var have []string
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp == 0 {
			continue
		}
		for _, a := range ifi.Addrs {
			have = append(have, a.String()+" on "+ifi.Name)
		}
	}
	if len(have) == 0 {
		return fmt.Errorf("%w: no interface is up with an address", ErrNoAddress)
	}
	if loopback {
		return fmt.Errorf("%w: loopback mode, and no interface has a loopback address (this host has %s)", ErrNoAddress, strings.Join(have, ", "))
	}
	return fmt.Errorf("%w: this host has only loopback addresses (%s), which are used only in loopback mode", ErrNoAddress, strings.Join(have, ", "))
}
