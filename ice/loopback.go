package ice

import (
	"net"

	pionice "github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// LoopbackOnly restricts a SettingEngine to loopback, for tests and demos
// that must not touch the network: only loopback IPs gather candidates, on
// whichever interface they are (127.0.0.2 on a dummy or veth interface
// counts, not only lo's 127.0.0.1), over UDP on IPv4 and IPv6, loopback
// candidates are kept (pion drops them by default), and mDNS is off, so
// no multicast leaves the machine either. Calls (rtp.PeerOptions.Loopback)
// and file transfer's datachannel (datachannel.WithLoopbackOnly) both use
// it.
func LoopbackOnly(s *webrtc.SettingEngine) {
	s.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	s.SetIncludeLoopbackCandidate(true)
	s.SetICEMulticastDNSMode(pionice.MulticastDNSModeDisabled)
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
}
