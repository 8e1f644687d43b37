package rtp

import (
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/internal/xmltree"
	"github.com/jingled/jingled/jingle"
)

var update = flag.Bool("update", false, "rewrite testdata/sdp/*.sdp from the current output")

// interopJingles returns the session-initiate and session-accept elements
// of the captured clients that carry an ICE-UDP transport.
func interopJingles(t *testing.T) map[string]*jingle.Jingle {
	t.Helper()
	out := map[string]*jingle.Jingle{}
	for _, c := range xmltree.LoadCases(t, "stanzajs.xml", "dino.xml", "conversations.xml") {
		js := c.Root.Find(jingle.NS, "jingle")
		if len(js) != 1 {
			continue
		}
		j, err := jingle.Parse(js[0].XMLBytes())
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if j.Action != jingle.ActionSessionInitiate && j.Action != jingle.ActionSessionAccept {
			continue
		}
		ok := false
		for _, ct := range j.Contents {
			switch ct.TransportNS() {
			case ice.NS, ice.NSDataChannel0, ice.NSDataChannel1:
				ok = true
			}
		}
		if ok {
			out[c.Name] = j
		}
	}
	return out
}

func optsFor(j *jingle.Jingle) Options {
	o := Options{Author: jingle.CreatorInitiator, Type: webrtc.SDPTypeOffer}
	if j.Action == jingle.ActionSessionAccept {
		o = Options{Author: jingle.CreatorResponder, Type: webrtc.SDPTypeAnswer}
	}
	for _, c := range j.Contents {
		if c.TransportNS() == ice.NSDataChannel1 {
			o.DataChannel = DialectWebRTCDataChannel
		}
	}
	return o
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// TestJingleToSDPGolden translates every captured session-initiate and
// session-accept into SDP and compares it structurally with the golden
// file (go test -run JingleToSDPGolden -update rewrites them). Bundled
// sessions become one SDP; Dino's unbundled ones one SDP per content.
func TestJingleToSDPGolden(t *testing.T) {
	js := interopJingles(t)
	if len(js) < 15 {
		t.Fatalf("only %d interop sessions", len(js))
	}
	for name, j := range js {
		opts := optsFor(j)
		outs := map[string]string{}
		if Bundle(j) != nil {
			s, err := JingleToSDP(j, opts)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			outs[""] = s
		} else {
			for i := range j.Contents {
				s, err := ContentToSDP(&j.Contents[i], "", opts)
				if err != nil {
					t.Errorf("%s: content %s: %v", name, j.Contents[i].Name, err)
					continue
				}
				outs["."+j.Contents[i].Name] = s
			}
		}
		for suffix, got := range outs {
			file := filepath.Join("testdata", "sdp", unsafeName.ReplaceAllString(name, "_")+suffix+".sdp")
			checkInvariants(t, name, j, got, opts)
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Errorf("%s: %v (run with -update)", name, err)
				continue
			}
			if d := sdpDiff(string(want), got); d != "" {
				t.Errorf("%s%s: SDP differs from %s:\n%s", name, suffix, file, d)
			}
		}
	}
}

// checkInvariants asserts the traps of INTEROP.md on every translation.
func checkInvariants(t *testing.T, name string, j *jingle.Jingle, s string, opts Options) {
	t.Helper()
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(s); err != nil {
		t.Fatalf("%s: output does not parse: %v\n%s", name, err, s)
	}
	if strings.Contains(s, "a=crypto") {
		t.Errorf("%s: SDES crypto in SDP", name)
	}
	if opts.Type == webrtc.SDPTypeAnswer && strings.Contains(s, "a=setup:actpass") {
		t.Errorf("%s: actpass in an answer", name)
	}
	for _, m := range sd.MediaDescriptions {
		mid, _ := m.Attribute("mid")
		if j.Content(mid) == nil {
			t.Errorf("%s: a=mid:%s names no content", name, mid)
		}
		if _, ok := m.Attribute("fingerprint"); !ok {
			t.Errorf("%s: m-line %s without fingerprint", name, mid)
		}
		for _, a := range m.Attributes {
			if a.Value != strings.TrimSpace(a.Value) || strings.Contains(a.Value, "  ") {
				t.Errorf("%s: stray whitespace in a=%s:%q", name, a.Key, a.Value)
			}
		}
	}
}

