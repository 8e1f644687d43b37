package doctor

import (
	"strings"
	"testing"
	"time"
)

func TestTURNRefusal(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name     string
		code     int
		username string
		id       string
		says     string
	}{
		{"401 live credential is a secret mismatch", 401, "1700003600:alice", IDTURNAuthSecret, "do not share the same secret"},
		{"401 expired credential is expiry or skew", 401, "1699996400:alice", IDTURNAuthExpired, "expired at 2023-11-14T21:13:20Z, 1h0m0s before"},
		{"401 expiring this second counts as expired", 401, "1700000000", IDTURNAuthExpired, "expired"},
		{"401 static user", 401, "alice", IDTURNAuthSecret, "turn.users"},
		{"401 user part only", 401, ":alice", IDTURNAuthSecret, "turn.users"},
		{"403", 403, "1700003600", IDTURNForbidden, "does not let"},
		{"437", 437, "1700003600", IDTURNMismatch, "already holds"},
		{"486", 486, "1700003600", IDTURNQuota, "quota"},
		{"508", 508, "1700003600", IDTURNQuota, "quota"},
		{"500", 500, "1700003600", IDTURNAllocateFailed, "500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := TURNRefusal("turn:relay:3478?transport=udp", tc.code, "Reason", tc.username, now)
			if f.ID != tc.id || f.Severity != Error || !strings.Contains(f.What, tc.says) {
				t.Errorf("got %+v; want id %s saying %q", f, tc.id, tc.says)
			}
			if f.Fix == "" || f.Docs != DocsAnchor(tc.id) {
				t.Errorf("fix %q docs %q: want a fix and %s", f.Fix, f.Docs, DocsAnchor(tc.id))
			}
		})
	}
}
