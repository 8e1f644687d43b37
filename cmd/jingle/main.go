// Command jingle places and answers Jingle calls and sends and receives
// files over XMPP. See `jingle --help`.
package main

import (
	"os"

	"github.com/jingled/jingled/internal/cli"
	"github.com/jingled/jingled/internal/gctune"
)

func main() {
	// The collector's heap floor for the whole process (internal/gctune).
	gctune.Start(gctune.Floor)
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
