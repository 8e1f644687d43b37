package filetransfer

import (
	"encoding/xml"
	"reflect"
	"testing"

	"github.com/jingled/jingled/jingle"
)

// FuzzDecodeDescription: any <description/> either fails to decode or
// decodes to a File that survives our encoding unchanged, and the
// sanitized name is always safe. Run long with
// `go test -fuzz FuzzDecodeDescription ./filetransfer` (make fuzz).
func FuzzDecodeDescription(f *testing.F) {
	for _, s := range []string{
		`<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><date>1969-07-21T02:56:15Z</date><name>test.txt</name><range offset='10' length='5'/><size>6144</size><hash xmlns='urn:xmpp:hashes:2' algo='sha-1'>w0mcJylzCn+AfvuGdqkty2+KP48=</hash></file></description>`,
		`<description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><hash-used xmlns='urn:xmpp:hashes:2' algo='sha-1'/><name>payload-1MiB.bin</name><size>1048576</size></file></description>`,
		`<description xmlns='urn:xmpp:jingle:apps:file-transfer:3'><offer><file><name>../../x</name></file></offer></description>`,
		`<description xmlns='urn:xmpp:jingle:apps:file-transfer:4'><file><size>0</size></file></description>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var e jingle.Element
		if xml.Unmarshal([]byte(s), &e) != nil {
			return
		}
		d, err := DecodeDescription(&e)
		if err != nil {
			return
		}
		out, err := d.Element()
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", d, err)
		}
		d2, err := DecodeDescription(&out)
		if err != nil {
			t.Fatalf("our own encoding %s does not decode: %v", out.Inner, err)
		}
		d.Namespace, d.Request = d2.Namespace, d2.Request
		if d.File.Date.Equal(d2.File.Date) {
			d2.File.Date = d.File.Date // same instant, maybe another zone
		}
		if !reflect.DeepEqual(d, d2) {
			t.Fatalf("round trip changed the file:\n%+v\n%+v", d.File, d2.File)
		}
		if n := SanitizeName(d.File.Name); n == "" || n == "." || n == ".." {
			t.Fatalf("unsafe name %q", n)
		}
	})
}

// FuzzDecodeChecksum: a checksum or received payload never panics.
func FuzzDecodeChecksum(f *testing.F) {
	f.Add(`<checksum xmlns='urn:xmpp:jingle:apps:file-transfer:5' creator='initiator' name='a'><file><hash xmlns='urn:xmpp:hashes:2' algo='sha-1'>w0mcJylzCn+AfvuGdqkty2+KP48=</hash></file></checksum>`)
	f.Add(`<received xmlns='urn:xmpp:jingle:apps:file-transfer:5' creator='initiator' name='a'/>`)
	f.Fuzz(func(t *testing.T, s string) {
		var e jingle.Element
		if xml.Unmarshal([]byte(s), &e) != nil {
			return
		}
		if c, err := DecodeChecksum(&e); err == nil {
			if _, err := c.Element(); err != nil {
				t.Fatalf("checksum %+v does not encode: %v", c, err)
			}
		}
		_, _ = DecodeReceived(&e)
	})
}
