package jingle

import (
	"crypto/rand"
	"fmt"
	"sort"
	"strings"
)

// bareJID strips the resource of a JID (RFC 7622 §3.1): everything from
// the first '/' on.
func bareJID(j string) string {
	if i := strings.IndexByte(j, '/'); i >= 0 {
		return j[:i]
	}
	return j
}

// newID returns a random UUIDv4, the form XEP-0353 recommends for ids
// that become Jingle sids.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// descriptionSet is the sorted, deduplicated list of description
// namespaces of contents, the "functionally equivalent" key of the
// session-initiate tie-break.
func descriptionSet(cs []Content) string {
	set := make([]string, 0, len(cs))
	for i := range cs {
		set = append(set, cs[i].DescriptionNS())
	}
	sort.Strings(set)
	out := set[:0]
	for i, ns := range set {
		if i == 0 || ns != set[i-1] {
			out = append(out, ns)
		}
	}
	return strings.Join(out, " ")
}
