// Package resilience runs the built jingle and jingled binaries through
// what a long-running listener meets in the field (issue 17): its XMPP
// server stopped for good or restarted under it, a sender killed in the
// middle of a file, a receiver that crashed and left a partial file.
// Each test has its own Prosody, since they stop it.
package resilience

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/proctest"
	"github.com/jingled/jingled/internal/prosodytest"
)

func TestMain(m *testing.M) { os.Exit(proctest.MainWithBinaries(m)) }

func bin(t *testing.T, name string) string { return proctest.Bin(t, name) }

// lab is one test's own Prosody and scratch directory.
type lab struct {
	srv *prosodytest.Server
	dir string
}

func newLab(t *testing.T, opts ...prosodytest.Option) *lab {
	t.Helper()
	srv := prosodytest.New(t, opts...) // skips under -short
	return &lab{srv: srv, dir: t.TempDir()}
}

// user is an account with its password file.
type user struct {
	prosodytest.Account
	pwFile string
}

func (l *lab) user(t *testing.T, prefix string) user {
	t.Helper()
	a := l.srv.NewAccount(t, prefix)
	u := user{Account: a, pwFile: filepath.Join(l.dir, a.Local+".pw")}
	if err := os.WriteFile(u.pwFile, []byte(a.Password), 0o600); err != nil {
		t.Fatal(err)
	}
	return u
}

// args are a jingle subcommand's arguments as u, on the lab's server,
// loopback only, with --json.
func (l *lab) args(u user, args ...string) []string {
	return append(args, "--jid", u.JID, "--password-file", u.pwFile, "--server", l.srv.Addr, "--ca", l.srv.CAFile,
		"--loopback", "--no-discover", "--json")
}

// start runs a long-running jingle subcommand as u and waits for ready.
func (l *lab) start(ctx context.Context, t *testing.T, u user, args ...string) *proctest.Proc {
	t.Helper()
	p := proctest.StartCLI(t, bin(t, "jingle"), l.args(u, args...)...)
	p.Event(ctx, t, "ready")
	return p
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
