// Command jingle places and answers Jingle calls and sends and receives
// files over XMPP. See `jingle --help`.
package main

import (
	"os"

	"github.com/jingled/jingled/internal/cli"
	"github.com/jingled/jingled/internal/gctune"
	"github.com/jingled/jingled/internal/pionbuf"
)

func main() {
	// The collector's heap floor for the whole process (internal/gctune).
	gctune.Start(gctune.Floor)
	// pion's datagram buffers as large as a datachannel's window
	// (internal/pionbuf), before any PeerConnection.
	pionbuf.Apply()
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
