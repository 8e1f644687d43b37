package ice

import (
	"testing"

	gt "github.com/jingled/jingled/internal/goldentree"
)

// The golden tests share internal/goldentree's XML tree.
type (
	node       = gt.Node
	extraOK    = gt.ExtraOK
	goldenCase = gt.Case
)

func parseTree(b []byte) (*node, error) { return gt.Parse(b) }

func diffTree(t *testing.T, path string, want, got *node, ok extraOK) {
	t.Helper()
	gt.Diff(t, path, want, got, ok)
}

func loadCases(t *testing.T, files ...string) []goldenCase {
	t.Helper()
	return gt.LoadCases(t, files...)
}
