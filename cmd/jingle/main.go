// Command jingle places and answers Jingle calls and sends and receives
// files over XMPP. See `jingle --help`.
package main

import (
	"os"

	"github.com/jingled/jingled/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