// sdpDiff compares two SDPs structurally: the session attributes as a set,
// and per m-line the media line and attributes as sets. The o= line is
// ignored. It returns "" when equal.
func sdpDiff(want, got string) string {
	var w, g sdp.SessionDescription
	if err := w.UnmarshalString(want); err != nil {
		return "want: " + err.Error()
	}
	if err := g.UnmarshalString(got); err != nil {
		return "got: " + err.Error()
	}
	var b strings.Builder
	set := func(as []sdp.Attribute) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.String())
		}
		sort.Strings(out)
		return out
	}
	if ws, gs := set(w.Attributes), set(g.Attributes); !reflect.DeepEqual(ws, gs) {
		fmt.Fprintf(&b, "session attributes %q, want %q\n", gs, ws)
	}
	if len(w.MediaDescriptions) != len(g.MediaDescriptions) {
		fmt.Fprintf(&b, "%d m-lines, want %d\n", len(g.MediaDescriptions), len(w.MediaDescriptions))
		return b.String()
	}
	for i := range w.MediaDescriptions {
		wm, gm := w.MediaDescriptions[i], g.MediaDescriptions[i]
		if wm.MediaName.String() != gm.MediaName.String() {
			fmt.Fprintf(&b, "m-line %d: %s, want %s\n", i, gm.MediaName.String(), wm.MediaName.String())
		}
		ws, gs := set(wm.Attributes), set(gm.Attributes)
		if !reflect.DeepEqual(ws, gs) {
			fmt.Fprintf(&b, "m-line %d attributes:\n got  %q\n want %q\n", i, gs, ws)
		}
		if fmt.Sprint(wm.Bandwidth) != fmt.Sprint(gm.Bandwidth) {
			fmt.Fprintf(&b, "m-line %d bandwidth %v, want %v\n", i, gm.Bandwidth, wm.Bandwidth)
		}
	}
	return b.String()
}

// TestRoundTripInterop translates every captured offer and answer to SDP
// and back, and checks that the Jingle is unchanged but for what the
// translation normalises by design.
func TestRoundTripInterop(t *testing.T) {
	for name, j := range interopJingles(t) {
		opts := optsFor(j)
		var contents []jingle.Content
		if Bundle(j) != nil {
			s, err := JingleToSDP(j, opts)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			cs, payloads, err := SDPToJingle(s, opts)
			if err != nil {
				t.Fatalf("%s: %v\n%s", name, err, s)
			}
			contents = cs
			wantG, gotG := groupsOf(t, j.Payloads), groupsOf(t, payloads)
			if !reflect.DeepEqual(wantG, gotG) {
				t.Errorf("%s: groups %+v, want %+v", name, gotG, wantG)
			}
		} else {
			for i := range j.Contents {
				s, err := ContentToSDP(&j.Contents[i], "", opts)
				if err != nil {
					t.Fatal(err)
				}
				c, err := SDPToContent(s, j.Contents[i].Name, opts)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				contents = append(contents, c)
			}
		}
		if len(contents) != len(j.Contents) {
			t.Fatalf("%s: %d contents, want %d", name, len(contents), len(j.Contents))
		}
		for i := range contents {
			compareContent(t, name, &j.Contents[i], &contents[i], opts)
		}
	}
}

func groupsOf(t *testing.T, es []jingle.Element) []Group {
	var out []Group
	for i := range es {
		if es[i].XMLName.Space == NSGrouping {
			var g Group
			if err := es[i].Decode(&g); err != nil {
				t.Fatal(err)
			}
			g.XMLName = xml.Name{}
			out = append(out, g)
		}
	}
	return out
}

