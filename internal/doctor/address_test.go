package doctor

import (
	"net/netip"
	"testing"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want AddrClass
	}{
		{"192.0.2.1", Public}, // documentation ranges stand for the internet in tests
		{"8.8.8.8", Public},
		{"2001:db8::1", Public},
		{"127.0.0.1", Loopback},
		{"127.9.9.9", Loopback},
		{"::1", Loopback},
		{"::ffff:127.0.0.1", Loopback},
		{"10.1.2.3", Private},
		{"172.16.0.1", Private},
		{"192.168.1.1", Private},
		{"fd00::1", Private},
		{"::ffff:10.0.0.1", Private},
		{"100.64.0.1", CGNAT},
		{"100.127.255.255", CGNAT},
		{"100.128.0.1", Public},
		{"169.254.169.254", LinkLocal},
		{"fe80::1", LinkLocal},
		{"0.0.0.0", Unspecified},
		{"::", Unspecified},
		{"224.0.0.1", Multicast},
	} {
		if got := Classify(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("Classify(%s) = %s, want %s", tc.addr, got, tc.want)
		}
	}
	if got := Classify(netip.Addr{}); got != Unspecified {
		t.Errorf("Classify(zero) = %s, want unspecified", got)
	}
}
