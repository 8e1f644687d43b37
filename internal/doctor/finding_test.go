package doctor

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode"
)

func TestReportExitCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		sevs []Severity
		code int
	}{
		{"nothing checked", nil, 0},
		{"all fine", []Severity{OK, Info, OK}, 0},
		{"a warning is a problem", []Severity{OK, Warning}, 1},
		{"an error is a problem", []Severity{Error, OK}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Report
			for _, s := range tc.sevs {
				r.Add(New("x", s, "", ""))
			}
			if got := r.ExitCode(); got != tc.code {
				t.Errorf("ExitCode = %d, want %d", got, tc.code)
			}
		})
	}
}

func TestProblemsWorstFirst(t *testing.T) {
	var r Report
	r.Add(New("a", Warning, "", ""))
	r.Add(New("b", OK, "", ""))
	r.Add(New("c", Error, "", ""))
	r.Add(New("d", Warning, "", ""))
	var ids []string
	for _, f := range r.Problems() {
		ids = append(ids, f.ID)
	}
	if got, want := ids, []string{"c", "a", "d"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("Problems = %v, want %v", got, want)
	}
	if !r.Has("b") || r.Has("z") {
		t.Error("Has")
	}
}

func TestNewFillsFixAndDocsForProblems(t *testing.T) {
	if f := New(IDTURNAuthSecret, Error, "s", "w"); f.Fix == "" || f.Docs != "docs/DEPLOY.md#turn-auth-secret" {
		t.Errorf("problem: %+v", f)
	}
	if f := New(IDTURNAllocation, OK, "s", "w"); f.Fix != "" || f.Docs != "" {
		t.Errorf("ok finding carries a fix: %+v", f)
	}
}

// TestEveryProblemIsDocumented: each finding has a heading of its own in
// docs/DEPLOY.md's "When calls fail" section, and its docs link lands on
// a heading (its own, or the section that explains it better).
func TestEveryProblemIsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/DEPLOY.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^#+ (.+)$").FindAllSubmatch(b, -1) {
		anchors[slug(string(m[1]))] = true
	}
	ids := ProblemIDs()
	sort.Strings(ids)
	for _, id := range ids {
		re := regexp.MustCompile("(?m)^#### `" + regexp.QuoteMeta(id) + "`$")
		if !re.Match(b) {
			t.Errorf("docs/DEPLOY.md has no heading #### `%s`", id)
		}
		if a := strings.TrimPrefix(DocsAnchor(id), Docs+"#"); !anchors[a] {
			t.Errorf("%s links to %s, which no heading of docs/DEPLOY.md has", id, DocsAnchor(id))
		}
	}
}

// slug is the anchor GitHub gives a Markdown heading: lower case, spaces
// to hyphens, other punctuation dropped.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"`turn-dns`":                                   "turn-dns",
		"Networks that let only 443 out":               "networks-that-let-only-443-out",
		"Behind 1:1 NAT (cloud VMs)":                   "behind-11-nat-cloud-vms",
		"The relay beside Prosody (mod_turn_external)": "the-relay-beside-prosody-mod_turn_external",
	} {
		if got := slug(heading); got != want {
			t.Errorf("slug(%q) = %q, want %q", heading, got, want)
		}
	}
}

func TestText(t *testing.T) {
	r := Report{JID: "alice@example.org"}
	r.Add(New(IDXMPPLogin, OK, "example.org", "logged in"))
	r.Add(New(IDTURNAuthSecret, Error, "turn:relay:3478", "401"))
	want := "jingle doctor for alice@example.org\n" +
		"OK      xmpp-login  example.org: logged in\n" +
		"ERROR   turn-auth-secret  turn:relay:3478: 401\n" +
		"        fix: " + fixes[IDTURNAuthSecret] + "\n" +
		"        see: docs/DEPLOY.md#turn-auth-secret\n" +
		"1 problem found."
	if got := r.Text(); got != want {
		t.Errorf("Text:\n%s\nwant:\n%s", got, want)
	}
}