// compareContent compares a content with its SDP round trip, after the
// normalisations the translation makes on purpose: candidate ids (SDP has
// none), TCP candidates (never sent), <gathering-complete/> (only written
// for StanzaJS on request), channels='1' (XEP-0167's default) written or
// not, the description ssrc taken from the first source, actpass in an
// answer.
func compareContent(t *testing.T, name string, want, got *jingle.Content, opts Options) {
	t.Helper()
	// A data channel's senders belong to its application (who sends the
	// file), not to SDP: the caller sets them.
	dataChannel := want.DescriptionNS() != NS
	if want.Name != got.Name || (!dataChannel && want.Senders.Normalize() != got.Senders.Normalize()) {
		t.Errorf("%s: content %q senders %q -> %q %q", name, want.Name, want.Senders, got.Name, got.Senders)
	}
	wt, _, err := ice.Decode(want.Transport)
	if err != nil {
		t.Fatal(err)
	}
	gt, _, err := ice.Decode(got.Transport)
	if err != nil {
		t.Fatal(err)
	}
	norm := func(tr *ice.Transport) {
		var cs []ice.Candidate
		for _, c := range tr.Candidates {
			if c.UDP() {
				c.ID = ""
				cs = append(cs, c)
			}
		}
		tr.Candidates = cs
		tr.GatheringComplete = false
		for i := range tr.Fingerprints {
			if opts.Type == webrtc.SDPTypeAnswer {
				tr.Fingerprints[i].Setup = tr.Fingerprints[i].Setup.ForAnswer()
			}
		}
	}
	norm(wt)
	norm(gt)
	if !reflect.DeepEqual(wt, gt) {
		t.Errorf("%s: content %q transport\n got  %+v\n want %+v", name, want.Name, gt, wt)
	}
	if want.DescriptionNS() != NS {
		if got.Description != nil {
			t.Errorf("%s: data channel content got a description", name)
		}
		return
	}
	wd, err := Decode(want.Description)
	if err != nil {
		t.Fatal(err)
	}
	gd, err := Decode(got.Description)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*Description{wd, gd} {
		for i := range d.PayloadTypes {
			if d.PayloadTypes[i].Channels == 0 { // XEP-0167's default
				d.PayloadTypes[i].Channels = 1
			}
		}
		if len(d.Sources) > 0 && d.SSRC == 0 {
			d.SSRC = d.Sources[0].SSRC
		}
	}
	if !reflect.DeepEqual(wd, gd) {
		t.Errorf("%s: content %q description\n got  %+v\n want %+v", name, want.Name, gd, wd)
	}
}

func TestDirection(t *testing.T) {
	tests := []struct {
		senders jingle.Senders
		author  jingle.Creator
		dir     string
	}{
		{"", jingle.CreatorInitiator, "sendrecv"},
		{jingle.SendersBoth, jingle.CreatorResponder, "sendrecv"},
		{jingle.SendersNone, jingle.CreatorInitiator, "inactive"},
		{jingle.SendersInitiator, jingle.CreatorInitiator, "sendonly"},
		{jingle.SendersInitiator, jingle.CreatorResponder, "recvonly"},
		{jingle.SendersResponder, jingle.CreatorResponder, "sendonly"},
		{jingle.SendersResponder, jingle.CreatorInitiator, "recvonly"},
	}
	for _, tc := range tests {
		if got := Direction(tc.senders, tc.author); got != tc.dir {
			t.Errorf("Direction(%q, %q) = %q, want %q", tc.senders, tc.author, got, tc.dir)
		}
		if got := SendersOf(tc.dir, tc.author); got != tc.senders.Normalize() {
			t.Errorf("SendersOf(%q, %q) = %q, want %q", tc.dir, tc.author, got, tc.senders.Normalize())
		}
	}
}

// sdpPrelude turns an XEP's SDP fragment into a description our
// translation accepts: ICE credentials and a fingerprint are required.
func withTransport(fragment string) string {
	var b strings.Builder
	b.WriteString("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
	for _, l := range strings.Split(strings.TrimSpace(fragment), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "v=") || strings.HasPrefix(l, "o=") || strings.HasPrefix(l, "s=") || strings.HasPrefix(l, "t=") {
			continue
		}
		if strings.HasPrefix(l, "m=") && len(strings.Fields(l)) < 4 {
			l = "m=video 9 UDP/TLS/RTP/SAVPF 96" // XEP-0294's fragment has a bare "m=video"
		}
		b.WriteString(l + "\r\n")
		if strings.HasPrefix(l, "m=") {
			b.WriteString("a=ice-ufrag:uf\r\na=ice-pwd:pwpwpwpwpwpwpwpwpwpwpwpw\r\na=fingerprint:sha-256 AA:BB\r\n")
			if strings.Contains(l, " 96") {
				b.WriteString("a=rtpmap:96 THEORA/90000\r\n")
			}
		}
	}
	return b.String()
}

