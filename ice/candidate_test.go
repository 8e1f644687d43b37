package ice

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	pionice "github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

func TestCandidateTolerantReading(t *testing.T) {
	tests := []struct {
		name, in string
		want     Candidate
	}{
		{
			name: "monal underscores, no id",
			in: `<candidate component='1' foundation='2' generation='0' ip='192.0.2.3' network='1' port='45664' ` +
				`priority='1694498815' protocol='UDP' rel_addr='10.0.1.1' rel_port='8998' type='srflx'/>`,
			want: Candidate{Component: 1, Foundation: "2", IP: "192.0.2.3", Network: 1, Port: 45664, Priority: 1694498815,
				Protocol: "udp", RelAddr: "10.0.1.1", RelPort: 8998, Type: TypeSrflx},
		},
		{
			name: "stanzajs host",
			in:   `<candidate component="1" foundation="559267639" ip="::1" port="37635" priority="2122267903" protocol="udp" type="host"/>`,
			want: Candidate{Component: 1, Foundation: "559267639", IP: "::1", Port: 37635, Priority: 2122267903, Protocol: "udp", Type: TypeHost},
		},
		{
			name: "lib-jitsi-meet tcptype",
			in: `<candidate component="1" foundation="3" generation="0" id="x" ip="10.0.0.1" network="0" port="443" ` +
				`priority="1518280447" protocol="tcp" tcptype="passive" type="host"/>`,
			want: Candidate{Component: 1, Foundation: "3", ID: "x", IP: "10.0.0.1", Port: 443, Priority: 1518280447,
				Protocol: "tcp", TCPType: "passive", Type: TypeHost},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Candidate
			if err := xml.Unmarshal([]byte(tc.in), &c); err != nil {
				t.Fatal(err)
			}
			if c != tc.want {
				t.Fatalf("got  %+v\nwant %+v", c, tc.want)
			}
		})
	}
}

func TestCandidateStrictWriting(t *testing.T) {
	bad := []Candidate{
		{Foundation: "1", IP: "10.0.0.1", Port: 1, Protocol: "udp", Type: TypeHost},                // component
		{Component: 1, IP: "10.0.0.1", Port: 1, Protocol: "udp", Type: TypeHost},                   // foundation
		{Component: 1, Foundation: "1", Port: 1, Protocol: "udp", Type: TypeHost},                  // ip
		{Component: 1, Foundation: "1", IP: "10.0.0.1", Protocol: "udp", Type: TypeHost},           // port
		{Component: 1, Foundation: "1", IP: "10.0.0.1", Port: 1, Protocol: "sctp", Type: TypeHost}, // protocol
		{Component: 1, Foundation: "1", IP: "10.0.0.1", Port: 1, Protocol: "udp", Type: "local"},   // type
		{Component: 1, Foundation: "1 2", IP: "10.0.0.1", Port: 1, Protocol: "udp", Type: TypeHost},
	}
	for _, c := range bad {
		if _, err := xml.Marshal(c); !errors.Is(err, ErrInvalidCandidate) {
			t.Errorf("%+v: err %v, want ErrInvalidCandidate", c, err)
		}
		if _, err := c.SDP(""); !errors.Is(err, ErrInvalidCandidate) {
			t.Errorf("%+v: SDP err %v", c, err)
		}
	}
	good := Candidate{Component: 1, Foundation: "1", IP: "10.0.0.1", Port: 9, Priority: 5, Protocol: "udp", Type: TypeHost}
	a, b := good, good
	b.Port = 10
	if a.DerivedID() == b.DerivedID() || a.DerivedID() != good.DerivedID() || len(a.DerivedID()) != 10 {
		t.Errorf("derived ids %q %q", a.DerivedID(), b.DerivedID())
	}
	good.ID = "given"
	if good.DerivedID() != "given" {
		t.Error("explicit id not kept")
	}
}

