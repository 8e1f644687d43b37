package filetransfer_test

import (
	"fmt"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/filetransfer/s5b"
)

// Offered names are reduced to one safe path element before anything
// touches the disk.
func ExampleSanitizeName() {
	for _, n := range []string{"../../etc/passwd", `C:\Users\x\report.pdf`, "CON.txt", ".bashrc", "a\x00b"} {
		fmt.Println(filetransfer.SanitizeName(n))
	}
	// Output:
	// passwd
	// report.pdf
	// _CON.txt
	// bashrc
	// ab
}

// The description of an offer, as it goes into session-initiate.
func ExampleDescription_Element() {
	d := filetransfer.Description{File: filetransfer.File{Name: "test.txt", Size: 6144, MediaType: "text/plain",
		Hashes: []filetransfer.Hash{{Algo: "sha-256", Value: []byte{0xde, 0xad, 0xbe, 0xef}}}}}
	e, err := d.Element()
	if err != nil {
		panic(err)
	}
	fmt.Printf("<%s xmlns='%s'>%s\n", e.XMLName.Local, e.XMLName.Space, e.Inner)
	// Output:
	// <description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><media-type>text/plain</media-type><name>test.txt</name><size>6144</size><hash xmlns="urn:xmpp:hashes:2" algo="sha-256">3q2+7w==</hash></file>
}

// DST.ADDR as Dino 0.4.2 computed it for its own candidates
// (testdata/dino-0.4.2-session.xml).
func ExampleDstAddr() {
	fmt.Println(s5b.DstAddr("34801e93-4944-49f9-9328-373e3b034049", "carol@localhost/dino", "bob@localhost/dino"))
	// Output:
	// f475f57772062aeb83255165f410cfbcfbfd17df
}
