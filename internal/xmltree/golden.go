package xmltree

import (
	"os"
	"path/filepath"
	"testing"
)

// Case is one <case/> of a golden file.
type Case struct {
	File string
	Name string
	Root *Node
}

// LoadCases reads the <case/> elements of testdata files made by
// rtp/testdata/extract.py: each holds one stanza.
func LoadCases(t testing.TB, files ...string) []Case {
	t.Helper()
	var out []Case
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		root, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, c := range root.Children {
			if len(c.Children) != 1 {
				t.Fatalf("%s: case %q has %d elements", f, c.AttrValue("name"), len(c.Children))
			}
			out = append(out, Case{File: f, Name: c.AttrValue("name"), Root: c.Children[0]})
		}
	}
	return out
}

// Report fails t with each difference between want and got (Diff under
// opts), prefixed with name.
func Report(t testing.TB, name string, want, got *Node, opts ...Option) {
	t.Helper()
	for _, d := range Diff(want, got, opts...) {
		t.Errorf("%s: %s", name, d)
	}
}
