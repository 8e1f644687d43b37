package ice

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/jingled/jingled/internal/xmltree"
	"github.com/jingled/jingled/jingle"
)

// goldenOpts compare a transport written back with the one read: siblings
// of different names in any order, and the attributes strict writing adds.
var goldenOpts = []xmltree.Option{xmltree.SiblingOrderByName(), xmltree.ExtraAttr(strictExtras)}

// strictExtras are the attributes strict writing adds to a candidate read
// from a tolerant input (StanzaJS omits generation, network and id, and
// rel-port on relays).
func strictExtras(el, attr xml.Name) bool {
	if el.Local != "candidate" || attr.Space != "" {
		return false
	}
	switch attr.Local {
	case "generation", "network", "id", "rel-port":
		return true
	}
	return false
}

// TestTransportGolden decodes every ICE-UDP transport of the XEP examples
// and of StanzaJS's and Dino's stanzas, encodes it again and compares the
// trees: all input survives, and only the attributes strict writing adds
// appear.
func TestTransportGolden(t *testing.T) {
	// Known errata of the inputs, which must be refused, not guessed at.
	knownBad := map[string]string{
		// A priority of 21149780477 does not fit RFC 8445's 32 bits.
		"xep-0176 #6 Initiator sends a subsequent candidate": "out of range",
	}
	n := 0
	for _, c := range xmltree.LoadCases(t, "xeps.xml", "stanzajs.xml", "dino.xml", "conversations.xml") {
		for i, tr := range c.Root.Find(NS, "transport") {
			n++
			in := tr.XMLBytes()
			var got Transport
			err := xml.Unmarshal(in, &got)
			if want, ok := knownBad[c.Name]; ok {
				if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrInvalidCandidate) {
					t.Errorf("%s: error %v, want ErrInvalidCandidate with %q", c.Name, err, want)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: transport %d: %v\n%s", c.Name, i, err, in)
				continue
			}
			out, err := xml.Marshal(got)
			if err != nil {
				t.Errorf("%s: transport %d: marshal: %v", c.Name, i, err)
				continue
			}
			gt, err := xmltree.Parse(out)
			if err != nil {
				t.Fatalf("%s: reparse: %v\n%s", c.Name, err, out)
			}
			xmltree.Report(t, c.Name, tr, gt, goldenOpts...)
			// A second round trip is a fixed point.
			var again Transport
			if err := xml.Unmarshal(out, &again); err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			out2, _ := xml.Marshal(again)
			if string(out2) != string(out) {
				t.Errorf("%s: second round trip differs:\n%s\n%s", c.Name, out, out2)
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d transports in the golden inputs", n)
	}
}

// TestTransportThroughJingleElement checks that the transport survives the
// core's raw Element, including StanzaJS's prefixed children.
func TestTransportThroughJingleElement(t *testing.T) {
	for _, c := range xmltree.LoadCases(t, "stanzajs.xml", "dino.xml", "conversations.xml") {
		if c.Root.Name.Local != "iq" {
			continue
		}
		js := c.Root.Find(jingle.NS, "jingle")
		if len(js) != 1 {
			continue
		}
		j, err := jingle.Parse(js[0].XMLBytes())
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		for _, content := range j.Contents {
			if content.TransportNS() != NS {
				continue
			}
			tr, dc, err := Decode(content.Transport)
			if err != nil {
				t.Errorf("%s: %v", c.Name, err)
				continue
			}
			if dc != nil {
				t.Errorf("%s: plain ICE-UDP decoded as datachannel wrapper", c.Name)
			}
			e, err := tr.Element()
			if err != nil {
				t.Errorf("%s: %v", c.Name, err)
				continue
			}
			back, _, err := Decode(&e)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			if back.Ufrag != tr.Ufrag || back.Pwd != tr.Pwd || len(back.Candidates) != len(tr.Candidates) ||
				len(back.Fingerprints) != len(tr.Fingerprints) || back.GatheringComplete != tr.GatheringComplete {
				t.Errorf("%s: element round trip changed the transport: %+v -> %+v", c.Name, tr, back)
			}
		}
	}
}

func TestStanzaJSQuirks(t *testing.T) {
	// A relay candidate and <gathering-complete/> exactly as StanzaJS sends them.
	in := `<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='3TtG'>` +
		`<candidate component='1' priority='41819903' port='49206' foundation='213309110' protocol='udp' ip='127.0.0.1' rel-addr='0.0.0.0' type='relay'/>` +
		`<gathering-complete/></transport>`
	var tr Transport
	if err := xml.Unmarshal([]byte(in), &tr); err != nil {
		t.Fatal(err)
	}
	if !tr.GatheringComplete || tr.Pwd != "" || len(tr.Candidates) != 1 {
		t.Fatalf("got %+v", tr)
	}
	c := tr.Candidates[0]
	want := Candidate{Component: 1, Foundation: "213309110", IP: "127.0.0.1", Port: 49206, Priority: 41819903,
		Protocol: "udp", RelAddr: "0.0.0.0", Type: TypeRelay}
	if c != want {
		t.Fatalf("candidate %+v, want %+v", c, want)
	}
	out, err := xml.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`generation="0"`, `network="0"`, `rel-port="0"`, `id="` + c.DerivedID() + `"`, `<gathering-complete>`} {
		if !strings.Contains(string(out), s) {
			t.Errorf("strict output lacks %s: %s", s, out)
		}
	}
}

func TestDataChannelDialects(t *testing.T) {
	tests := []struct {
		name, in string
		port     uint16
		maxSize  uint64
		wrapped  bool
	}{
		{
			name: "stanzajs sctpmap",
			in: `<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="X0Jv" pwd="WCO/veBICphwhC1vztOCyC8N">` +
				`<fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" setup="actpass">40:92</fingerprint>` +
				`<sctpmap xmlns="urn:xmpp:jingle:transports:dtls-sctp:1" number="5000" protocol="webrtc-datachannel"/></transport>`,
			port: 5000,
		},
		{
			name: "conversations webrtc-datachannel:1",
			in: `<transport xmlns="urn:xmpp:jingle:transports:webrtc-datachannel:1" sctp-port="5000" max-message-size="262144">` +
				`<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="a" pwd="b">` +
				`<fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" setup="actpass">40:92</fingerprint></transport></transport>`,
			port: 5000, maxSize: 262144, wrapped: true,
		},
		{
			name: "webrtc-datachannel:0 without port",
			in: `<transport xmlns="urn:xmpp:jingle:transports:webrtc-datachannel:0">` +
				`<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="a" pwd="b"/></transport>`,
			port: DefaultSCTPPort, wrapped: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e jingle.Element
			if err := xml.Unmarshal([]byte(tc.in), &e); err != nil {
				t.Fatal(err)
			}
			tr, dc, err := Decode(&e)
			if err != nil {
				t.Fatal(err)
			}
			if tr.SCTPMap == nil || tr.SCTPMap.Number != tc.port {
				t.Fatalf("sctp %+v, want port %d", tr.SCTPMap, tc.port)
			}
			if (dc != nil) != tc.wrapped {
				t.Fatalf("wrapper %+v, want wrapped=%v", dc, tc.wrapped)
			}
			if dc != nil {
				if dc.MaxMessageSize != tc.maxSize {
					t.Errorf("max-message-size %d, want %d", dc.MaxMessageSize, tc.maxSize)
				}
				out, err := xml.Marshal(dc)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := xmltree.Parse([]byte(tc.in))
				got, err := xmltree.Parse(out)
				if err != nil {
					t.Fatal(err)
				}
				xmltree.Report(t, tc.name, want, got, goldenOpts...)
			}
		})
	}
}

