package doctor

import (
	"strconv"
	"strings"
	"testing"

	"github.com/jingled/jingled/xmpp/extdisco"
)

func TestTURNS443(t *testing.T) {
	svc := func(typ, transport string, port int) extdisco.ICEServer {
		s := extdisco.ICEServer{Type: typ, Host: "turn.example.org", Port: port, Transport: transport}
		s.URL = typ + ":turn.example.org:" + strconv.Itoa(port)
		if strings.HasPrefix(typ, "turn") && transport != "" {
			s.URL += "?transport=" + transport
		}
		return s
	}
	borrowed := func(s extdisco.ICEServer) extdisco.ICEServer { s.Borrowed = true; return s }
	stun := svc("stun", "udp", 3478)
	turnUDP, turnTCP := svc("turn", "udp", 3478), svc("turn", "tcp", 3478)
	turns443, turns5349 := svc("turns", "tcp", 443), svc("turns", "tcp", 5349)
	for _, tc := range []struct {
		name     string
		servers  []extdisco.ICEServer
		none     bool // no finding: no TURN at all
		id       string
		sev      Severity
		says     []string
		saysNot  []string
		wantDocs string
	}{
		{name: "nothing announced", none: true},
		{name: "STUN only is extdisco-no-turn's", servers: []extdisco.ICEServer{stun}, none: true},
		{name: "the recommended setup", servers: []extdisco.ICEServer{stun, turnUDP, turnTCP, turns443},
			id: IDExtdiscoTURNS443, sev: OK, says: []string{"turns:turn.example.org:443?transport=tcp", "can reach the relay"}},
		{name: "turns on 443 without transport (tcp by default)", servers: []extdisco.ICEServer{turnUDP, svc("turns", "", 443)},
			id: IDExtdiscoTURNS443, sev: OK, says: []string{"turns:turn.example.org:443"}},
		{name: "type in capitals", servers: []extdisco.ICEServer{turnUDP, svc("TURNS", "tcp", 443)},
			id: IDExtdiscoTURNS443, sev: OK},
		{name: "443 beside 5349", servers: []extdisco.ICEServer{turnUDP, turns5349, turns443},
			id: IDExtdiscoTURNS443, sev: OK, saysNot: []string{"5349"}},
		{name: "443 with and without credentials", servers: []extdisco.ICEServer{turnUDP, borrowed(turns443), svc("turns", "tcp", 443)},
			id: IDExtdiscoTURNS443, sev: OK},
		{name: "443 without credentials is extdisco-turn-without-credentials'", servers: []extdisco.ICEServer{turnUDP, borrowed(turns443)},
			id: IDExtdiscoTURNS443, sev: Info, says: []string{"without credentials", IDExtdiscoNoCreds}},
		{name: "UDP only", servers: []extdisco.ICEServer{stun, turnUDP},
			id: IDExtdiscoNoTURNS443, sev: Warning, says: []string{"no TURN over TLS (turns) service is announced on port 443: users behind networks that let only 443 out cannot call"}},
		{name: "TLS on 5349 only", servers: []extdisco.ICEServer{turnUDP, turnTCP, turns5349},
			id: IDExtdiscoNoTURNS443, sev: Warning, says: []string{"only on port 5349:", "cannot call"}},
		{name: "TLS on two other ports", servers: []extdisco.ICEServer{turns5349, svc("turns", "tcp", 8443), svc("turns", "tcp", 5349)},
			id: IDExtdiscoNoTURNS443, sev: Warning, says: []string{"only on ports 5349, 8443:"}},
		{name: "plain TCP on 443 is not TLS", servers: []extdisco.ICEServer{turnUDP, svc("turn", "tcp", 443)},
			id: IDExtdiscoNoTURNS443, sev: Warning, says: []string{"cannot call", "plain TURN over TCP on 443"}},
		{name: "UDP on 443 is not TLS", servers: []extdisco.ICEServer{svc("turn", "udp", 443)},
			id: IDExtdiscoNoTURNS443, sev: Warning, saysNot: []string{"plain TURN over TCP"}},
		{name: "STUN on 443 is not TURN", servers: []extdisco.ICEServer{turnUDP, svc("stuns", "tcp", 443)},
			id: IDExtdiscoNoTURNS443, sev: Warning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := TURNS443("example.org", tc.servers)
			if tc.none {
				if ok {
					t.Errorf("got %+v, want no finding", f)
				}
				return
			}
			if !ok || f.ID != tc.id || f.Severity != tc.sev || f.Subject != "example.org" {
				t.Fatalf("got %+v (ok %v); want %s %s", f, ok, tc.sev, tc.id)
			}
			for _, s := range tc.says {
				if !strings.Contains(f.What, s) {
					t.Errorf("%q does not say %q", f.What, s)
				}
			}
			for _, s := range tc.saysNot {
				if strings.Contains(f.What, s) {
					t.Errorf("%q says %q", f.What, s)
				}
			}
			if f.Severity.Problem() {
				if !strings.Contains(f.Fix, "tls_port = 443") || !strings.Contains(f.Fix, `"tls:443"`) || !strings.Contains(f.Fix, "--xmpp-config prosody") {
					t.Errorf("fix %q does not name tls_port, advertise and --xmpp-config", f.Fix)
				}
				if f.Docs != "docs/DEPLOY.md#networks-that-let-only-443-out" {
					t.Errorf("docs %q, want the section on networks that let only 443 out", f.Docs)
				}
			} else if f.Fix != "" || f.Docs != "" {
				t.Errorf("a finding that is no problem carries a fix: %+v", f)
			}
		})
	}
}