// TestXEP0293Mapping is XEP-0293 §4's SDP fragment and its XMPP form.
func TestXEP0293Mapping(t *testing.T) {
	frag := `m=audio 49170 RTP/AVP 0
 c=IN IP4 10.0.1.1
 a=rtpmap:0 PCMU/8000
 m=video 59172 RTP/AVPF 98 99
 c=IN IP4 10.0.1.1
 a=rtpmap:98 H263-1998/90000
 a=rtpmap:99 H261/90000
 a=rtcp-fb:* nack
 a=rtcp-fb:98 nack rpsi
 a=rtcp-fb:98 trr-int 100`
	cs, _, err := SDPToJingle(withTransport(frag), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Fatalf("%d contents", len(cs))
	}
	d, err := Decode(cs[1].Description)
	if err != nil {
		t.Fatal(err)
	}
	// The XEP's XMPP form (its payload 99 says H264 where the SDP says
	// H261, an erratum; names and clock rates are left out there).
	if !reflect.DeepEqual(d.RTCPFeedback, []RTCPFeedback{{Type: "nack"}}) ||
		!reflect.DeepEqual(d.PayloadTypes[0].RTCPFeedback, []RTCPFeedback{{Type: "nack", Subtype: "rpsi"}}) ||
		d.PayloadTypes[0].TRRInt == nil || d.PayloadTypes[0].TRRInt.Value != 100 || d.PayloadTypes[1].RTCPFeedback != nil {
		t.Fatalf("feedback mapping: %+v", d)
	}
	// And back.
	j := &jingle.Jingle{SID: "x", Contents: cs}
	s, err := JingleToSDP(j, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"a=rtcp-fb:* nack\r\n", "a=rtcp-fb:98 nack rpsi\r\n", "a=rtcp-fb:98 trr-int 100\r\n", "a=rtpmap:99 H261/90000\r\n"} {
		if !strings.Contains(s, l) {
			t.Errorf("SDP lacks %q:\n%s", l, s)
		}
	}
}

// TestXEP0294Mapping is XEP-0294 §5's SDP fragment and its XMPP form,
// whose senders='initiator' for a/recvonly says the fragment is the
// responder's.
func TestXEP0294Mapping(t *testing.T) {
	frag := `m=video
a=sendrecv
a=extmap:1 URI-toffset
a=extmap:2/recvonly URI-gps-string
a=extmap:3 URI-frametype
a=extmap-allow-mixed`
	opts := Options{Author: jingle.CreatorResponder}
	cs, _, err := SDPToJingle(withTransport(frag), opts)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(cs[0].Description)
	if err != nil {
		t.Fatal(err)
	}
	want := []HeaderExtension{{ID: 1, URI: "URI-toffset"}, {ID: 2, URI: "URI-gps-string", Senders: jingle.SendersInitiator}, {ID: 3, URI: "URI-frametype"}}
	if !reflect.DeepEqual(d.HeaderExtensions, want) || !d.ExtmapAllowMixed {
		t.Fatalf("got %+v", d)
	}
	// The XEP's XMPP form, compared as a tree.
	x := `<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'>
  <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='1' uri='URI-toffset'/>
  <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='2' uri='URI-gps-string' senders='initiator'/>
  <rtp-hdrext xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0' id='3' uri='URI-frametype'/>
  <extmap-allow-mixed xmlns='urn:xmpp:jingle:apps:rtp:rtp-hdrext:0'/>
</description>`
	d.PayloadTypes = nil // the fragment has none; withTransport added one
	out, err := xml.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := xmltree.Parse([]byte(x))
	gt, err := xmltree.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	xmltree.Report(t, "xep-0294", wt, gt, xmltree.SiblingOrderByName())
	j := &jingle.Jingle{SID: "x", Contents: cs}
	s, err := JingleToSDP(j, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"a=extmap:2/recvonly URI-gps-string\r\n", "a=extmap-allow-mixed\r\n"} {
		if !strings.Contains(s, l) {
			t.Errorf("SDP lacks %q:\n%s", l, s)
		}
	}
}

// A libwebrtc-style video answer with RTX: the trap cases of INTEROP.md.
const rtxSDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"a=group:BUNDLE 0\r\na=msid-semantic: WMS s1\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:EsAw\r\na=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\r\na=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 D2:B9:31:8F:DF:24:D8:0E:ED:D2:EF:25:9E:AF:6F:B8:34:AE:53:9C:E6:F3:8F:F2:64:15:FA:E8:7F:53:2D:38\r\n" +
	"a=setup:actpass\r\na=mid:0\r\na=sendonly\r\na=msid:s1 t1\r\na=rtcp-mux\r\na=rtcp-rsize\r\n" +
	"a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n" +
	"a=ssrc-group:FID 1111 2222\r\na=ssrc:1111 cname:c1\r\na=ssrc:1111 x-novalue\r\na=ssrc:1111 msid:s1 t1\r\na=ssrc:2222 cname:c1\r\na=ssrc:2222 msid:s1 t1\r\n" +
	"a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0\r\n" +
	"a=candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0\r\n" +
	"a=end-of-candidates\r\n"

