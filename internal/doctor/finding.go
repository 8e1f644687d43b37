// Package doctor holds the checks of `jingle doctor` that need no network:
// the catalogue of findings (each with a one-line fix and the section of
// docs/DEPLOY.md that explains it), address classes, the reading of TURN
// error codes and TLS failures, and the report with its exit code. The
// probes that produce the inputs (XMPP login, XEP-0215, STUN and TURN
// transactions) live in internal/cli, so everything here is a pure
// function with a table test.
package doctor

import "sort"

// Severity ranks a finding. Warnings and errors are problems (exit code 1);
// ok and info are not.
type Severity string

// Severities, from harmless to blocking.
const (
	OK      Severity = "ok"
	Info    Severity = "info"
	Warning Severity = "warning"
	Error   Severity = "error"
)

// rank orders severities for sorting and for Worst.
func (s Severity) rank() int {
	switch s {
	case Error:
		return 3
	case Warning:
		return 2
	case Info:
		return 1
	}
	return 0
}

// Problem reports whether s makes the doctor exit with 1.
func (s Severity) Problem() bool { return s.rank() >= Warning.rank() }

// Finding is one result of one check.
type Finding struct {
	// ID names the check's outcome; it is stable (scripts and the tests
	// match on it) and is the anchor of its explanation in docs/DEPLOY.md.
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	// Subject is what was checked: a service URL, a JID, an address.
	Subject string `json:"subject,omitempty"`
	// What says what was seen, in words a person can act on.
	What string `json:"what"`
	// Fix is the one-line remedy, with the likely config line; empty for
	// findings that need none.
	Fix string `json:"fix,omitempty"`
	// Docs is the docs/DEPLOY.md section that explains it.
	Docs string `json:"docs,omitempty"`
}

// Report is every finding of one run.
type Report struct {
	JID      string    `json:"jid"`
	Findings []Finding `json:"findings"`
}

// Add appends f.
func (r *Report) Add(f Finding) { r.Findings = append(r.Findings, f) }

// Problems returns the findings that are warnings or errors, worst first
// (stable within a severity).
func (r *Report) Problems() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity.Problem() {
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Severity.rank() > out[j].Severity.rank() })
	return out
}

// Has reports whether a finding with id is in the report.
func (r *Report) Has(id string) bool {
	for _, f := range r.Findings {
		if f.ID == id {
			return true
		}
	}
	return false
}

// ExitCode is 0 when nothing is a problem, else 1.
func (r *Report) ExitCode() int {
	if len(r.Problems()) > 0 {
		return 1
	}
	return 0
}
