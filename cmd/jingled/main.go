// Command jingled runs the jingled daemon: a TURN/STUN relay and Jingle
// services (echo, record, play, filedrop) on XMPP accounts. See
// docs/DEPLOY.md and docs/jingled.example.toml.
package main

import (
	"os"

	"github.com/jingled/jingled/internal/daemon"
	"github.com/jingled/jingled/internal/gctune"
	"github.com/jingled/jingled/internal/pionbuf"
)

func main() {
	// The collector's heap floor for the whole process (internal/gctune).
	gctune.Start(gctune.Floor)
	// pion's datagram buffers as large as a datachannel's window
	// (internal/pionbuf), before any PeerConnection.
	pionbuf.Apply()
	os.Exit(daemon.Main(os.Args[1:], os.Stdout, os.Stderr))
}
