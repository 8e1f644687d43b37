package filetransfer

import (
	"encoding/base64"
	"encoding/xml"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/jingle"
)

// xepExamples returns the CDATA examples of an XEP source in testdata.
func xepExamples(t *testing.T, file string) map[string]string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?s)<example caption=["']([^"']*)["']><!\[CDATA\[(.*?)\]\]></example>`)
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = m[2]
	}
	if len(out) == 0 {
		t.Fatalf("no examples in %s", file)
	}
	return out
}

// parseJingleIQ reads an <iq/> holding a <jingle/>.
func parseJingleIQ(t *testing.T, s string) *jingle.Jingle {
	t.Helper()
	var iq jingle.IQ
	if err := xml.Unmarshal([]byte(s), &iq); err != nil {
		t.Fatalf("iq: %v", err)
	}
	j, err := jingle.Parse(iq.Payload)
	if err != nil {
		t.Fatalf("jingle: %v", err)
	}
	return j
}

func roundTripDescription(t *testing.T, d *Description) {
	t.Helper()
	e, err := d.Element()
	if err != nil {
		t.Fatal(err)
	}
	d2, err := DecodeDescription(&e)
	if err != nil {
		t.Fatalf("re-decoding %s: %v", e.Inner, err)
	}
	if d.Namespace == NS3 {
		d2.Namespace, d2.Request = NS3, d.Request
	}
	if !reflect.DeepEqual(d, d2) {
		t.Fatalf("round trip differs:\n%+v\n%+v", d, d2)
	}
}

func TestXEP0234Examples(t *testing.T) {
	ex := xepExamples(t, "xep-0234.xml")
	sha1Sum, _ := base64.StdEncoding.DecodeString("w0mcJylzCn+AfvuGdqkty2+KP48=")
	j := parseJingleIQ(t, ex["Initiator sends session-initiate"])
	d, err := DecodeDescription(j.Contents[0].Description)
	if err != nil {
		t.Fatal(err)
	}
	want := File{
		Date: time.Date(1969, 7, 21, 2, 56, 15, 0, time.UTC), Desc: "This is a test. If this were a real file...",
		MediaType: "text/plain", Name: "test.txt", Size: 6144, Range: &Range{},
		Hashes: []Hash{{Algo: "sha-1", Value: sha1Sum}},
	}
	if !reflect.DeepEqual(d.File, want) {
		t.Fatalf("file = %+v, want %+v", d.File, want)
	}
	roundTripDescription(t, d)

	// Every example with a description or a checksum must read and
	// round-trip.
	n := 0
	for caption, s := range ex {
		if !strings.Contains(s, "<jingle") {
			continue
		}
		j := parseJingleIQ(t, s)
		for _, c := range j.Contents {
			if c.Description == nil || !knownNS(c.DescriptionNS()) {
				continue
			}
			d, err := DecodeDescription(c.Description)
			if err != nil {
				t.Errorf("%s: %v", caption, err)
				continue
			}
			roundTripDescription(t, d)
			n++
		}
		for i := range j.Payloads {
			p := &j.Payloads[i]
			switch p.XMLName.Local {
			case "checksum":
				c, err := DecodeChecksum(p)
				if err != nil {
					t.Errorf("%s: %v", caption, err)
					continue
				}
				if c.Name == "" || (len(c.File.Hashes) == 0 && (c.File.Range == nil || len(c.File.Range.Hashes) == 0)) {
					t.Errorf("%s: checksum without name or hash: %+v", caption, c)
				}
				n++
			case "received":
				r, err := DecodeReceived(p)
				if err != nil || r.Name != "a-file-offer" || r.Creator != jingle.CreatorInitiator {
					t.Errorf("%s: received = %+v, %v", caption, r, err)
				}
				n++
			}
		}
	}
	if n < 8 {
		t.Fatalf("only %d file-transfer payloads read from XEP-0234's examples", n)
	}

	j = parseJingleIQ(t, ex["Initiator sends checksum in session-info for a specific range"])
	c, err := DecodeChecksum(j.Payload(NS, "checksum"))
	if err != nil {
		t.Fatal(err)
	}
	if c.File.Range == nil || c.File.Range.Offset != 2048 || c.File.Range.Length != 1024 || len(c.File.Range.Hashes) != 1 {
		t.Fatalf("ranged checksum = %+v", c.File.Range)
	}
	j = parseJingleIQ(t, ex["Initiator communicates hashing algorithm in session-initiate"])
	d, err = DecodeDescription(j.Contents[0].Description)
	if err != nil || !reflect.DeepEqual(d.File.HashUsed, []string{"sha-1"}) {
		t.Fatalf("hash-used = %+v, %v", d, err)
	}
}

func TestInteropOffers(t *testing.T) {
	dino, err := os.ReadFile("testdata/dino-0.4.2-session.xml")
	if err != nil {
		t.Fatal(err)
	}
	stz, err := os.ReadFile("testdata/stanzajs-12.22.1-session.xml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, src, sid string
		want           File
	}{
		{"dino s5b offer", string(dino), "7334100d-3163-4743-9a4e-bcf4157811fe", File{Name: "ft-300k.bin", Size: 300000}},
		{"stanzajs datachannel offer", string(stz), "f82ee671-d78e-4d3b-a0b2-b9edc3ca672e", File{
			Name: "payload-1MiB.bin", Size: 1048576, HashUsed: []string{"sha-1"},
			Date: time.Date(2026, 11, 22, 12, 16, 53, 94e6, time.UTC),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := findJingle(t, tt.src, tt.sid, jingle.ActionSessionInitiate)
			d, err := DecodeDescription(j.Contents[0].Description)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.File, tt.want) {
				t.Fatalf("file = %+v, want %+v", d.File, tt.want)
			}
			roundTripDescription(t, d)
		})
	}
	j := findJingle(t, string(stz), "f82ee671-d78e-4d3b-a0b2-b9edc3ca672e", jingle.ActionSessionInfo)
	c, err := DecodeChecksum(j.Payload(NS, "checksum"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := base64.StdEncoding.DecodeString("GVyY72BGSWFAf6QEPb+SsZwkNTw=")
	if c.Name != "0" || string(c.File.Hash("sha-1")) != string(want) {
		t.Fatalf("checksum = %+v", c)
	}
}

// findJingle returns the first <jingle/> with sid and action in a capture.
func findJingle(t *testing.T, src, sid string, a jingle.Action) *jingle.Jingle {
	t.Helper()
	re := regexp.MustCompile(`<iq[^>]*[^/]>.*?</iq>`)
	for _, s := range re.FindAllString(src, -1) {
		if !strings.Contains(s, sid) || !strings.Contains(s, string(a)) {
			continue
		}
		return parseJingleIQ(t, s)
	}
	t.Fatalf("no %s for sid %s", a, sid)
	return nil
}

func TestDescriptionNS3(t *testing.T) {
	e := jingle.Element{}
	src := `<description xmlns='urn:xmpp:jingle:apps:file-transfer:3'><request><file><hash xmlns='urn:xmpp:hashes:1' algo='sha-1'>w0mcJylzCn+AfvuGdqkty2+KP48=</hash></file></request></description>`
	if err := xml.Unmarshal([]byte(src), &e); err != nil {
		t.Fatal(err)
	}
	d, err := DecodeDescription(&e)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Request || len(d.File.Hashes) != 1 || d.File.Size != -1 {
		t.Fatalf("ft:3 request = %+v", d)
	}
	out, err := d.Element()
	if err != nil || out.XMLName.Space != NS {
		t.Fatalf("written as %q, %v", out.XMLName.Space, err)
	}
}

func TestDescriptionHostile(t *testing.T) {
	for _, src := range []string{
		`<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'/>`,
		`<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><size>-1</size></file></description>`,
		`<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><size>1e9</size></file></description>`,
		`<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><size>99999999999999999999</size></file></description>`,
		`<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><range offset='-5'/></file></description>`,
		`<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><date>yesterday</date></file></description>`,
		`<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><hash xmlns='urn:xmpp:hashes:2' algo='sha-256'>!!!</hash></file></description>`,
		`<description xmlns='urn:xmpp:jingle:apps:rtp:1'><file/></description>`,
	} {
		var e jingle.Element
		if err := xml.Unmarshal([]byte(src), &e); err != nil {
			t.Fatal(err)
		}
		if d, err := DecodeDescription(&e); err == nil {
			t.Errorf("%s: accepted as %+v", src, d)
		}
	}
}