func TestCandidateSDP(t *testing.T) {
	tests := []struct {
		name  string
		line  string
		want  Candidate
		ufrag string
		out   string
	}{
		{
			name: "libwebrtc host with extensions",
			line: "candidate:1510613869 1 udp 2122194687 127.0.0.1 52985 typ host generation 0 ufrag pJvR network-id 1",
			want: Candidate{Component: 1, Foundation: "1510613869", IP: "127.0.0.1", Port: 52985, Priority: 2122194687,
				Protocol: "udp", Type: TypeHost, Network: 1},
			ufrag: "pJvR",
			out:   "candidate:1510613869 1 udp 2122194687 127.0.0.1 52985 typ host generation 0 ufrag pJvR network-id 1",
		},
		{
			name: "pion srflx, a= prefix, upper case protocol",
			line: "a=candidate:3 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998",
			want: Candidate{Component: 1, Foundation: "3", IP: "192.0.2.3", Port: 45664, Priority: 1694498815,
				Protocol: "udp", Type: TypeSrflx, RelAddr: "10.0.1.1", RelPort: 8998},
			out: "candidate:3 1 udp 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998 generation 0",
		},
		{
			name: "relay without prefix",
			line: "213309110 1 udp 41819903 127.0.0.1 49206 typ relay raddr 0.0.0.0 rport 0",
			want: Candidate{Component: 1, Foundation: "213309110", IP: "127.0.0.1", Port: 49206, Priority: 41819903,
				Protocol: "udp", Type: TypeRelay, RelAddr: "0.0.0.0"},
			out: "candidate:213309110 1 udp 41819903 127.0.0.1 49206 typ relay raddr 0.0.0.0 rport 0 generation 0",
		},
		{
			name: "tcp passive",
			line: "candidate:104624243 1 tcp 1518280447 127.0.0.2 45649 typ host tcptype passive generation 0",
			want: Candidate{Component: 1, Foundation: "104624243", IP: "127.0.0.2", Port: 45649, Priority: 1518280447,
				Protocol: "tcp", Type: TypeHost, TCPType: "passive"},
			out: "candidate:104624243 1 tcp 1518280447 127.0.0.2 45649 typ host tcptype passive generation 0",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, ufrag, err := ParseSDPCandidate(tc.line)
			if err != nil {
				t.Fatal(err)
			}
			if c != tc.want || ufrag != tc.ufrag {
				t.Fatalf("got %+v %q\nwant %+v %q", c, ufrag, tc.want, tc.ufrag)
			}
			out, err := c.SDP(ufrag)
			if err != nil {
				t.Fatal(err)
			}
			if out != tc.out {
				t.Errorf("SDP() = %q\nwant    %q", out, tc.out)
			}
			// pion, the real consumer, must accept what we write.
			pc, err := pionice.UnmarshalCandidate(out)
			if err != nil {
				t.Fatalf("pion rejects %q: %v", out, err)
			}
			if pc.Address() != c.IP || pc.Port() != int(c.Port) || pc.Priority() != c.Priority || pc.Foundation() != c.Foundation {
				t.Errorf("pion read %v from %q", pc, out)
			}
		})
	}
	for _, bad := range []string{"", "candidate:1 1 udp", "candidate:1 x udp 1 1.2.3.4 5 typ host",
		"candidate:1 1 udp 1 1.2.3.4 70000 typ host", "candidate:1 1 udp 1 1.2.3.4 5 type host",
		"candidate:1 1 udp 1 1.2.3.4 5 typ local", "candidate:1 1 udp 1 1.2.3.4 5 typ host generation x"} {
		if _, _, err := ParseSDPCandidate(bad); !errors.Is(err, ErrInvalidSDPCandidate) {
			t.Errorf("%q: err %v, want ErrInvalidSDPCandidate", bad, err)
		}
	}
}

