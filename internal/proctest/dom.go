package proctest

import (
	"fmt"
	"strings"

	"golang.org/x/net/html"
)

// Element is one HTML element of a page: its tag, attributes and text
// (its descendants' text, spaces collapsed).
type Element struct {
	Tag  string
	Attr map[string]string
	Text string
}

// Elements parses page (an HTML document, e.g. what a browser's
// --dump-dom printed) and returns its elements in document order.
func Elements(page string) ([]Element, error) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return nil, fmt.Errorf("proctest: parsing HTML: %w", err)
	}
	var out []Element
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			e := Element{Tag: n.Data, Attr: map[string]string{}, Text: strings.Join(strings.Fields(text(n)), " ")}
			for _, a := range n.Attr {
				e.Attr[a.Key] = a.Val
			}
			out = append(out, e)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out, nil
}

func text(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(text(c))
		b.WriteByte(' ')
	}
	return b.String()
}

// Find returns the elements with tag (any tag if "") whose attributes
// include every key=value pair of attrs.
func Find(els []Element, tag string, attrs ...string) []Element {
	var out []Element
	for _, e := range els {
		if tag != "" && e.Tag != tag {
			continue
		}
		ok := true
		for _, kv := range attrs {
			k, v, _ := strings.Cut(kv, "=")
			if got, has := e.Attr[k]; !has || got != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, e)
		}
	}
	return out
}

// ByID is the text of the element with id, and whether there is one.
func ByID(els []Element, id string) (string, bool) {
	if m := Find(els, "", "id="+id); len(m) > 0 {
		return m[0].Text, true
	}
	return "", false
}
