// Package integration_test runs file transfers between two Go clients
// through a real Prosody (internal/prosodytest, with mod_proxy65): each
// transport forced in turn, the datachannel through our TURN server with
// ICE policy relay, and the fallback to IBB with the direct paths
// blocked. The default sizes keep `go test -race` short on a shared
// machine; the acceptance run with 50 MiB on every transport is
// `make ft-50m` (mk/filetransfer.mk):
//
//	go test ./filetransfer/integration -v -ft.size=52428800 -ft.ibbsize=52428800
package integration_test

import (
	"flag"
	"os"
	"testing"

	"github.com/jingled/jingled/filetransfer/ibb"
	"github.com/jingled/jingled/internal/pionbuf"
	"github.com/jingled/jingled/internal/prosodytest"
)

var (
	size     = flag.Int("ft.size", 8<<20, "bytes sent over datachannel and SOCKS5")
	ibbSize  = flag.Int("ft.ibbsize", 2<<20, "bytes sent over IBB (slow: base64 in IQs through the server)")
	ibbBlock = flag.Int("ft.ibbblock", ibb.DefaultBlockSize, "IBB block size offered")
)

func TestMain(m *testing.M) {
	// pion's datagram buffers as the binaries set them (internal/pionbuf).
	pionbuf.Apply()
	os.Exit(prosodytest.Run(m, prosodytest.WithProxy65()))
}
