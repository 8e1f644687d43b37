// Package xmltree compares XML documents as namespace-aware trees, the way
// an XMPP peer sees them: element and attribute names carry their resolved
// namespace (prefixes and where a namespace was declared do not matter),
// attributes form a set, character data is trimmed, comments and
// processing instructions are ignored.
//
// The golden and fuzz tests of jingle, ice and rtp use it to check that
// decoding and re-encoding a stanza keeps what XEP-0166 peers act on,
// which a string compare cannot tell (quote style, attribute order and
// namespace declarations all change legitimately on the way through
// encoding/xml). ice's and rtp's golden tests compare siblings of
// different names in any order (SiblingOrderByName) and let strict
// writing add attributes the input lacked (ExtraAttr); golden.go reads
// their <case/> files (LoadCases) and reports differences (Report).
package xmltree

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Node is one element.
type Node struct {
	Name xml.Name
	// Attr holds the attributes, namespace declarations excluded.
	Attr map[xml.Name]string
	// Text is the element's own character data, concatenated and trimmed.
	Text     string
	Children []*Node
}

// errNoElement is returned for input without any element.
var errNoElement = errors.New("xmltree: no element")

// Parse reads the first element of b (comments and a prolog may precede
// it) and returns it as a tree. The XML must be well-formed up to the end
// of that element; anything after it is ignored.
func Parse(b []byte) (*Node, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	var stack []*Node
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if len(stack) == 0 {
					return nil, errNoElement
				}
				return nil, fmt.Errorf("xmltree: unexpected end inside <%s>: %w", stack[len(stack)-1].Name.Local, io.ErrUnexpectedEOF)
			}
			return nil, fmt.Errorf("xmltree: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &Node{Name: t.Name, Attr: make(map[xml.Name]string, len(t.Attr))}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				if _, dup := n.Attr[a.Name]; dup {
					// encoding/xml lets this through; XML 1.0 §3.1 does not.
					return nil, fmt.Errorf("xmltree: <%s>: duplicate attribute %s", t.Name.Local, name(a.Name))
				}
				n.Attr[a.Name] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.Text = strings.TrimSpace(n.Text)
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return n, nil
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(t)
			}
		}
	}
}

// Option changes what Diff treats as equal.
type Option func(*options)

type options struct {
	ignoreAttr   map[xml.Name]bool
	looseSibling bool
	extraAttr    func(element, attr xml.Name) bool
}

// IgnoreAttr makes Diff skip the attribute with this namespace and local
// name wherever it occurs, e.g. xml:lang, which servers stamp on stanzas
// and the Jingle core does not keep.
func IgnoreAttr(space, local string) Option {
	return func(o *options) { o.ignoreAttr[xml.Name{Space: space, Local: local}] = true }
}

// SiblingOrderByName makes Diff compare children with different names in
// any relative order, keeping the order among children of the same name.
// XEP-0166 gives no meaning to the order of, say, <content/> against
// <reason/>, while the order of <content/>s or of <payload-type/>s (codec
// preference) is significant and stays checked.
func SiblingOrderByName() Option {
	return func(o *options) { o.looseSibling = true }
}

// ExtraAttr lets got carry an attribute that want lacks where ok says so
// for the element and attribute names: what a strict writer adds to input
// that omitted it (a candidate's generation, say).
func ExtraAttr(ok func(element, attr xml.Name) bool) Option {
	return func(o *options) { o.extraAttr = ok }
}

// Diff lists the differences between want and got, each naming the path
// of the element where it was found. It returns nil for equal trees.
func Diff(want, got *Node, opts ...Option) []string {
	o := options{ignoreAttr: map[xml.Name]bool{}}
	for _, f := range opts {
		f(&o)
	}
	var out []string
	diff(&o, "", -1, want, got, &out)
	return out
}

// DiffBytes parses both documents and diffs them.
func DiffBytes(want, got []byte, opts ...Option) ([]string, error) {
	w, err := Parse(want)
	if err != nil {
		return nil, fmt.Errorf("want: %w", err)
	}
	g, err := Parse(got)
	if err != nil {
		return nil, fmt.Errorf("got: %w", err)
	}
	return Diff(w, g, opts...), nil
}

func name(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return "{" + n.Space + "}" + n.Local
}

