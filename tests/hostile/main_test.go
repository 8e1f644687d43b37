// Package hostile floods a live jingled with hostile stanzas while a
// real call runs on the same account (issue 17): the built jingled with
// an echo account, a `jingle call` into it, and a raw XMPP client on a
// second account, all through a real Prosody.
//
// The full run sends 10,000 hostile stanzas:
//
//	JINGLED_HOSTILE_STANZAS=10000 go test -race -count=1 ./tests/hostile/
//
// make test sends the default 2,000 (two shared cores also run the rest
// of the suite meanwhile); every assertion is the same.
package hostile

import (
	"os"
	"testing"

	"github.com/jingled/jingled/internal/proctest"
)

func TestMain(m *testing.M) { os.Exit(proctest.MainWithBinaries(m)) }
