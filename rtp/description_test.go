package rtp

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/jingled/jingled/internal/xmltree"
	"github.com/jingled/jingled/jingle"
)

// TestDescriptionGolden decodes every RTP description of the XEP examples
// and of StanzaJS's and Dino's stanzas, encodes it again and compares the
// trees. The only loss allowed is Dino's SDES <encryption>, which is
// ignored by design (DTLS-SRTP only).
func TestDescriptionGolden(t *testing.T) {
	n, sdes := 0, 0
	for _, c := range xmltree.LoadCases(t, "xeps.xml", "stanzajs.xml", "dino.xml", "conversations.xml") {
		for i, d := range c.Root.Find(NS, "description") {
			n++
			var got Description
			if err := xml.Unmarshal(d.XMLBytes(), &got); err != nil {
				t.Errorf("%s: description %d: %v\n%s", c.Name, i, err, d.XMLBytes())
				continue
			}
			out, err := xml.Marshal(got)
			if err != nil {
				t.Errorf("%s: description %d: marshal: %v", c.Name, i, err)
				continue
			}
			if strings.Contains(string(out), "crypto") || strings.Contains(string(out), "encryption") {
				t.Errorf("%s: SDES written: %s", c.Name, out)
			}
			gt, err := xmltree.Parse(out)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			if len(d.Find(NS, "encryption")) > 0 {
				sdes++
			}
			xmltree.Report(t, c.Name, d.Without("encryption"), gt, xmltree.SiblingOrderByName())
		}
	}
	if n < 60 || sdes == 0 {
		t.Fatalf("golden inputs hold %d descriptions, %d with SDES", n, sdes)
	}
}

// TestGroupGolden round-trips every XEP-0338 group.
func TestGroupGolden(t *testing.T) {
	n := 0
	for _, c := range xmltree.LoadCases(t, "xeps.xml", "stanzajs.xml", "dino.xml", "conversations.xml") {
		for _, g := range c.Root.Find(NSGrouping, "group") {
			n++
			var got Group
			if err := xml.Unmarshal(g.XMLBytes(), &got); err != nil {
				t.Errorf("%s: %v", c.Name, err)
				continue
			}
			out, err := xml.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			gt, err := xmltree.Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			xmltree.Report(t, c.Name, g, gt, xmltree.SiblingOrderByName())
		}
	}
	if n < 20 {
		t.Fatalf("only %d groups", n)
	}
}

// TestDescriptionThroughJingle checks the description survives the core's
// raw Element, whose Decode must resolve StanzaJS's rtcpf:/rtph: prefixes.
func TestDescriptionThroughJingle(t *testing.T) {
	var seen bool
	for _, c := range xmltree.LoadCases(t, "stanzajs.xml") {
		js := c.Root.Find(jingle.NS, "jingle")
		if len(js) != 1 || !strings.Contains(string(js[0].XMLBytes()), "rtcp-fb") {
			continue
		}
		j, err := jingle.Parse(js[0].XMLBytes())
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		for _, ct := range j.Contents {
			if ct.DescriptionNS() != NS {
				continue
			}
			d, err := Decode(ct.Description)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			for _, p := range d.PayloadTypes {
				if p.Name == "opus" && len(p.RTCPFeedback) == 1 && p.RTCPFeedback[0].Type == "transport-cc" {
					seen = true
				}
			}
		}
	}
	if !seen {
		t.Fatal("opus transport-cc feedback (prefixed rtcpf:rtcp-fb) lost through jingle.Element")
	}
}

func TestParameterTrimming(t *testing.T) {
	in := `<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>` +
		`<source xmlns='urn:xmpp:jingle:apps:rtp:ssma:0' ssrc='1'>` +
		`<parameter name=' msid ' value=' s1 t1 '/><parameter name='cname' value='c '/></source></description>`
	var d Description
	if err := xml.Unmarshal([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	if got := d.Sources[0].Parameter("msid"); got != "s1 t1" {
		t.Fatalf("msid %q", got)
	}
	// Writing trims too, whatever the caller put in.
	d.Sources[0].Parameters[1].Value = "\tc2\n"
	out, err := xml.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `value="s1 t1"`) || !strings.Contains(string(out), `value="c2"`) {
		t.Fatalf("untrimmed: %s", out)
	}
}