// diff compares want and got, the idx-th children of the element at path
// (idx < 0 for the root).
func diff(o *options, path string, idx int, want, got *Node, out *[]string) {
	if want == nil || got == nil {
		if want != got {
			*out = append(*out, fmt.Sprintf("%s: want %v, got %v", path, want, got))
		}
		return
	}
	here := path + "/" + name(want.Name)
	if idx >= 0 {
		here += fmt.Sprintf("[%d]", idx)
	}
	if want.Name != got.Name {
		*out = append(*out, fmt.Sprintf("%s: element name: got %s", here, name(got.Name)))
		return
	}
	for _, k := range sortedKeys(want.Attr, got.Attr) {
		if o.ignoreAttr[k] {
			continue
		}
		wv, wok := want.Attr[k]
		gv, gok := got.Attr[k]
		switch {
		case !gok:
			*out = append(*out, fmt.Sprintf("%s: missing attribute %s=%q", here, name(k), wv))
		case !wok:
			if o.extraAttr != nil && o.extraAttr(want.Name, k) {
				continue
			}
			*out = append(*out, fmt.Sprintf("%s: unexpected attribute %s=%q", here, name(k), gv))
		case wv != gv:
			*out = append(*out, fmt.Sprintf("%s: attribute %s: want %q, got %q", here, name(k), wv, gv))
		}
	}
	if want.Text != got.Text {
		*out = append(*out, fmt.Sprintf("%s: text: want %q, got %q", here, want.Text, got.Text))
	}
	wc, gc := want.Children, got.Children
	if o.looseSibling {
		wc, gc = byName(wc), byName(gc)
	}
	for i := 0; i < len(wc) || i < len(gc); i++ {
		switch {
		case i >= len(gc):
			*out = append(*out, fmt.Sprintf("%s: missing child %s", here, wc[i]))
		case i >= len(wc):
			*out = append(*out, fmt.Sprintf("%s: unexpected child %s", here, gc[i]))
		default:
			diff(o, here, i, wc[i], gc[i], out)
		}
	}
}

// byName returns the children stably sorted by name.
func byName(c []*Node) []*Node {
	s := append([]*Node(nil), c...)
	sort.SliceStable(s, func(i, j int) bool {
		a, b := s[i].Name, s[j].Name
		if a.Space != b.Space {
			return a.Space < b.Space
		}
		return a.Local < b.Local
	})
	return s
}

func sortedKeys(a, b map[xml.Name]string) []xml.Name {
	keys := make([]xml.Name, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return name(keys[i]) < name(keys[j]) })
	return keys
}

// String renders the node in a canonical form: resolved names in braces,
// attributes sorted, text trimmed. Two nodes are equal without options
// exactly when their strings are equal, which makes it a convenient
// fingerprint in fuzz tests.
func (n *Node) String() string {
	if n == nil {
		return "<nil>"
	}
	var b strings.Builder
	n.write(&b)
	return b.String()
}

func (n *Node) write(b *strings.Builder) {
	b.WriteString("<" + name(n.Name))
	for _, k := range sortedKeys(n.Attr, nil) {
		fmt.Fprintf(b, " %s=%q", name(k), n.Attr[k])
	}
	b.WriteString(">")
	if n.Text != "" {
		fmt.Fprintf(b, "%q", n.Text)
	}
	for _, c := range n.Children {
		c.write(b)
	}
	b.WriteString("</>")
}

// InStream gives every element without a namespace the namespace space,
// as if n had been read inside an XMPP stream whose default namespace is
// space. XEP examples omit xmlns='jabber:client' on stanzas, which the
// stream header declares on the wire.
func (n *Node) InStream(space string) {
	if n.Name.Space == "" {
		n.Name.Space = space
	}
	for _, c := range n.Children {
		c.InStream(space)
	}
}

// AttrValue returns the value of the attribute local without a namespace,
// or "".
func (n *Node) AttrValue(local string) string {
	return n.Attr[xml.Name{Local: local}]
}

// Find returns every element named {space}local in n, n included, depth
// first.
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

// Without returns a copy of n without the descendants named local (in any
// namespace).
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

// XMLBytes serializes n as a document of its own: a default namespace
// declaration wherever the namespace changes, a prefix declared for each
// namespaced attribute (xml: for the XML namespace), attributes sorted,
// so that encoding/xml reads back the same tree.
func (n *Node) XMLBytes() []byte {
	var b bytes.Buffer
	n.writeXML(&b, "")
	return b.Bytes()
}

// nsXML is the namespace bound to the xml: prefix.
const nsXML = "http://www.w3.org/XML/1998/namespace"

func (n *Node) writeXML(b *bytes.Buffer, parentNS string) {
	b.WriteString("<" + n.Name.Local)
	if n.Name.Space != parentNS {
		fmt.Fprintf(b, " xmlns=%q", n.Name.Space)
	}
	for i, k := range sortedKeys(n.Attr, nil) {
		attr := k.Local
		switch k.Space {
		case "":
		case nsXML:
			attr = "xml:" + k.Local
		default:
			prefix := fmt.Sprintf("a%d", i)
			fmt.Fprintf(b, " xmlns:%s=%q", prefix, k.Space)
			attr = prefix + ":" + k.Local
		}
		b.WriteString(" " + attr + "=\"")
		_ = xml.EscapeText(b, []byte(n.Attr[k]))
		b.WriteString("\"")
	}
	b.WriteString(">")
	_ = xml.EscapeText(b, []byte(n.Text))
	for _, c := range n.Children {
		c.writeXML(b, n.Name.Space)
	}
	b.WriteString("</" + n.Name.Local + ">")
}
