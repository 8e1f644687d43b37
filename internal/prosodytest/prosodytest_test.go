package prosodytest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xmppo/go-xmpp"
)

func TestMain(m *testing.M) { os.Exit(Run(m, WithProxy65())) }

// login authenticates with go-xmpp over STARTTLS, verifying the server's
// certificate against the harness CA.
func login(t *testing.T, s *Server, jid, password string) (*xmpp.Client, error) {
	t.Helper()
	tc, err := s.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	o := xmpp.Options{
		Host: s.Addr, User: jid, Password: password, Resource: "test",
		NoTLS: true, StartTLS: true, TLSConfig: tc, DialTimeout: 5 * time.Second,
	}
	return o.NewClient()
}

func TestSharedServerLogin(t *testing.T) {
	s := Shared(t)
	alice := s.NewAccount(t, "alice")
	bob := s.NewAccount(t, "bob")
	if alice.JID == bob.JID {
		t.Fatalf("accounts not unique: %s", alice.JID)
	}
	if !strings.HasSuffix(alice.JID, "@"+Domain) {
		t.Fatalf("JID %q not on %s", alice.JID, Domain)
	}
	c, err := login(t, s, alice.JID, alice.Password)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if !c.IsEncrypted() {
		t.Fatal("connection not encrypted")
	}
	if !strings.HasPrefix(c.Mechanism, "SCRAM-SHA") {
		t.Fatalf("mechanism %q, want SCRAM", c.Mechanism)
	}
	if got := c.JID(); got != alice.JID+"/test" {
		t.Fatalf("bound JID %q", got)
	}
	t.Logf("SASL mechanism %s", c.Mechanism)
	defer c.Close()
	if _, err := login(t, s, bob.JID, "wrong"+bob.Password); err == nil || !strings.HasPrefix(err.Error(), "auth failure") {
		t.Fatalf("wrong password: err = %v, want auth failure", err)
	}
	// The proxy65 component listens where it says.
	conn, err := net.DialTimeout("tcp", s.ProxyAddr, 5*time.Second)
	if err != nil {
		t.Fatalf("proxy65 %s: %v", s.ProxyAddr, err)
	}
	conn.Close()
}

func TestTURNExternalConfig(t *testing.T) {
	s := New(t, WithTURNExternal(TURNExternal{Secret: "s3cret", Port: 3479, TTL: time.Hour, TCP: true}))
	cfg, err := os.ReadFile(s.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"turn_external"`, `turn_external_secret = "s3cret"`, `turn_external_port = 3479`, `turn_external_ttl = 3600`} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config lacks %s", want)
		}
	}
	if strings.Contains(s.Log(), "Failed to initialize") {
		t.Fatalf("mod_turn_external failed:\n%s", s.Log())
	}
	acc, err := s.CreateAccount(context.Background(), "carol", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "data", Domain, "accounts", "carol.dat")); err != nil {
		t.Fatal(err)
	}
	c, err := login(t, s, acc.JID, acc.Password)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	_ = c.Close()
}

func TestMissingProsodyIsAnError(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Start(context.Background(), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "apt-get install prosody") {
		t.Fatalf("err = %v, want install hint", err)
	}
}

func TestCloseStopsProsody(t *testing.T) {
	skipShort(t)
	s, err := Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	default:
		t.Fatal("prosody still running after Close")
	}
	if _, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		t.Fatal("c2s port still accepting after Close")
	}
}

// BenchmarkStart measures starting and stopping a Prosody (fresh
// directory, certificate, config) and creating one account:
//
//	go test -run '^$' -bench Start ./internal/prosodytest/
func BenchmarkStart(b *testing.B) {
	for i := 0; i < b.N; i++ {
		s, err := Start(context.Background(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.CreateAccount(context.Background(), "a", "p"); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
