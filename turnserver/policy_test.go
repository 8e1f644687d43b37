package turnserver

import (
	"net"
	"net/netip"
	"testing"
)

func TestPeerPolicyDefaults(t *testing.T) {
	self := []netip.Addr{netip.MustParseAddr("203.0.114.7"), netip.MustParseAddr("127.0.0.1")}
	subnets := []netip.Prefix{netip.MustParsePrefix("198.100.0.0/24")}
	p, err := NewPeerPolicy(nil, nil, self, subnets, 49152, 65535)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ip   string
		port int
		want DenyReason
	}{
		{"8.8.8.8", 53, DenyNone},
		{"2a00:1450:4001::1", 443, DenyNone},
		{"0.0.0.0", 1, DenyUnspecified},
		{"0.1.2.3", 1, DenyUnspecified},
		{"::", 1, DenyUnspecified},
		{"127.0.0.1", 1, DenyLoopback},
		{"127.255.0.9", 1, DenyLoopback},
		{"::1", 1, DenyLoopback},
		{"169.254.169.254", 80, DenyLinkLocal},
		{"fe80::1", 1, DenyLinkLocal},
		{"10.0.0.1", 1, DenyPrivate},
		{"172.16.5.4", 1, DenyPrivate},
		{"172.32.0.1", 1, DenyNone},
		{"192.168.1.1", 1, DenyPrivate},
		{"100.64.0.1", 1, DenyPrivate},
		{"100.128.0.1", 1, DenyNone},
		{"fd00::1", 1, DenyPrivate},
		{"fd00:ec2::254", 80, DenyPrivate},
		{"224.0.0.1", 1, DenyMulticast},
		{"ff02::1", 1, DenyMulticast},
		{"255.255.255.255", 1, DenyBroadcast},
		{"198.100.0.255", 1, DenyBroadcast}, // Our subnet's directed broadcast.
		{"240.0.0.1", 1, DenyReserved},
		{"192.0.2.1", 1, DenyReserved},
		{"2001:db8::1", 1, DenyReserved},
		// IPv4 hidden in IPv6 (coturn CVE-2020-26262 class).
		{"::ffff:127.0.0.1", 1, DenyLoopback},
		{"::ffff:169.254.169.254", 80, DenyLinkLocal},
		{"::ffff:8.8.8.8", 53, DenyNone},
		{"::127.0.0.1", 1, DenyLoopback},          // IPv4-compatible
		{"::8.8.8.8", 1, DenyReserved},            // IPv4-compatible, deprecated: never a real peer
		{"64:ff9b::a9fe:a9fe", 80, DenyLinkLocal}, // NAT64 of 169.254.169.254
		{"64:ff9b::7f00:1", 1, DenyLoopback},
		{"64:ff9b::808:808", 53, DenyNone},
		{"64:ff9b:1:7f00:0:100::", 1, DenyLoopback}, // RFC 8215 local NAT64 /48 layout, 127.0.0.1
		{"2002:7f00:1::1", 1, DenyLoopback},         // 6to4 of 127.0.0.1
		{"2002:a00:1::1", 1, DenyPrivate},           // 6to4 of 10.0.0.1
		{"2002:808:808::1", 1, DenyNone},
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", 1, DenyLoopback},  // Teredo, client 127.0.0.1
		{"2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7", 1, DenyLinkLocal}, // Teredo, server 169.254.169.254
		// Our own public address: only relay ports (another allocation).
		{"203.0.114.7", 3478, DenySelf},
		{"203.0.114.7", 22, DenySelf},
		{"203.0.114.7", 50000, DenyNone},
		{"::ffff:203.0.114.7", 22, DenySelf},
	} {
		t.Run(tc.ip, func(t *testing.T) {
			ip := net.ParseIP(tc.ip)
			if ip == nil {
				t.Fatalf("bad test IP %q", tc.ip)
			}
			if got := p.CheckAddr(ip, tc.port); got != tc.want {
				t.Fatalf("CheckAddr(%s, %d) = %q, want %q", tc.ip, tc.port, got, tc.want)
			}
		})
	}
	// Permissions are per IP: our own address passes, its ports are checked per packet.
	if got := p.CheckIP(net.ParseIP("203.0.114.7")); got != DenyNone {
		t.Errorf("CheckIP(self) = %q", got)
	}
	if got := p.CheckIP(net.IP{1, 2, 3}); got != DenyInvalid {
		t.Errorf("CheckIP(3 bytes) = %q", got)
	}
}

func TestPeerPolicyOverrides(t *testing.T) {
	self := []netip.Addr{netip.MustParseAddr("10.0.0.5")}
	p, err := NewPeerPolicy(
		[]string{"10.0.0.0/8", "127.0.0.1", "::ffff:192.168.7.0/120"},
		[]string{"10.9.0.0/16", "8.8.4.4/32"},
		self, nil, 49152, 65535)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ip   string
		port int
		want DenyReason
	}{
		{"10.1.2.3", 1, DenyNone},      // LAN opt-in
		{"10.9.1.1", 1, DenyConfig},    // deny beats allow
		{"8.8.4.4", 53, DenyConfig},    // deny beats public default
		{"127.0.0.1", 1, DenyNone},     // explicit single host
		{"127.0.0.2", 1, DenyLoopback}, // not named
		{"192.168.7.9", 1, DenyNone},   // mapped CIDR in config unwraps
		{"::ffff:10.9.1.1", 1, DenyConfig},
		{"10.0.0.5", 5222, DenySelf},  // a LAN range does not open our own services
		{"10.0.0.5", 50000, DenyNone}, // but our relay ports are fine
	} {
		if got := p.CheckAddr(net.ParseIP(tc.ip), tc.port); got != tc.want {
			t.Errorf("CheckAddr(%s, %d) = %q, want %q", tc.ip, tc.port, got, tc.want)
		}
	}
	if _, err := NewPeerPolicy([]string{"not-an-ip"}, nil, nil, nil, 1, 2); err == nil {
		t.Error("bad CIDR accepted")
	}
}

func FuzzPeerPolicyUnwrap(f *testing.F) {
	f.Add([]byte(net.ParseIP("64:ff9b::7f00:1")))
	f.Add([]byte(net.ParseIP("2002:7f00:1::1")))
	f.Add([]byte(net.ParseIP("::ffff:127.0.0.1")))
	p, err := NewPeerPolicy(nil, nil, nil, nil, 49152, 65535)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ip := net.IP(b)
		r := p.CheckIP(ip)
		if len(b) != 4 && len(b) != 16 {
			if r != DenyInvalid {
				t.Fatalf("%x: %q", b, r)
			}

			return
		}
		// Whatever the wrapping, an address whose embedded IPv4 is denied is denied.
		a, _ := netip.AddrFromSlice(b)
		for _, e := range embeddedIPv4(a) {
			if p.CheckIP(e.AsSlice()) != DenyNone && r == DenyNone {
				t.Fatalf("%s allowed though it embeds denied %s", a, e)
			}
		}
	})
}