func TestSDPToJingleTraps(t *testing.T) {
	cs, payloads, err := SDPToJingle(rtxSDP, Options{Author: jingle.CreatorResponder, Type: webrtc.SDPTypeAnswer})
	if err != nil {
		t.Fatal(err)
	}
	c := cs[0]
	if c.Name != "0" || c.Senders != jingle.SendersResponder || len(payloads) != 1 {
		t.Fatalf("content %+v, payloads %d", c, len(payloads))
	}
	d, err := Decode(c.Description)
	if err != nil {
		t.Fatal(err)
	}
	// RTX: two sources, one FID group, never merged.
	if len(d.Sources) != 2 || d.Sources[0].SSRC != 1111 || d.Sources[1].SSRC != 2222 || d.SSRC != 1111 {
		t.Fatalf("sources %+v", d.Sources)
	}
	if !reflect.DeepEqual(d.SourceGroups, []SourceGroup{{Semantics: "FID", Sources: []SourceRef{{1111}, {2222}}}}) {
		t.Fatalf("groups %+v", d.SourceGroups)
	}
	if len(d.Sources[0].Parameters) != 2 {
		t.Fatalf("value-less source parameter kept (Conversations throws on it): %+v", d.Sources[0])
	}
	if d.Sources[1].Parameter("msid") != "s1 t1" || d.Sources[1].Parameter("cname") != "c1" {
		t.Fatalf("rtx source %+v", d.Sources[1])
	}
	if d.PayloadTypes[1].Name != "rtx" || d.PayloadTypes[1].Parameter("apt") != "96" || !d.RTCPMux || !d.RTCPReducedSize {
		t.Fatalf("description %+v", d)
	}
	tr, _, err := ice.Decode(c.Transport)
	if err != nil {
		t.Fatal(err)
	}
	// actpass in an answer becomes active; only the UDP candidate goes out;
	// no <gathering-complete/> unless asked for.
	if tr.Setup() != ice.SetupActive || len(tr.Candidates) != 1 || !tr.Candidates[0].UDP() || tr.GatheringComplete {
		t.Fatalf("transport %+v", tr)
	}
	x, err := xml.Marshal(c.Transport)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(x), "tcp") || strings.Contains(string(x), "actpass") {
		t.Fatalf("transport XML %s", x)
	}
}

