package ice

import (
	"encoding/xml"
	"testing"
)

// BenchmarkParseSDPCandidate measures the trickle path, once per gathered
// candidate.
//
//	go test -run XXX -bench . -benchmem ./ice/
func BenchmarkParseSDPCandidate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseSDPCandidate("candidate:842163049 1 udp 1686052607 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998 generation 0 ufrag 8hhy network-id 1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTransportXML measures decoding and encoding a transport-info
// transport with one candidate.
func BenchmarkTransportXML(b *testing.B) {
	in := []byte(`<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='3TtG'><candidate component='1' priority='41819903' port='49206' foundation='213309110' protocol='udp' ip='127.0.0.1' rel-addr='0.0.0.0' type='relay'/></transport>`)
	b.ReportAllocs()
	for b.Loop() {
		var t Transport
		if err := xml.Unmarshal(in, &t); err != nil {
			b.Fatal(err)
		}
		if _, err := xml.Marshal(t); err != nil {
			b.Fatal(err)
		}
	}
}
