// Command jingled runs the jingled daemon: a TURN/STUN relay and Jingle
// services (echo, record, play, filedrop) on XMPP accounts. See
// docs/DEPLOY.md and docs/jingled.example.toml.
package main

import (
	"os"

	"github.com/jingled/jingled/internal/daemon"
	"github.com/jingled/jingled/internal/gctune"
)

func main() {
	// The collector's heap floor for the whole process (internal/gctune).
	gctune.Start(gctune.Floor)
	os.Exit(daemon.Main(os.Args[1:], os.Stdout, os.Stderr))
}
