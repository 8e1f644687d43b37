package xmpp

import (
	"bytes"
	"encoding/xml"
	"testing"
)

// FuzzStreamReader feeds arbitrary bytes after a stream header to the
// stanza reader and the stanza decoders: they must return errors, never
// panic or loop. Run longer with
//
//	go test -run '^$' -fuzz FuzzStreamReader -fuzztime 2m ./xmpp/
func FuzzStreamReader(f *testing.F) {
	for _, seed := range []string{
		`<iq type="set" id="1" from="a@b/c"><jingle xmlns="urn:xmpp:jingle:1" action="session-initiate" sid="x"/></iq>`,
		`<iq type="error" id="2"><error type="cancel"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><unknown-session xmlns="urn:xmpp:jingle:errors:1"/></error></iq>`,
		`<message from="a@b/c" type="chat"><propose xmlns="urn:xmpp:jingle-message:0" id="p"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio"/></propose></message>`,
		`<presence from="a@b/c"><c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="n" ver="v"/><priority>5</priority></presence>`,
		`<stream:error><conflict xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error>`,
		`<p:iq xmlns:p="jabber:client" type="get"/>`,
		`</stream:stream>`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc := append([]byte(`<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">`), data...)
		s := &stream{dec: xml.NewDecoder(bytes.NewReader(doc))}
		if _, err := s.dec.Token(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 64; i++ {
			st, err := s.next()
			if err != nil {
				return
			}
			switch st.name.Local {
			case "iq":
				_, _ = decodeIQ(st)
			case "message":
				if m, err := decodeMessage(st); err == nil {
					_, _ = m.Elements()
				}
			case "presence":
				var p presenceXML
				_ = xml.Unmarshal(st.raw, &p)
			}
			// What next re-encoded must parse again.
			var any struct{}
			if err := xml.Unmarshal(st.raw, &any); err != nil {
				t.Fatalf("re-encoded stanza does not parse: %v\n%s", err, st.raw)
			}
		}
	})
}

// FuzzParseDiscoInfo: disco#info answers come from remote entities.
func FuzzParseDiscoInfo(f *testing.F) {
	f.Add([]byte(`<query xmlns="http://jabber.org/protocol/disco#info"><identity category="client" type="pc"/><feature var="a"/></query>`))
	f.Add([]byte(`<query xmlns="http://jabber.org/protocol/disco#info"><x xmlns="jabber:x:data" type="result"><field var="FORM_TYPE" type="hidden"><value>t</value></field><field var="f"><value>1</value></field></x></query>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := ParseDiscoInfo(data)
		if err != nil {
			return
		}
		_ = CapsVer(info)
		_ = VerifyCaps(Caps{Hash: "sha-1", Ver: CapsVer(info)}, info)
	})
}