func TestDecodeRejectsOtherTransports(t *testing.T) {
	e := jingle.Element{XMLName: xml.Name{Space: "urn:xmpp:jingle:transports:s5b:1", Local: "transport"}}
	if _, _, err := Decode(&e); err == nil {
		t.Fatal("s5b transport decoded as ICE-UDP")
	}
	if err := xml.Unmarshal([]byte(`<transport xmlns="urn:xmpp:jingle:transports:raw-udp:1"/>`), &Transport{}); err == nil {
		t.Fatal("raw-udp transport decoded as ICE-UDP")
	}
}

func TestSetup(t *testing.T) {
	tests := []struct{ in, forAnswer, answering Setup }{
		{SetupActPass, SetupActive, SetupActive},
		{SetupActive, SetupActive, SetupPassive},
		{SetupPassive, SetupPassive, SetupActive},
		{"", SetupActive, SetupActive},
	}
	for _, tc := range tests {
		if got := tc.in.ForAnswer(); got != tc.forAnswer {
			t.Errorf("%q.ForAnswer() = %q, want %q", tc.in, got, tc.forAnswer)
		}
		if got := tc.in.Answering(); got != tc.answering {
			t.Errorf("%q.Answering() = %q, want %q", tc.in, got, tc.answering)
		}
	}
}

func TestFingerprint(t *testing.T) {
	in := "<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='SHA-256' setup='actpass'>\n  02:1A:CC\n</fingerprint>"
	var f Fingerprint
	if err := xml.Unmarshal([]byte(in), &f); err != nil {
		t.Fatal(err)
	}
	if f != (Fingerprint{Hash: "sha-256", Setup: SetupActPass, Value: "02:1A:CC"}) {
		t.Fatalf("got %+v", f)
	}
	p, err := ParseSDPFingerprint(f.SDP(), SetupActive)
	if err != nil || p.Value != f.Value || p.Hash != f.Hash || p.Setup != SetupActive {
		t.Fatalf("SDP round trip: %+v, %v", p, err)
	}
	for _, bad := range []Fingerprint{{Value: "AA"}, {Hash: "sha-256"}, {Hash: "sha-256", Value: "AA", Setup: "holdconn"}} {
		if _, err := xml.Marshal(bad); err == nil {
			t.Errorf("%+v marshalled", bad)
		}
	}
	if _, err := ParseSDPFingerprint("sha-256", ""); err == nil {
		t.Error("fingerprint without value parsed")
	}
}
