package netnstest

import (
	"strings"
	"testing"
)

// TestRules checks the firewall recipe of each variant without building
// anything (no root needed): what makes a NAT symmetric, full cone or
// UDP-blocked is exactly these rules.
func TestRules(t *testing.T) {
	has := func(rules [][]string, want string) bool {
		for _, r := range rules {
			if strings.Contains(strings.Join(r, " "), want) {
				return true
			}
		}
		return false
	}
	cases := []struct {
		v          Variant
		side       int
		want, deny []string
	}{
		{Symmetric, 0, []string{"MASQUERADE --random-fully", "-P FORWARD DROP", "-A INPUT -i wan0 -j DROP"}, []string{"DNAT", "REJECT"}},
		{Cone, 1, []string{"-j MASQUERADE", "DNAT --to-destination 192.168.22.2", "--dport 40000:40999", "--ctstate DNAT -j ACCEPT"}, []string{"--random-fully", "REJECT"}},
		{UDPBlocked, 0, []string{"-j MASQUERADE"}, []string{"--random-fully", "REJECT", "DNAT"}},
		{UDPBlocked, 1, []string{"-i lan0 -o wan0 -p tcp --dport 443 -j ACCEPT", "-i lan0 -p udp -j REJECT", "-i lan0 -p tcp -j REJECT --reject-with tcp-reset", "-i lan0 -j REJECT"},
			[]string{"--random-fully", "DNAT", "-i lan0 -o wan0 -j ACCEPT"}},
		{Only443, 0, []string{"-i lan0 -o wan0 -p tcp --dport 443 -j ACCEPT", "-i lan0 -p udp -j REJECT", "-i lan0 -p tcp -j REJECT --reject-with tcp-reset"},
			[]string{"--random-fully", "DNAT", "-i lan0 -o wan0 -j ACCEPT"}},
	}
	for _, c := range cases {
		t.Run(string(c.v), func(t *testing.T) {
			topo := &Topology{Variant: c.v, PublicIP: PublicIP}
			s := Side{PeerIP: peerLANIPs[c.side], UDPBlocked: c.v == Only443 || (c.v == UDPBlocked && c.side == 1)}
			rules := topo.rules(s)
			for _, w := range c.want {
				if !has(rules, w) {
					t.Errorf("side %d: no rule with %q in %q", c.side, w, rules)
				}
			}
			for _, d := range c.deny {
				if has(rules, d) {
					t.Errorf("side %d: unexpected %q in %q", c.side, d, rules)
				}
			}
			// Only 443 is accepted before everything else from the LAN
			// is rejected.
			if s.UDPBlocked {
				for _, r := range rules {
					j := strings.Join(r, " ")
					if strings.Contains(j, "-i lan0") && strings.Contains(j, "ACCEPT") && !strings.Contains(j, "--dport 443") {
						t.Errorf("LAN accepted by %q before the rejects", j)
						break
					}
					if strings.Contains(j, "REJECT") {
						break
					}
				}
			}
		})
	}
}

// TestBuildUnknownVariant: a typo is an error, not a default topology
// (checked before anything is built, so this runs without root).
func TestBuildUnknownVariant(t *testing.T) {
	if _, err := Build(t.Context(), "full-cone-ish"); err == nil || !strings.Contains(err.Error(), "unknown variant") {
		t.Errorf("Build(unknown) = %v", err)
	}
}
