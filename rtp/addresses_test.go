package rtp

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/pion/webrtc/v4"
)

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func TestGatherable(t *testing.T) {
	up, lo := net.FlagUp, net.FlagUp|net.FlagLoopback
	loOnly := []hostInterface{{Name: "lo", Flags: lo, Addrs: addrs("127.0.0.1", "::1")}}
	dummy := append(slices.Clone(loOnly), hostInterface{Name: "dummy0", Flags: up, Addrs: addrs("127.0.0.2")})
	lan := append(slices.Clone(loOnly), hostInterface{Name: "eth0", Flags: up, Addrs: addrs("192.168.1.5", "fe80::1", "fec0::1")})
	down := append(slices.Clone(loOnly), hostInterface{Name: "eth1", Flags: 0, Addrs: addrs("10.0.0.5")})
	for _, c := range []struct {
		name     string
		ifs      []hostInterface
		loopback bool
		want     []string
	}{
		{"lo only, normal mode: nothing", loOnly, false, nil},
		{"lo only, loopback mode", loOnly, true, []string{"127.0.0.1", "::1"}},
		{"127.0.0.2 on a dummy interface, loopback mode", dummy, true, []string{"127.0.0.1", "::1", "127.0.0.2"}},
		{"127.0.0.2 on a dummy interface, normal mode: nothing", dummy, false, nil},
		{"LAN, normal mode: link-local kept, site-local dropped", lan, false, []string{"192.168.1.5", "fe80::1"}},
		{"LAN, loopback mode: loopback only", lan, true, []string{"127.0.0.1", "::1"}},
		{"interface down", down, false, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, a := range gatherable(c.ifs, c.loopback) {
				got = append(got, a.String())
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			err := checkGatherable(c.ifs, c.loopback)
			if (err == nil) != (len(c.want) > 0) || (err != nil && !errors.Is(err, ErrNoAddress)) {
				t.Fatalf("checkGatherable: %v", err)
			}
		})
	}
}

// A TURN server can lend a relay address; a vnet (Configure) has its own
// interfaces: neither is refused for want of a host address.
func TestCheckAddressesSkips(t *testing.T) {
	for _, o := range []PeerOptions{
		{RelayOnly: true},
		{Configure: func(*webrtc.SettingEngine) {}},
		{ICEServers: []webrtc.ICEServer{{URLs: []string{"turn:127.0.0.1:3478"}}}},
	} {
		if err := o.CheckAddresses(); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
}
