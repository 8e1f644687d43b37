package interop

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/prosodytest"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/xmpp"
)

// goPeer is our side: one account logged into Prosody through
// xmpp with a Jingle manager serving its IQs.
type goPeer struct {
	acct   prosodytest.Account
	client *xmpp.Client
	mgr    *jingle.Manager
}

// testLogger discards unless INTEROP_TEST_LOG is set, so a failing run can
// be repeated with our side's logs on stderr.
func testLogger() *slog.Logger {
	if os.Getenv("INTEROP_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// loginGo logs a new account named after prefix into srv and serves its
// Jingle IQs with a manager built from opts. Everything is closed at the
// end of the test.
func loginGo(t *testing.T, srv *prosodytest.Server, prefix string, opts ...jingle.Option) *goPeer {
	t.Helper()
	return loginAs(t, srv, srv.NewAccount(t, prefix), opts...)
}

// loginAs is loginGo for an existing account.
func loginAs(t *testing.T, srv *prosodytest.Server, acct prosodytest.Account, opts ...jingle.Option) *goPeer {
	t.Helper()
	c, err := xmpp.New(xmpp.Config{
		JID:      acct.JID,
		Password: acct.Password,
		Resource: "jingled",
		Addr:     srv.Addr,
		CAFile:   srv.CAFile,
		Logger:   testLogger().With("me", acct.JID),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("logging in %s: %v", acct.JID, err)
	}
	opts = append([]jingle.Option{jingle.WithLogger(testLogger().With("me", c.JID()))}, opts...)
	m := jingle.NewManager(c.JID(), c, opts...)
	c.Serve(m)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("closing the jingle manager: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("closing the xmpp client: %v", err)
		}
	})
	return &goPeer{acct: acct, client: c, mgr: m}
}

// sineFile writes an Ogg/Opus sine of freq Hz lasting d into the test's
// temporary directory (ffmpeg, see internal/mediatest).
func sineFile(t *testing.T, freq float64, d time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("sine%g.ogg", freq))
	if err := mediatest.SineOpus(ctx, path, freq, d); err != nil {
		t.Fatal(err)
	}
	return path
}
