package doctor

import (
	"fmt"
	"time"

	"github.com/jingled/jingled/turnserver"
)

// TURNRefusal turns a TURN error response to our Allocate (RFC 8656
// section 7.2, RFC 8489 section 14.8) into a finding: what it means and
// which config line to look at. username is the credential the XMPP
// server handed out, now the doctor's clock.
func TURNRefusal(subject string, code int, reason, username string, now time.Time) Finding {
	mk := func(id, what string) Finding {
		return New(id, Error, subject, fmt.Sprintf("the relay refused the allocation with %d %s: %s", code, reason, what))
	}
	switch code {
	case 401:
		// A shared-secret username is EXPIRY[:USER] (mod_turn_external,
		// ejabberd, coturn's use-auth-secret): the relay refuses it after
		// EXPIRY by its own clock.
		if exp, _, err := turnserver.ParseRESTUsername(username); err == nil {
			if !exp.After(now) {
				return mk(IDTURNAuthExpired, fmt.Sprintf(
					"the credential expired at %s, %s before this check: the XMPP server hands out credentials that are already dead (turn_external_ttl too small, or its clock is behind)",
					exp.UTC().Format(time.RFC3339), now.Sub(exp).Round(time.Second)))
			}
			return mk(IDTURNAuthSecret, fmt.Sprintf(
				"the credential is valid until %s by this machine's clock, so the password does not match: the XMPP server and the relay do not share the same secret (if the secrets are equal, the relay's clock is more than %s ahead)",
				exp.UTC().Format(time.RFC3339), exp.Sub(now).Round(time.Second)))
		}
		return mk(IDTURNAuthSecret, "the username/password pair is wrong for the relay's realm (a static user: check [turn.users] and realm)")
	case 403:
		return mk(IDTURNForbidden, "the relay does not let this user or address allocate")
	case 437:
		return mk(IDTURNMismatch, "the relay already holds an allocation for this client address and port")
	case 486, 508:
		return mk(IDTURNQuota, "the relay's allocation quota is used up for this user or in total")
	}
	return mk(IDTURNAllocateFailed, "an error the doctor does not know how to explain")
}
