package cli

import (
	"strings"
	"testing"
)

// TestFetchUsage: what fetch refuses before logging in.
func TestFetchUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no name", []string{"fetch", "drop@example.org"}, "accepts 2 arg(s)"},
		{"empty name", []string{"fetch", "drop@example.org", " "}, "NAME is empty"},
		{"bad transport", []string{"fetch", "drop@example.org", "a.bin", "--transport", "carrier-pigeon"}, "--transport"},
		{"negative age", []string{"fetch", "drop@example.org", "a.bin", "--out", t.TempDir(), "--partial-max-age", "-1h"}, "--partial-max-age"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := run(t, tc.args...)
			if code != ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, ExitUsage, tc.want)
			}
		})
	}
}
