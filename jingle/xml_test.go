package jingle

import (
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jingled/jingled/internal/xmltree"
)

// content is a minimal valid content for session-initiate.
const content = `<content creator='initiator' name='voice'>` +
	`<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>` +
	`<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content>`

func TestParseRejects(t *testing.T) {
	jingle := func(attrs, inner string) string {
		return `<jingle xmlns='urn:xmpp:jingle:1' ` + attrs + `>` + inner + `</jingle>`
	}
	init := `action='session-initiate' sid='s1'`
	tests := []struct {
		name string
		in   string
		// text is a substring of the error text.
		text string
	}{
		{"empty input", "", "malformed"},
		{"garbage", "\x00\xff not xml at all", "malformed"},
		{"truncated", `<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s1'><content`, "malformed"},
		{"mismatched end tag", jingle(init, `<content creator='initiator' name='a'></contents>`), "malformed"},
		{"unclosed child", jingle(init, `<content creator='initiator' name='a'>`), "malformed"},
		{"undefined entity", jingle(`action='session-info' sid='&bogus;'`, ""), "malformed"},
		{"wrong element", `<jingel xmlns='urn:xmpp:jingle:1' action='session-info' sid='s1'/>`, "malformed"},
		{"wrong namespace", `<jingle xmlns='urn:xmpp:jingle:0' action='session-info' sid='s1'/>`, "malformed"},
		{"no namespace", `<jingle action='session-info' sid='s1'/>`, "malformed"},
		{"missing sid", jingle(`action='session-info'`, ""), "without sid"},
		{"empty sid", jingle(`action='session-info' sid=''`, ""), "without sid"},
		{"missing action", jingle(`sid='s1'`, ""), "unknown jingle action"},
		{"unknown action", jingle(`action='session-iniate' sid='s1'`, ""), "unknown jingle action"},
		{"action in wrong case", jingle(`action='Session-Info' sid='s1'`, ""), "unknown jingle action"},
		{"duplicate content names", jingle(init, content+content), "duplicate content name"},
		{"content without name", jingle(init, `<content creator='initiator'><description xmlns='urn:x'/></content>`), "content without name"},
		{"bad creator", jingle(init, strings.Replace(content, "creator='initiator'", "creator='both'", 1)), "invalid creator"},
		{"bad senders", jingle(init, strings.Replace(content, "name='voice'", "name='voice' senders='everyone'", 1)), "invalid senders"},
		{"session-initiate without content", jingle(init, ""), "without content"},
		{"session-accept content without description or transport", jingle(`action='session-accept' sid='s1'`, `<content creator='initiator' name='a'/>`), "neither description nor transport"},
		{"transport-info without transport", jingle(`action='transport-info' sid='s1'`, `<content creator='initiator' name='a'/>`), "has no transport"},
		{"content-remove without content", jingle(`action='content-remove' sid='s1'`, ""), "without content"},
		{"unknown reason", jingle(`action='session-terminate' sid='s1'`, `<reason><bored/></reason>`), "unknown reason condition"},
		{"reason without condition", jingle(`action='session-terminate' sid='s1'`, `<reason><text>why</text></reason>`), "malformed"},
		{"deep nesting", jingle(init, strings.Repeat("<x>", MaxDepth)+strings.Repeat("</x>", MaxDepth)), "nested deeper"},
		{"very deep nesting", jingle(init, strings.Repeat("<x>", 100000)), "nested deeper"},
		{"huge attribute", jingle(`action='session-info' sid='`+strings.Repeat("a", MaxAttrLen+1)+`'`, ""), "attribute longer"},
		{"huge attribute deep inside", jingle(init, strings.Replace(content, "media='audio'", "media='"+strings.Repeat("&amp;", MaxAttrLen+1)+"'", 1)), "attribute longer"},
		{"huge element", jingle(`action='session-info' sid='s1'`, strings.Repeat("<ping xmlns='urn:x'/>", MaxSize/20)), "exceeds"},
		{"two colons in a name", jingle(`action='session-info' sid='s1'`, `<a:b:c xmlns:a='urn:x'/>`), "malformed"},
		{"name ending in a colon", jingle(`action='session-info' sid='s1'`, `<a: xmlns='urn:x'/>`), "invalid XML name"},
		{"inner name ending in a colon", jingle(`action='session-info' sid='s1'`, `<a xmlns='urn:x'><b:/></a>`), "invalid XML name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse accepted %.200q: %+v", tt.in, j)
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error %v is not a bad-request *Error", err)
			}
			if e.Type != ErrorTypeModify {
				t.Fatalf("error type %s, want modify", e.Type)
			}
			if !strings.Contains(e.Text, tt.text) {
				t.Fatalf("error text %q does not contain %q", e.Text, tt.text)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"nesting at the limit", `<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s1'>` +
			strings.Repeat("<x xmlns='urn:x'>", MaxDepth-1) + strings.Repeat("</x>", MaxDepth-1) + `</jingle>`},
		{"attribute at the limit", `<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='` + strings.Repeat("s", MaxAttrLen) + `'/>`},
		{"prefixed jingle", `<j:jingle xmlns:j='urn:xmpp:jingle:1' action='session-info' sid='s1'/>`},
		{"creator omitted", `<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='s1'><content name='0'><transport xmlns='urn:x'/></content></jingle>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.in)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseDefaultsCreator(t *testing.T) {
	j, err := Parse([]byte(`<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='s1'><content name='0'><transport xmlns='urn:x'/></content></jingle>`))
	if err != nil {
		t.Fatal(err)
	}
	if c := j.Contents[0]; c.Creator != CreatorInitiator || c.Senders.Normalize() != SendersBoth {
		t.Fatalf("content %+v", c)
	}
}

// marshalTree marshals v and parses it as a tree.
func marshalTree(t *testing.T, v any) *xmltree.Node {
	t.Helper()
	b, err := xml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	n, err := xmltree.Parse(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return n
}

func mustTree(t *testing.T, s string) *xmltree.Node {
	t.Helper()
	n, err := xmltree.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestElementNamespaces covers namespace forms the golden files do not:
// prefixes declared on an ancestor of the kept element, undeclared
// default namespaces and namespaced attributes.
func TestElementNamespaces(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"prefix declared on jingle", `<jingle xmlns='urn:xmpp:jingle:1' xmlns:ice='urn:xmpp:jingle:transports:ice-udp:1' xmlns:fp='urn:xmpp:jingle:apps:dtls:0' action='transport-info' sid='s1'>` +
			`<content creator='initiator' name='0'><ice:transport ufrag='u'><fp:fingerprint hash='sha-256'>AB:CD</fp:fingerprint><ice:candidate id='c1'/></ice:transport></content></jingle>`},
		{"default namespace undeclared in a child", `<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s1'>` +
			`<ping xmlns='urn:x'><plain xmlns=''><deeper/></plain></ping></jingle>`},
		{"namespaced attributes", `<jingle xmlns='urn:xmpp:jingle:1' xmlns:a='urn:attr' action='session-info' sid='s1'>` +
			`<ping xmlns='urn:x' a:one='1' xml:lang='en'><pong a:two='2' xmlns:b='urn:b' b:three='3'/></ping></jingle>`},
		{"special characters", `<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s1'>` +
			`<note xmlns='urn:x' v='&quot;a&quot; &amp; &lt;b&gt;&#x9;&#xA;'>1 &lt; 2 &amp;&amp; "x"<![CDATA[ <raw> ]]>` +
			`<inner w='&#xD;&#x9;&#xA;&lt;&gt;&amp;&quot;&apos;'>a&#xD;b &gt; c</inner></note></jingle>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if d := xmltree.Diff(mustTree(t, tt.in), marshalTree(t, j)); len(d) > 0 {
				t.Fatalf("round trip changed the element:\n%s", strings.Join(d, "\n"))
			}
			// A kept element must also stand alone, e.g. when an
			// application decodes it.
			for _, c := range j.Contents {
				if c.Transport != nil {
					var tr struct {
						Ufrag       string `xml:"ufrag,attr"`
						Fingerprint struct {
							Hash string `xml:"hash,attr"`
						} `xml:"urn:xmpp:jingle:apps:dtls:0 fingerprint"`
						Candidates []struct{} `xml:"urn:xmpp:jingle:transports:ice-udp:1 candidate"`
					}
					if err := c.Transport.Decode(&tr); err != nil {
						t.Fatal(err)
					}
					if tr.Ufrag != "u" || tr.Fingerprint.Hash != "sha-256" || len(tr.Candidates) != 1 {
						t.Fatalf("transport decoded as %+v", tr)
					}
				}
			}
		})
	}
}

func TestReasonMarshal(t *testing.T) {
	r := &Reason{Condition: ReasonAlternativeSession, AlternativeSID: "b84tkkwlmb48kgfb", Text: "moved",
		Extra: []Element{MustElement(struct {
			XMLName xml.Name `xml:"urn:example:errors too-big"`
		}{})}}
	want := `<reason xmlns='urn:xmpp:jingle:1'><alternative-session><sid>b84tkkwlmb48kgfb</sid></alternative-session>` +
		`<text>moved</text><too-big xmlns='urn:example:errors'/></reason>`
	// Inside a JMI message the reason carries the Jingle namespace itself.
	jmi := struct {
		XMLName xml.Name `xml:"urn:xmpp:jingle-message:0 reject"`
		Reason  *Reason  `xml:"urn:xmpp:jingle:1 reason"`
	}{Reason: r}
	got := marshalTree(t, jmi)
	if len(got.Children) != 1 {
		t.Fatalf("got %s", got)
	}
	if d := xmltree.Diff(mustTree(t, want), got.Children[0]); len(d) > 0 {
		t.Fatalf("JMI reason:\n%s", strings.Join(d, "\n"))
	}
	// Inside <jingle/> it inherits the namespace.
	j := &Jingle{Action: ActionSessionTerminate, SID: "s1", Reason: r}
	got = marshalTree(t, j)
	if d := xmltree.Diff(mustTree(t, want), got.Children[0]); len(d) > 0 {
		t.Fatalf("jingle reason:\n%s", strings.Join(d, "\n"))
	}
	var back Reason
	b, _ := xml.Marshal(jmi)
	var dec struct {
		Reason *Reason `xml:"urn:xmpp:jingle:1 reason"`
	}
	if err := xml.Unmarshal(b, &dec); err != nil || dec.Reason == nil {
		t.Fatalf("%v %s", err, b)
	}
	back = *dec.Reason
	if back.Condition != r.Condition || back.AlternativeSID != r.AlternativeSID || back.Text != r.Text || len(back.Extra) != 1 {
		t.Fatalf("decoded %+v", back)
	}
}

func TestErrorRoundTrip(t *testing.T) {
	tests := []*Error{
		ErrUnknownSession,
		ErrOutOfOrder,
		ErrTieBreak,
		ErrUnsupportedInfo,
		BadRequest("no sid"),
		{Type: ErrorTypeModify, Condition: "redirect", URI: "xmpp:voicemail@capulet.lit"},
		{Type: ErrorTypeCancel, Condition: "gone", URI: "xmpp:romeo@example.net", By: "example.net"},
	}
	for _, e := range tests {
		t.Run(e.Error(), func(t *testing.T) {
			iq := (&IQ{ID: "1", From: "a@x/r", To: "b@x/r", Type: IQSet}).ErrorReply(e)
			b, err := xml.Marshal(iq)
			if err != nil {
				t.Fatal(err)
			}
			var back IQ
			if err := xml.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.Type != IQError || back.Error == nil || *back.Error != *e {
				t.Fatalf("got %+v from %s, want %+v", back.Error, b, e)
			}
			if !errors.Is(back.Error, e) {
				t.Fatal("errors.Is does not match the decoded error")
			}
		})
	}
}

func TestToErrorHidesInternalText(t *testing.T) {
	e := ToError(errors.New("open /secret/path: permission denied"))
	if e.Condition != CondInternalServerError || e.Text != "" {
		t.Fatalf("got %+v", e)
	}
}

func TestMessageElements(t *testing.T) {
	m := &Message{ID: "m1", To: "juliet@capulet.example", Type: "chat",
		Payload: []byte(`<body>hi</body><propose xmlns='urn:xmpp:jingle-message:0' id='p1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>`)}
	els, err := m.Elements()
	if err != nil {
		t.Fatal(err)
	}
	if len(els) != 2 {
		t.Fatalf("got %d elements", len(els))
	}
	// A child without xmlns is in the stanza's namespace.
	if els[0].XMLName != (xml.Name{Space: "jabber:client", Local: "body"}) {
		t.Fatalf("body decoded as %v", els[0].XMLName)
	}
	if els[1].XMLName != (xml.Name{Space: NSMessage, Local: "propose"}) || els[1].Attribute("id") != "p1" {
		t.Fatalf("propose decoded as %+v", els[1])
	}
	b, err := xml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Message
	if err := xml.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, err := xml.Marshal(&back)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := xmltree.DiffBytes(b, b2); err != nil || len(d) > 0 {
		t.Fatalf("%v %q\n%s\n%s", err, d, b, b2)
	}
}

// BenchmarkParse measures decoding a real offer: StanzaJS's audio
// session-initiate (15 payload types, header extensions, BUNDLE group).
func BenchmarkParse(b *testing.B) {
	g := loadGoldenB(b, "stanzajs-audio-call-alice-01")
	b.SetBytes(int64(len(g.iq.Payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(g.iq.Payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIQRoundTrip measures what the manager does per Jingle IQ:
// unmarshal the stanza, parse the payload, marshal it back.
func BenchmarkIQRoundTrip(b *testing.B) {
	g := loadGoldenB(b, "stanzajs-audio-call-alice-01")
	b.SetBytes(int64(len(g.raw)))
	b.ReportAllocs()
	for b.Loop() {
		var iq IQ
		if err := xml.Unmarshal(g.raw, &iq); err != nil {
			b.Fatal(err)
		}
		j, err := Parse(iq.Payload)
		if err != nil {
			b.Fatal(err)
		}
		if iq.Payload, err = xml.Marshal(j); err != nil {
			b.Fatal(err)
		}
		if _, err := xml.Marshal(&iq); err != nil {
			b.Fatal(err)
		}
	}
}

func loadGoldenB(b *testing.B, name string) *golden {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "golden", name+".xml"))
	if err != nil {
		b.Fatal(err)
	}
	g, err := decodeGolden(raw)
	if err != nil {
		b.Fatal(err)
	}
	return g
}

func ExampleParse() {
	j, err := Parse([]byte(`<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='a73sjjvkla37jfea'>
  <reason><alternative-session><sid>b84tkkwlmb48kgfb</sid></alternative-session><text>moved</text></reason>
</jingle>`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(j.Action, j.SID, j.Reason)

	_, err = Parse([]byte(`<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate'/>`))
	fmt.Println(err, errors.Is(err, ErrBadRequest))
	// Output:
	// session-terminate a73sjjvkla37jfea alternative-session (alternative sid b84tkkwlmb48kgfb): moved
	// xmpp error bad-request: jingle element without sid true
}

func ExampleElement_Decode() {
	j, err := Parse([]byte(`<jingle xmlns='urn:xmpp:jingle:1' xmlns:ice='urn:xmpp:jingle:transports:ice-udp:1' action='transport-info' sid='s1'>
  <content creator='initiator' name='0'>
    <ice:transport ufrag='pJvR'><ice:candidate component='1' ip='127.0.0.1' port='52985' type='host'/></ice:transport>
  </content>
</jingle>`))
	if err != nil {
		fmt.Println(err)
		return
	}
	// The transport is kept raw; the ICE-UDP plug-in decodes it. The
	// prefix declared on <jingle/> still resolves.
	var tr struct {
		Ufrag      string `xml:"ufrag,attr"`
		Candidates []struct {
			IP   string `xml:"ip,attr"`
			Port int    `xml:"port,attr"`
		} `xml:"urn:xmpp:jingle:transports:ice-udp:1 candidate"`
	}
	if err := j.Content("0").Transport.Decode(&tr); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(j.Content("0").TransportNS(), tr.Ufrag, tr.Candidates[0].IP, tr.Candidates[0].Port)
	// Output:
	// urn:xmpp:jingle:transports:ice-udp:1 pJvR 127.0.0.1 52985
}
