package rtp

// A small namespace-aware XML tree for golden comparisons: attributes
// compare as sets, siblings compare in order within each element name, so
// equivalent XML written with other prefixes or interleavings is equal.

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
)

type node struct {
	Name     xml.Name
	Attr     map[string]string
	Children []*node
	Text     string
}

func parseTree(b []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	var stack []*node
	var root *node
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
			n := &node{Name: t.Name, Attr: map[string]string{}}
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
	var trim func(*node)
	trim = func(n *node) {
		n.Text = strings.TrimSpace(n.Text)
		for _, c := range n.Children {
			trim(c)
		}
	}
	trim(root)
	return root, nil
}

// xmlBytes serializes n with a default namespace declaration wherever the
// namespace changes, so it can be fed to encoding/xml on its own.
func (n *node) xmlBytes() []byte {
	var b bytes.Buffer
	n.write(&b, "")
	return b.Bytes()
}

func (n *node) write(b *bytes.Buffer, parentNS string) {
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

// find returns every element named {space}local, depth first.
func (n *node) find(space, local string) []*node {
	var out []*node
	if n.Name.Space == space && n.Name.Local == local {
		out = append(out, n)
	}
	for _, c := range n.Children {
		out = append(out, c.find(space, local)...)
	}
	return out
}

// without returns a copy of n without the children named local.
func (n *node) without(local string) *node {
	c := *n
	c.Children = nil
	for _, ch := range n.Children {
		if ch.Name.Local != local {
			c.Children = append(c.Children, ch.without(local))
		}
	}
	return &c
}

// extraOK says which attributes the writer may add that the input lacked.
type extraOK func(element xml.Name, attr string) bool

// diffTree reports how got differs from want.
func diffTree(t *testing.T, path string, want, got *node, ok extraOK) {
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
	group := func(n *node) map[xml.Name][]*node {
		m := map[xml.Name][]*node{}
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
			diffTree(t, fmt.Sprintf("%s[%d]", path, i), ws[i], gs[i], ok)
		}
	}
	for name, gs := range gg {
		if _, present := wg[name]; !present {
			t.Errorf("%s: %d <%s xmlns=%q> written but not in input", path, len(gs), name.Local, name.Space)
		}
	}
}

type goldenCase struct {
	File string
	Name string
	Root *node
}

// loadCases reads the <case/> elements of testdata files made by
// rtp/testdata/extract.py.
func loadCases(t *testing.T, files ...string) []goldenCase {
	t.Helper()
	var out []goldenCase
	for _, f := range files {
		b := readFile(t, f)
		root, err := parseTree(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, c := range root.Children {
			if len(c.Children) != 1 {
				t.Fatalf("%s: case %q has %d elements", f, c.Attr["name"], len(c.Children))
			}
			out = append(out, goldenCase{File: f, Name: c.Attr["name"], Root: c.Children[0]})
		}
	}
	return out
}
