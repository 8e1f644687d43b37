package doctor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jingled/jingled/xmpp/extdisco"
)

// TURNS443 judges whether the services the XMPP server announces
// (XEP-0215) let its users call from networks that let only TCP 443 out
// (hotels, offices, schools): that takes TURN over TLS (turns) on port
// 443, since such networks pass nothing else and often only what looks
// like TLS. subject is the server's domain. ok is false when no TURN
// service is announced at all, which IDExtdiscoNoTURN already reports.
//
// A turns service on 443 announced without credentials (Borrowed) counts
// as there, as information: IDExtdiscoNoCreds warns about it.
func TURNS443(subject string, servers []extdisco.ICEServer) (f Finding, ok bool) {
	var (
		turn     bool
		good     []string // turns on 443 with credentials
		borrowed []string // turns on 443 without
		tlsPorts []string // turns on other ports
		tcp443   bool     // plain TURN over TCP on 443
	)
	for _, s := range servers {
		typ := strings.ToLower(s.Type)
		if typ != "turn" && typ != "turns" {
			continue
		}
		turn = true
		switch {
		case typ == "turns" && s.Port == 443 && s.Borrowed:
			borrowed = append(borrowed, s.URL)
		case typ == "turns" && s.Port == 443:
			good = append(good, s.URL)
		case typ == "turns":
			if p := strconv.Itoa(s.Port); !slices.Contains(tlsPorts, p) {
				tlsPorts = append(tlsPorts, p)
			}
		case s.Port == 443 && strings.EqualFold(s.Transport, "tcp"):
			tcp443 = true
		}
	}
	switch {
	case !turn:
		return Finding{}, false
	case len(good) > 0:
		return New(IDExtdiscoTURNS443, OK, subject, fmt.Sprintf(
			"TURN over TLS is announced on port 443 (%s): users behind networks that let only 443 out can reach the relay",
			strings.Join(good, ", "))), true
	case len(borrowed) > 0:
		return New(IDExtdiscoTURNS443, Info, subject, fmt.Sprintf(
			"TURN over TLS is announced on port 443 (%s), but without credentials: behind networks that let only 443 out, only clients that lend it another TURN service's credentials (as jingle does) can call (see %s)",
			strings.Join(borrowed, ", "), IDExtdiscoNoCreds)), true
	}
	what := "no TURN over TLS (turns) service is announced on port 443"
	switch len(tlsPorts) {
	case 0:
	case 1:
		what += ", only on port " + tlsPorts[0]
	default:
		what += ", only on ports " + strings.Join(tlsPorts, ", ")
	}
	what += ": users behind networks that let only 443 out cannot call"
	if tcp443 {
		what += " (plain TURN over TCP on 443 is announced: it passes a firewall that checks the port only, not one that lets only TLS through)"
	}
	return New(IDExtdiscoNoTURNS443, Warning, subject, what), true
}
