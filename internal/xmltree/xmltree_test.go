package xmltree

import (
	"encoding/xml"
	"strings"
	"testing"
)

const base = `<iq xmlns='jabber:client' type='set' id='1'>
  <jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='a73sjjvkla37jfea'>
    <reason><success/><text>bye</text></reason>
  </jingle>
</iq>`

func TestDiff(t *testing.T) {
	tests := []struct {
		name string
		got  string
		opts []Option
		// want is a substring of the first difference, or "" for equal.
		want string
	}{
		{
			name: "same document",
			got:  base,
		},
		{
			name: "quotes, attribute order and whitespace do not matter",
			got: `<iq id="1" type="set" xmlns="jabber:client"><jingle sid="a73sjjvkla37jfea" action="session-terminate" xmlns="urn:xmpp:jingle:1">` +
				`<reason><success></success><text>  bye
</text></reason></jingle></iq>`,
		},
		{
			name: "prefixed namespace equals default namespace",
			got: `<iq xmlns='jabber:client' xmlns:j='urn:xmpp:jingle:1' type='set' id='1'><j:jingle action='session-terminate' sid='a73sjjvkla37jfea'>` +
				`<j:reason><j:success/><j:text>bye</j:text></j:reason></j:jingle></iq>`,
		},
		{
			name: "changed attribute",
			got:  strings.Replace(base, "session-terminate", "session-info", 1),
			want: `attribute action: want "session-terminate", got "session-info"`,
		},
		{
			name: "missing attribute",
			got:  strings.Replace(base, " id='1'", "", 1),
			want: `missing attribute id="1"`,
		},
		{
			name: "unexpected attribute",
			got:  strings.Replace(base, " id='1'", " id='1' to='x'", 1),
			want: `unexpected attribute to="x"`,
		},
		{
			name: "missing child",
			got:  strings.Replace(base, "<text>bye</text>", "", 1),
			want: "missing child <{urn:xmpp:jingle:1}text>",
		},
		{
			name: "unexpected child",
			got:  strings.Replace(base, "<success/>", "<success/><busy/>", 1),
			want: "[1]: element name: got {urn:xmpp:jingle:1}busy",
		},
		{
			name: "changed namespace",
			got:  strings.Replace(base, "urn:xmpp:jingle:1", "urn:xmpp:jingle:0", 1),
			want: "element name: got {urn:xmpp:jingle:0}jingle",
		},
		{
			name: "namespace moved off a child",
			got:  strings.Replace(base, "<reason>", "<reason xmlns='urn:xmpp:other'>", 1),
			want: "element name: got {urn:xmpp:other}reason",
		},
		{
			name: "changed text",
			got:  strings.Replace(base, "bye", "ciao", 1),
			want: `text: want "bye", got "ciao"`,
		},
		{
			name: "reordered siblings",
			got:  strings.Replace(base, "<success/><text>bye</text>", "<text>bye</text><success/>", 1),
			want: "element name: got {urn:xmpp:jingle:1}text",
		},
		{
			name: "reordered siblings of different names with SiblingOrderByName",
			got:  strings.Replace(base, "<success/><text>bye</text>", "<text>bye</text><success/>", 1),
			opts: []Option{SiblingOrderByName()},
		},
		{
			name: "ignored attribute",
			got:  strings.Replace(base, "type='set'", "type='set' xml:lang='en'", 1),
			opts: []Option{IgnoreAttr("http://www.w3.org/XML/1998/namespace", "lang")},
		},
		{
			name: "xml:lang is checked by default",
			got:  strings.Replace(base, "type='set'", "type='set' xml:lang='en'", 1),
			want: `unexpected attribute {http://www.w3.org/XML/1998/namespace}lang="en"`,
		},
	}
	want, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.got))
			if err != nil {
				t.Fatal(err)
			}
			d := Diff(want, got, tt.opts...)
			if tt.want == "" {
				if len(d) != 0 {
					t.Fatalf("want equal, got differences:\n%s", strings.Join(d, "\n"))
				}
				if len(tt.opts) == 0 && want.String() != got.String() {
					t.Fatalf("equal trees with different canonical strings:\n%s\n%s", want, got)
				}
				return
			}
			if len(d) == 0 {
				t.Fatalf("want a difference containing %q, got none", tt.want)
			}
			if !strings.Contains(d[0], tt.want) {
				t.Fatalf("first difference %q does not contain %q", d[0], tt.want)
			}
			if want.String() == got.String() {
				t.Fatalf("different trees with the same canonical string %s", got)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"   ",
		"<!-- only a comment -->",
		"<a><b></a>",
		"<a>",
		"<a x='1' x='2'/>",
		"text",
	} {
		if n, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) = %s, want error", in, n)
		}
	}
}

