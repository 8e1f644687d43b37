package doctor

import (
	"fmt"
	"strings"
)

// Text is the report for people: one line per finding in the order the
// checks ran, the fix and the docs section under each problem, and a last
// line that counts the problems.
func (r *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "jingle doctor for %s\n", r.JID)
	for _, f := range r.Findings {
		subject := ""
		if f.Subject != "" {
			subject = f.Subject + ": "
		}
		fmt.Fprintf(&b, "%-7s %s  %s%s\n", strings.ToUpper(string(f.Severity)), f.ID, subject, f.What)
		if f.Fix != "" {
			fmt.Fprintf(&b, "        fix: %s\n", f.Fix)
		}
		if f.Docs != "" {
			fmt.Fprintf(&b, "        see: %s\n", f.Docs)
		}
	}
	switch n := len(r.Problems()); n {
	case 0:
		b.WriteString("No problems found.")
	case 1:
		b.WriteString("1 problem found.")
	default:
		fmt.Fprintf(&b, "%d problems found.", n)
	}
	return b.String()
}
