// Package integration_test runs file transfers between two Go clients
// through a real Prosody (internal/prosodytest, with mod_proxy65): each
// transport forced in turn, the datachannel through our TURN server with
// ICE policy relay, and the fallback to IBB with the direct paths
// blocked. Sizes are flags so a long run is one command away:
//
//	go test ./filetransfer/integration -ft.size=52428800 -ft.ibbsize=52428800
package integration_test

import (
	"flag"
	"os"
	"testing"

	"github.com/jingled/jingled/internal/prosodytest"
)

var (
	size    = flag.Int("ft.size", 50<<20, "bytes sent over datachannel and SOCKS5")
	ibbSize = flag.Int("ft.ibbsize", 4<<20, "bytes sent over IBB (slow: base64 in IQs through the server)")
)

func TestMain(m *testing.M) { os.Exit(prosodytest.Run(m, prosodytest.WithProxy65())) }
