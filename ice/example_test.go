package ice_test

import (
	"encoding/xml"
	"fmt"

	"github.com/jingled/jingled/ice"
)

// A candidate gathered by libwebrtc or pion becomes an XEP-0176 candidate
// for a transport-info, with every required attribute and a stable id.
func ExampleParseSDPCandidate() {
	c, ufrag, err := ice.ParseSDPCandidate("candidate:842163049 1 udp 1686052607 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998 generation 0 ufrag 8hhy")
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := xml.Marshal(ice.Transport{Ufrag: ufrag, Candidates: []ice.Candidate{c}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))
	// Output:
	// <transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="8hhy"><candidate component="1" foundation="842163049" generation="0" id="e3c395ce7c" ip="192.0.2.3" network="0" port="45664" priority="1686052607" protocol="udp" rel-addr="10.0.1.1" rel-port="8998" type="srflx"></candidate></transport>
}

// A StanzaJS candidate (no id, generation or network) becomes the line
// pion's AddICECandidate takes.
func ExampleCandidate_ICECandidateInit() {
	var c ice.Candidate
	in := `<candidate component="1" foundation="559267639" ip="::1" port="37635" priority="2122267903" protocol="udp" type="host"/>`
	if err := xml.Unmarshal([]byte(in), &c); err != nil {
		fmt.Println(err)
		return
	}
	init, err := c.ICECandidateInit("0", "pJvR")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(init.Candidate, *init.SDPMid)
	// Output:
	// candidate:559267639 1 udp 2122267903 ::1 37635 typ host generation 0 ufrag pJvR 0
}