func TestCandidatePion(t *testing.T) {
	c := Candidate{Component: 1, Foundation: "7", Generation: 2, IP: "127.0.0.1", Port: 4000, Priority: 100,
		Protocol: "udp", Type: TypeSrflx, RelAddr: "10.0.0.1", RelPort: 5000}
	init, err := c.ICECandidateInit("audio", "uf")
	if err != nil {
		t.Fatal(err)
	}
	if *init.SDPMid != "audio" || *init.UsernameFragment != "uf" || !strings.Contains(init.Candidate, " ufrag uf") {
		t.Fatalf("init %+v", init)
	}
	back, err := FromICECandidateInit(init)
	if err != nil {
		t.Fatal(err)
	}
	if back != c {
		t.Fatalf("init round trip %+v, want %+v", back, c)
	}
	ic, err := c.ICECandidate("audio", 0)
	if err != nil {
		t.Fatal(err)
	}
	if ic.Typ != webrtc.ICECandidateTypeSrflx || ic.Protocol != webrtc.ICEProtocolUDP || ic.RelatedPort != 5000 {
		t.Fatalf("ICECandidate %+v", ic)
	}
	// pion's own serialisation of its structured candidate parses back.
	back2, err := FromICECandidateInit(ic.ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	c2 := c
	c2.Generation = 0 // pion does not carry the generation
	if back2 != c2 {
		t.Fatalf("pion ToJSON round trip %+v, want %+v", back2, c2)
	}
	back3, err := FromICECandidate(ic)
	if err != nil || back3 != c2 {
		t.Fatalf("FromICECandidate %+v %v", back3, err)
	}

	tcp := Candidate{Component: 1, Foundation: "8", IP: "127.0.0.1", Port: 4001, Priority: 1, Protocol: "tcp", Type: TypeHost, TCPType: "passive"}
	init, err = tcp.ICECandidateInit("0", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromICECandidateInit(init); !errors.Is(err, ErrNotUDP) {
		t.Errorf("TCP candidate: err %v, want ErrNotUDP", err)
	}
	tic, err := tcp.ICECandidate("0", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromICECandidate(tic); !errors.Is(err, ErrNotUDP) {
		t.Errorf("TCP candidate: err %v, want ErrNotUDP", err)
	}
	tr := Transport{Candidates: []Candidate{c, tcp}}
	if u := tr.UDPCandidates(); len(u) != 1 || u[0] != c {
		t.Errorf("UDPCandidates %+v", u)
	}
}

// FuzzParseSDPCandidate checks that the SDP candidate parser never panics
// and that whatever it accepts is written back to an equivalent line that
// also survives XML.
func FuzzParseSDPCandidate(f *testing.F) {
	for _, s := range []string{
		"candidate:1510613869 1 udp 2122194687 127.0.0.1 52985 typ host generation 0 ufrag pJvR network-id 1",
		"a=candidate:3 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998",
		"candidate:104624243 1 tcp 1518280447 127.0.0.2 45649 typ host tcptype passive",
		"213309110 1 udp 41819903 127.0.0.1 49206 typ relay raddr 0.0.0.0 rport 0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, ufrag, err := ParseSDPCandidate(line)
		if err != nil {
			return
		}
		out, err := c.SDP(ufrag)
		if err != nil {
			t.Fatalf("accepted %q but cannot write it: %v", line, err)
		}
		c2, ufrag2, err := ParseSDPCandidate(out)
		if err != nil {
			t.Fatalf("cannot reparse %q: %v", out, err)
		}
		if c2 != c || (ufrag2 != ufrag && token(ufrag)) {
			t.Fatalf("round trip %+v %q -> %+v %q", c, ufrag, c2, ufrag2)
		}
		b, err := xml.Marshal(c)
		if err != nil {
			t.Fatalf("accepted %q but cannot marshal: %v", line, err)
		}
		var c3 Candidate
		if err := xml.Unmarshal(b, &c3); err != nil {
			t.Fatalf("cannot unmarshal %s: %v", b, err)
		}
		c.ID = c.DerivedID()
		if c3 != c {
			t.Fatalf("XML round trip %+v -> %+v", c, c3)
		}
	})
}

// FuzzTransportXML checks that transport decoding never panics and that
// what decodes and encodes is a fixed point.
func FuzzTransportXML(f *testing.F) {
	f.Add(`<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='3TtG'><candidate component='1' priority='41819903' port='49206' foundation='213309110' protocol='udp' ip='127.0.0.1' rel-addr='0.0.0.0' type='relay'/><gathering-complete/></transport>`)
	f.Add(`<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="X0Jv" pwd="W"><fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" setup="actpass">40:92</fingerprint><sctpmap xmlns="urn:xmpp:jingle:transports:dtls-sctp:1" number="5000" protocol="webrtc-datachannel"/><remote-candidate component="1" ip="10.0.0.1" port="9"/></transport>`)
	f.Fuzz(func(t *testing.T, in string) {
		var tr Transport
		if xml.Unmarshal([]byte(in), &tr) != nil {
			return
		}
		out, err := xml.Marshal(tr)
		if err != nil {
			return // strict writing refuses what tolerant reading let in
		}
		var again Transport
		if err := xml.Unmarshal(out, &again); err != nil {
			t.Fatalf("cannot reread %s: %v", out, err)
		}
		out2, err := xml.Marshal(again)
		if err != nil || string(out2) != string(out) {
			t.Fatalf("not a fixed point:\n%s\n%s (%v)", out, out2, err)
		}
	})
}