func TestJingleToSDPErrors(t *testing.T) {
	tr := func(s string) *jingle.Element {
		var e jingle.Element
		if err := xml.Unmarshal([]byte(s), &e); err != nil {
			t.Fatal(err)
		}
		return &e
	}
	desc := tr(`<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/></description>`)
	tests := []struct {
		name string
		c    jingle.Content
		want error
	}{
		{"no fingerprint (Conversations refuses these)", jingle.Content{Name: "a", Description: desc,
			Transport: tr(`<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='u' pwd='p'/>`)}, ErrNoFingerprint},
		{"no credentials", jingle.Content{Name: "a", Description: desc,
			Transport: tr(`<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/>`)}, ErrNoICECredentials},
		{"raw-udp", jingle.Content{Name: "a", Description: desc,
			Transport: tr(`<transport xmlns='urn:xmpp:jingle:transports:raw-udp:1'/>`)}, ErrUnsupportedContent},
		{"s5b file", jingle.Content{Name: "a",
			Description: tr(`<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'/>`),
			Transport:   tr(`<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='u' pwd='p'/>`)}, ErrUnsupportedContent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := JingleToSDP(&jingle.Jingle{SID: "s", Contents: []jingle.Content{tc.c}}, Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	if _, _, err := SDPToJingle("v=0\r\nnot sdp", Options{}); !errors.Is(err, ErrInvalidSDP) {
		t.Fatalf("garbage SDP: %v", err)
	}
	noFP := strings.Replace(rtxSDP, "a=fingerprint:", "a=x-fingerprint:", 1)
	if _, _, err := SDPToJingle(noFP, Options{}); !errors.Is(err, ErrNoFingerprint) {
		t.Fatalf("SDP without fingerprint: %v", err)
	}
}

func TestTrickleCandidates(t *testing.T) {
	// StanzaJS's transport-info, then its gathering-complete.
	j, err := jingle.Parse([]byte(`<jingle xmlns="urn:xmpp:jingle:1" sid="s" action="transport-info"><content creator="initiator" name="0">` +
		`<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="pJvR"><candidate component="1" foundation="559267639" ip="::1" ` +
		`port="37635" priority="2122267903" protocol="udp" type="host"/><gathering-complete/></transport></content></jingle>`))
	if err != nil {
		t.Fatal(err)
	}
	inits, err := TrickleCandidates(j)
	if err != nil {
		t.Fatal(err)
	}
	if len(inits) != 2 || *inits[0].SDPMid != "0" || *inits[0].UsernameFragment != "pJvR" ||
		inits[0].Candidate != "candidate:559267639 1 udp 2122267903 ::1 37635 typ host generation 0 ufrag pJvR" || inits[1].Candidate != "" {
		t.Fatalf("inits %+v", inits)
	}
}

func TestDataChannelSDP(t *testing.T) {
	// StanzaJS's file offer, as Dino received it.
	j, err := jingle.Parse([]byte(`<jingle xmlns="urn:xmpp:jingle:1" sid="33384e02" action="session-initiate"><content creator="initiator" name="0">` +
		`<description xmlns="urn:xmpp:jingle:apps:file-transfer:5"><file><name>small.bin</name><size>100000</size></file></description>` +
		`<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="X0Jv" pwd="WCO/veBICphwhC1vztOCyC8N">` +
		`<fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" setup="actpass">40:92:45:1C</fingerprint>` +
		`<sctpmap xmlns="urn:xmpp:jingle:transports:dtls-sctp:1" number="5000" protocol="webrtc-datachannel"/></transport></content>` +
		`<group xmlns="urn:xmpp:jingle:apps:grouping:0" semantics="BUNDLE"><content name="0"/></group></jingle>`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := JingleToSDP(j, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", "a=sctp-port:5000\r\n", "a=group:BUNDLE 0\r\n", "a=setup:actpass\r\n"} {
		if !strings.Contains(s, l) {
			t.Errorf("SDP lacks %q:\n%s", l, s)
		}
	}
	for _, dialect := range []DataChannelDialect{DialectSCTPMap, DialectWebRTCDataChannel} {
		cs, payloads, err := SDPToJingle(s, Options{DataChannel: dialect})
		if err != nil {
			t.Fatal(err)
		}
		if cs[0].Description != nil {
			t.Fatal("data channel content got a description")
		}
		tr, dc, err := ice.Decode(cs[0].Transport)
		if err != nil {
			t.Fatal(err)
		}
		if tr.SCTPMap == nil || tr.SCTPMap.Number != 5000 || (dc != nil) != (dialect == DialectWebRTCDataChannel) {
			t.Fatalf("dialect %d: %+v %+v", dialect, tr, dc)
		}
		if dc != nil && cs[0].TransportNS() != ice.NSDataChannel1 {
			t.Fatalf("wrapper namespace %q", cs[0].TransportNS())
		}
		// The content, with its application put back, translates again.
		cs[0].Description = j.Contents[0].Description
		s2, err := JingleToSDP(&jingle.Jingle{SID: "x", Contents: cs, Payloads: payloads}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if d := sdpDiff(s, s2); d != "" {
			t.Errorf("dialect %d round trip:\n%s", dialect, d)
		}
	}
}

func TestRemoteCandidateSDP(t *testing.T) {
	// XEP-0176 §5.4 example 4: the initiator communicates the in-use candidate.
	j, err := jingle.Parse([]byte(`<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='a73sjjvkla37jfea'>` +
		`<content creator='initiator' name='voice'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='0' name='PCMU' clockrate='8000'/></description>` +
		`<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' pwd='asd88fgpdd777uzjYhagZg' ufrag='8hhy'>` +
		`<fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>AA:BB</fingerprint>` +
		`<remote-candidate component='1' ip='10.0.1.1' port='8998'/></transport></content></jingle>`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := JingleToSDP(j, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s, "a=remote-candidates:1 10.0.1.1 8998\r\n") {
		t.Fatalf("no a=remote-candidates:\n%s", s)
	}
	cs, _, err := SDPToJingle(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr, _, err := ice.Decode(cs[0].Transport)
	if err != nil {
		t.Fatal(err)
	}
	if tr.RemoteCandidate == nil || *tr.RemoteCandidate != (ice.RemoteCandidate{Component: 1, IP: "10.0.1.1", Port: 8998}) {
		t.Fatalf("remote candidate %+v", tr.RemoteCandidate)
	}
}