func TestChecksumReceivedEncode(t *testing.T) {
	c := Checksum{Creator: jingle.CreatorInitiator, Name: "a-file-offer", File: File{Hashes: []Hash{{Algo: "sha-256", Value: []byte{1, 2, 3}}}}}
	e, err := c.Element()
	if err != nil {
		t.Fatal(err)
	}
	if e.XMLName.Space != NS || e.XMLName.Local != "checksum" {
		t.Fatalf("checksum written as %v", e.XMLName)
	}
	c2, err := DecodeChecksum(&e)
	if err != nil || c2.Name != c.Name || !reflect.DeepEqual(c2.File.Hashes, c.File.Hashes) {
		t.Fatalf("round trip: %+v %v", c2, err)
	}
	r := Received{Creator: jingle.CreatorInitiator, Name: "a-file-offer"}
	e, err = r.Element()
	if err != nil || e.XMLName.Space != NS || e.XMLName.Local != "received" {
		t.Fatalf("received written as %v (%v)", e.XMLName, err)
	}
	if r2, err := DecodeReceived(&e); err != nil || *r2 != r {
		t.Fatalf("round trip: %+v %v", r2, err)
	}
}

func TestXEP0300Example(t *testing.T) {
	ex, err := os.ReadFile("testdata/xep-0300.xml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<hash xmlns='urn:xmpp:hashes:2' algo='sha-256'>[^<]*</hash>`).Find(ex)
	var h Hash
	if err := xml.Unmarshal(m, &h); err != nil {
		t.Fatal(err)
	}
	if h.Algo != "sha-256" || len(h.Value) != 32 {
		t.Fatalf("hash = %v", h)
	}
	out, err := xml.Marshal(h)
	if err != nil || !strings.Contains(string(out), "2XarmwTlNxDAMkvymloX3S5+VbylNrJt/l5QyPa+YoU=") {
		t.Fatalf("re-encoded %s (%v)", out, err)
	}
}
