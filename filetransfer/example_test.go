package filetransfer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/filetransfer/ibb"
	"github.com/jingled/jingled/filetransfer/s5b"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
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

// Sending a file between two accounts on the in-memory router
// (jingletest), over In-Band Bytestreams: the same calls as over an XMPP
// server, where filetransfer/stack builds the App with all three
// transports on an xmpp.Client (see examples/filebot).
func ExampleApp_Send() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := jingletest.NewRouter()
	defer r.Close()
	tmp, err := os.MkdirTemp("", "example-send-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(tmp)

	// Juliet accepts files up to 1 MiB into her inbox.
	inbox, err := filetransfer.OpenDir(filepath.Join(tmp, "inbox"))
	if err != nil {
		panic(err)
	}
	defer inbox.Close()
	received := make(chan *filetransfer.Result, 1)
	juliet := newExampleAccount(r, "juliet@example.org/balcony",
		filetransfer.WithReceiveDir(inbox),
		filetransfer.WithAutoAccept(filetransfer.AcceptPolicy{MaxSize: 1 << 20}),
		filetransfer.WithResults(func(res *filetransfer.Result) { received <- res }))
	defer juliet.close()
	romeo := newExampleAccount(r, "romeo@example.org/orchard")
	defer romeo.close()

	path := filepath.Join(tmp, "sonnet.txt")
	if err := os.WriteFile(path, []byte("Shall I compare thee to a summer's day?\n"), 0o600); err != nil {
		panic(err)
	}
	// Send returns once Juliet verified the file's hash.
	sent, err := romeo.app.Send(ctx, romeo.mgr, "juliet@example.org/balcony", path, filetransfer.SendOptions{})
	if err != nil {
		fmt.Println("send:", err)
		return
	}
	fmt.Println("sent", sent.Name, sent.Size, "bytes over", filetransfer.Family(sent.Transport))
	got := <-received
	data, err := os.ReadFile(got.Path)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s received %s: %s", got.Peer, filepath.Base(got.Path), data)
	// Output:
	// sent sonnet.txt 40 bytes over ibb
	// romeo@example.org/orchard received sonnet.txt: Shall I compare thee to a summer's day?
}

// exampleAccount is one endpoint of the router with a file-transfer App
// on IBB.
type exampleAccount struct {
	app *filetransfer.App
	mgr *jingle.Manager
}

// newExampleAccount connects jid to the router with an App (opts added) whose
// one transport is IBB, and serves its Jingle and IBB IQs.
func newExampleAccount(r *jingletest.Router, jid string, opts ...filetransfer.Option) *exampleAccount {
	ep := r.Endpoint(jid)
	it := ibb.New(ep)
	app := filetransfer.New(opts...)
	mgr := jingle.NewManager(jid, ep, jingle.WithApplication(app), jingle.WithTransport(it))
	ep.Serve(mgr)
	// XEP-0047's IQs are not Jingle: the transport takes them itself.
	for _, p := range it.Payloads() {
		ep.HandleIQ(p[0], p[1], it.HandleIQ)
	}
	return &exampleAccount{app: app, mgr: mgr}
}

func (a *exampleAccount) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = a.mgr.Close(ctx)
	_ = a.app.Close()
}
