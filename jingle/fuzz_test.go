package jingle

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jingled/jingled/internal/xmltree"
)

// The fuzz targets check two things on any input: decoding never panics
// and fails only with a bad-request *Error (Parse), and what we encode is
// a fixed point: decoding and re-encoding our own output gives the same
// XML tree. The second property is what keeps a relayed or re-sent
// stanza from drifting (a namespace lost on the way, a prefix declared
// twice). Seeds are the golden stanzas; docs/FUZZING.md says how to run
// them longer.

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz/Fuzz*/golden-* from testdata/golden")

// corpusSeeds returns the seeds of each fuzz target, by file name: the
// <jingle/> payloads of the golden IQs for FuzzParse, the whole golden
// IQs for FuzzIQ and the golden messages (XEP-0353) for FuzzMessage.
func corpusSeeds(t testing.TB) map[string]map[string][]byte {
	t.Helper()
	seeds := map[string]map[string][]byte{"FuzzParse": {}, "FuzzIQ": {}, "FuzzMessage": {}}
	for _, file := range goldenFiles(t) {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name := "golden-" + strings.TrimSuffix(filepath.Base(file), ".xml")
		if strings.Contains(string(raw), "<message") {
			seeds["FuzzMessage"][name] = raw
			continue
		}
		seeds["FuzzIQ"][name] = raw
		var iq IQ
		if err := xml.Unmarshal(raw, &iq); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if iq.PayloadName() == (xml.Name{Space: NS, Local: "jingle"}) {
			seeds["FuzzParse"][name] = iq.Payload
		}
	}
	return seeds
}

func corpusFile(data []byte) string {
	return fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
}

// TestFuzzCorpus checks that the committed seed corpus holds every golden
// stanza (run with -update-corpus after adding golden files).
func TestFuzzCorpus(t *testing.T) {
	for target, seeds := range corpusSeeds(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		if *updateCorpus {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for name, data := range seeds {
			path := filepath.Join(dir, name)
			want := corpusFile(data)
			if *updateCorpus {
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("seed missing (run go test -run TestFuzzCorpus -update-corpus ./jingle): %v", err)
				continue
			}
			if string(got) != want {
				t.Errorf("%s is stale (run go test -run TestFuzzCorpus -update-corpus ./jingle)", path)
			}
		}
	}
}

// trickySeeds are namespace and escaping forms that real clients rarely
// send and the golden files lack, so the fuzzer starts next to them.
var trickySeeds = []string{
	`<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s1'/>`,
	`<j:jingle xmlns:j='urn:xmpp:jingle:1' xmlns:ice='urn:xmpp:jingle:transports:ice-udp:1' j:action='transport-info' sid='s1'>` +
		`<j:content creator='initiator' name='0'><ice:transport ufrag='u'><ice:candidate id='c1'/></ice:transport></j:content></j:jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s1'><ping xmlns='urn:x'><plain xmlns=''><deeper/></plain></ping></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1' xmlns:a='urn:attr' action='session-info' sid='s1'>` +
		`<ping xmlns='urn:x' a:one='1' xml:lang='en'><pong a:two='2' xmlns:b='urn:b' b:three='3'/></ping></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1' action='session-info' sid='s1'><note xmlns='urn:x' v='&quot;&#x9;&#xA;'>1 &lt; 2<![CDATA[ <raw> ]]></note></jingle>`,
	`<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><alternative-session><sid>x</sid></alternative-session>` +
		`<text xml:lang='en'>t</text><e xmlns='urn:app:errors'/></reason></jingle>`,
}

func FuzzParse(f *testing.F) {
	for _, s := range trickySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("Parse error %v is not bad-request", err)
			}
			return
		}
		b1, err := xml.Marshal(j)
		if err != nil {
			t.Fatalf("marshal of parsed jingle: %v", err)
		}
		j2, err := Parse(b1)
		if err != nil {
			t.Fatalf("our encoding does not parse: %v\n%s", err, b1)
		}
		b2, err := xml.Marshal(j2)
		if err != nil {
			t.Fatal(err)
		}
		sameTree(t, b1, b2)
	})
}