func TestParseSkipsProlog(t *testing.T) {
	n, err := Parse([]byte("<?xml version='1.0'?>\n<!-- from XEP-0166 -->\n<a xmlns='x'><b/></a><trailing/>"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n.String(), "<{x}a><{x}b></></>"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestDiffBytes(t *testing.T) {
	d, err := DiffBytes([]byte("<a n='1'/>"), []byte("<a n='2'/>"))
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 1 {
		t.Fatalf("got %q, want one difference", d)
	}
	if _, err := DiffBytes([]byte("<a/>"), []byte("<a>")); err == nil {
		t.Fatal("want error for malformed got")
	}
}

func TestInStream(t *testing.T) {
	n, err := Parse([]byte("<iq type='get'><query xmlns='urn:q'><item/></query><error/></iq>"))
	if err != nil {
		t.Fatal(err)
	}
	n.InStream("jabber:client")
	want := `<{jabber:client}iq type="get"><{urn:q}query><{urn:q}item></></><{jabber:client}error></></>`
	if got := n.String(); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func TestExtraAttr(t *testing.T) {
	want, _ := Parse([]byte("<t xmlns='x'><candidate port='1'/></t>"))
	got, _ := Parse([]byte("<t xmlns='x'><candidate port='1' generation='0'/></t>"))
	if d := Diff(want, got); len(d) != 1 || !strings.Contains(d[0], `unexpected attribute generation="0"`) {
		t.Fatalf("without ExtraAttr: %q", d)
	}
	ok := func(el, attr xml.Name) bool { return el.Local == "candidate" && attr == xml.Name{Local: "generation"} }
	if d := Diff(want, got, ExtraAttr(ok)); len(d) != 0 {
		t.Fatalf("with ExtraAttr: %q", d)
	}
	// A missing attribute is still one.
	if d := Diff(got, want, ExtraAttr(ok)); len(d) != 1 {
		t.Fatalf("missing attribute with ExtraAttr: %q", d)
	}
}

func TestXMLBytes(t *testing.T) {
	in := base + "<!-- after -->"
	in = strings.Replace(in, "type='set'", "type='set' xml:lang='en' xmlns:o='urn:o' o:x='a&lt;b'", 1)
	n, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	j := n.Find("urn:xmpp:jingle:1", "jingle")
	if len(j) != 1 {
		t.Fatalf("Find: %d jingle elements", len(j))
	}
	for _, tree := range []*Node{n, j[0]} {
		back, err := Parse(tree.XMLBytes())
		if err != nil {
			t.Fatalf("%s: %v", tree.XMLBytes(), err)
		}
		if d := Diff(tree, back); len(d) > 0 {
			t.Fatalf("%s: %q", tree.XMLBytes(), d)
		}
	}
	if got := n.AttrValue("type"); got != "set" {
		t.Fatalf("AttrValue(type) = %q", got)
	}
	w := n.Without("text")
	if len(w.Find("urn:xmpp:jingle:1", "text")) != 0 || len(n.Find("urn:xmpp:jingle:1", "text")) != 1 {
		t.Fatal("Without removed nothing or changed its receiver")
	}
}
