// Package goldentree is a small namespace-aware XML tree for the golden
// tests of ice and rtp: attributes compare as sets, siblings compare in
// order within each element name, so equivalent XML written with other
// prefixes or interleavings is equal, and a writer may be allowed to add
// attributes its input lacked (strict writing). jingle's tests use
// jingle/internal/xmltree, which compares whole stanzas.
package goldentree

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Node is an element.
type Node struct {
	Name     xml.Name
	Attr     map[string]string
	Children []*Node
	Text     string
}

// Parse reads the first element of b.
func Parse(b []byte) (*Node, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	var stack []*Node
	var root *Node
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &Node{Name: t.Name, Attr: map[string]string{}}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") || a.Name.Space != "" {
					continue
				}
				n.Attr[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no element")
	}
	var trim func(*Node)
	trim = func(n *Node) {
		n.Text = strings.TrimSpace(n.Text)
		for _, c := range n.Children {
			trim(c)
		}
	}
	trim(root)
	return root, nil
}

// XMLBytes serializes n with a default namespace declaration wherever the
// namespace changes, so it can be fed to encoding/xml on its own.
func (n *Node) XMLBytes() []byte {
	var b bytes.Buffer
	n.write(&b, "")
	return b.Bytes()
}

func (n *Node) write(b *bytes.Buffer, parentNS string) {
	b.WriteString("<" + n.Name.Local)
	if n.Name.Space != parentNS {
		fmt.Fprintf(b, " xmlns=%q", n.Name.Space)
	}
	keys := make([]string, 0, len(n.Attr))
	for k := range n.Attr {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(" " + k + "=\"")
		_ = xml.EscapeText(b, []byte(n.Attr[k]))
		b.WriteString("\"")
	}
	b.WriteString(">")
	_ = xml.EscapeText(b, []byte(n.Text))
	for _, c := range n.Children {
		c.write(b, n.Name.Space)
	}
	b.WriteString("</" + n.Name.Local + ">")
}

// Find returns every element named {space}local, depth first.
func (n *Node) Find(space, local string) []*Node {
	var out []*Node
	if n.Name.Space == space && n.Name.Local == local {
		out = append(out, n)
	}
	for _, c := range n.Children {
		out = append(out, c.Find(space, local)...)
	}
	return out
}

// Without returns a copy of n without the children named local.
func (n *Node) Without(local string) *Node {
	c := *n
	c.Children = nil
	for _, ch := range n.Children {
		if ch.Name.Local != local {
			c.Children = append(c.Children, ch.Without(local))
		}
	}
	return &c
}

// ExtraOK says which attributes the writer may add that the input lacked.
type ExtraOK func(element xml.Name, attr string) bool

// Diff reports how got differs from want.
func Diff(t testing.TB, path string, want, got *Node, ok ExtraOK) {
	t.Helper()
	if want.Name != got.Name {
		t.Errorf("%s: element %v, want %v", path, got.Name, want.Name)
		return
	}
	path += "/" + want.Name.Local
	for k, v := range want.Attr {
		if g, present := got.Attr[k]; !present || g != v {
			t.Errorf("%s@%s = %q (present %v), want %q", path, k, g, present, v)
		}
	}
	for k, v := range got.Attr {
		if _, present := want.Attr[k]; !present && (ok == nil || !ok(want.Name, k)) {
			t.Errorf("%s@%s = %q written but not in input", path, k, v)
		}
	}
	if want.Text != got.Text {
		t.Errorf("%s text = %q, want %q", path, got.Text, want.Text)
	}
	group := func(n *Node) map[xml.Name][]*Node {
		m := map[xml.Name][]*Node{}
		for _, c := range n.Children {
			m[c.Name] = append(m[c.Name], c)
		}
		return m
	}
	wg, gg := group(want), group(got)
	for name, ws := range wg {
		gs := gg[name]
		if len(gs) != len(ws) {
			t.Errorf("%s: %d <%s xmlns=%q>, want %d", path, len(gs), name.Local, name.Space, len(ws))
			continue
		}
		for i := range ws {
			Diff(t, fmt.Sprintf("%s[%d]", path, i), ws[i], gs[i], ok)
		}
	}
	for name, gs := range gg {
		if _, present := wg[name]; !present {
			t.Errorf("%s: %d <%s xmlns=%q> written but not in input", path, len(gs), name.Local, name.Space)
		}
	}
}

// Case is one <case/> of a golden file.
type Case struct {
	File string
	Name string
	Root *Node
}

// LoadCases reads the <case/> elements of testdata files made by
// rtp/testdata/extract.py.
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
				t.Fatalf("%s: case %q has %d elements", f, c.Attr["name"], len(c.Children))
			}
			out = append(out, Case{File: f, Name: c.Attr["name"], Root: c.Children[0]})
		}
	}
	return out
}