func FuzzIQ(f *testing.F) {
	f.Add([]byte(`<iq xmlns='jabber:client' type='error' id='1'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><unknown-session xmlns='urn:xmpp:jingle:errors:1'/></error></iq>`))
	f.Add([]byte(`<iq xmlns='jabber:client' type='error' id='1'><error type='modify' by='x'><redirect xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>xmpp:a@b</redirect>` +
		`<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>moved</text></error></iq>`))
	for _, s := range trickySeeds {
		f.Add([]byte(`<iq xmlns='jabber:client' xmlns:p='urn:p' type='set' id='1' p:x='y'>` + s + `</iq>`))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > MaxSize {
			return
		}
		var iq IQ
		if err := xml.Unmarshal(data, &iq); err != nil {
			return
		}
		// The manager re-encodes a parsed Jingle payload, so the fixed
		// point must hold through Parse as well.
		if iq.PayloadName() == (xml.Name{Space: NS, Local: "jingle"}) {
			if j, err := Parse(iq.Payload); err == nil {
				b, err := xml.Marshal(j)
				if err != nil {
					t.Fatalf("marshal of parsed jingle: %v", err)
				}
				iq.Payload = b
			}
		}
		b1, err := xml.Marshal(&iq)
		if err != nil {
			// Attribute values we cannot write back (e.g. an id that
			// decoded to characters XML forbids) make the reply fail to
			// encode, which the manager reports; nothing to compare.
			return
		}
		var iq2 IQ
		if err := xml.Unmarshal(b1, &iq2); err != nil {
			t.Fatalf("our encoding does not decode: %v\n%s", err, b1)
		}
		b2, err := xml.Marshal(&iq2)
		if err != nil {
			t.Fatal(err)
		}
		sameTree(t, b1, b2)
		// The decoded values must be a fixed point too, not just the XML.
		var iq3 IQ
		if err := xml.Unmarshal(b2, &iq3); err != nil {
			t.Fatal(err)
		}
		if iq2.ID != iq3.ID || iq2.From != iq3.From || iq2.To != iq3.To || iq2.Type != iq3.Type ||
			!bytes.Equal(iq2.Payload, iq3.Payload) || (iq2.Error == nil) != (iq3.Error == nil) {
			t.Fatalf("IQ changed: %+v -> %+v", iq2, iq3)
		}
		if iq2.Error != nil && *iq2.Error != *iq3.Error {
			t.Fatalf("error changed: %+v -> %+v", *iq2.Error, *iq3.Error)
		}
	})
}

func FuzzMessage(f *testing.F) {
	f.Add([]byte(`<message xmlns='jabber:client' to='juliet@capulet.example' type='chat'><body>hi</body>` +
		`<reject xmlns='urn:xmpp:jingle-message:0' id='p1'><reason xmlns='urn:xmpp:jingle:1'><busy/><text>Busy</text></reason></reject></message>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > MaxSize {
			return
		}
		var m Message
		if err := xml.Unmarshal(data, &m); err != nil {
			return
		}
		b1, err := xml.Marshal(&m)
		if err != nil {
			return
		}
		var m2 Message
		if err := xml.Unmarshal(b1, &m2); err != nil {
			t.Fatalf("our encoding does not decode: %v\n%s", err, b1)
		}
		if _, err := m2.Elements(); err != nil {
			t.Fatalf("payload of our encoding does not decode: %v\n%s", err, b1)
		}
		b2, err := xml.Marshal(&m2)
		if err != nil {
			t.Fatal(err)
		}
		sameTree(t, b1, b2)
		// A JMI reason decodes the same from both encodings.
		r1, r2 := firstJMIReason(m), firstJMIReason(m2)
		if (r1 == nil) != (r2 == nil) || (r1 != nil && r1.String() != r2.String()) {
			t.Fatalf("JMI reason changed: %s -> %s", r1, r2)
		}
	})
}

// firstJMIReason returns the reason of the first XEP-0353 element of m that
// has a valid one, or nil.
func firstJMIReason(m Message) *Reason {
	els, err := m.Elements()
	if err != nil {
		return nil
	}
	for i := range els {
		if els[i].XMLName.Space != NSMessage {
			continue
		}
		var v struct {
			Reason *Reason `xml:"urn:xmpp:jingle:1 reason"`
		}
		if err := els[i].Decode(&v); err == nil && v.Reason != nil {
			return v.Reason
		}
	}
	return nil
}

func sameTree(t *testing.T, b1, b2 []byte) {
	t.Helper()
	d, err := xmltree.DiffBytes(b1, b2)
	if err != nil {
		t.Fatalf("re-encoding is not well-formed: %v\n%s\n%s", err, b1, b2)
	}
	if len(d) > 0 {
		t.Fatalf("not a fixed point:\n%s\nfirst:  %s\nsecond: %s", strings.Join(d, "\n"), b1, b2)
	}
}
