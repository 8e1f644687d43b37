package prosodytest

import (
	"context"
	"crypto/sha1" //nolint:gosec // XEP-0114 §3 mandates SHA-1 for the handshake.
	"encoding/hex"
	"encoding/xml"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// componentHandshake opens an XEP-0114 stream to addr as domain and
// returns the name of the element the server answered the handshake with
// secret: "handshake" or, for a stream error, its condition.
func componentHandshake(t *testing.T, addr, domain, secret string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("component port %s: %v", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='" + domain + "'>")); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(conn)
	start := func() xml.StartElement {
		for {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("component stream: %v", err)
			}
			if s, ok := tok.(xml.StartElement); ok {
				return s
			}
		}
	}
	var id string
	for _, a := range start().Attr {
		if a.Name.Local == "id" {
			id = a.Value
		}
	}
	sum := sha1.Sum([]byte(id + secret)) //nolint:gosec // see import
	if _, err := conn.Write([]byte("<handshake>" + hex.EncodeToString(sum[:]) + "</handshake>")); err != nil {
		t.Fatal(err)
	}
	el := start()
	if el.Name.Local == "error" {
		return start().Name.Local
	}
	return el.Name.Local
}

func TestComponentPort(t *testing.T) {
	s := New(t, WithComponent("call", "s3cret"), WithProxy65())
	if s.ComponentJID != "call."+Domain || s.ComponentSecret != "s3cret" || !strings.HasPrefix(s.ComponentAddr, "127.0.0.1:") {
		t.Fatalf("component %q at %q secret %q", s.ComponentJID, s.ComponentAddr, s.ComponentSecret)
	}
	cfg, err := os.ReadFile(s.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`Component "call.localhost"`, `component_secret = "s3cret"`, `component_interfaces = { "127.0.0.1" }`} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config lacks %s", want)
		}
	}
	if got := componentHandshake(t, s.ComponentAddr, s.ComponentJID, "s3cret"); got != "handshake" {
		t.Fatalf("right secret: server answered %q", got)
	}
	if got := componentHandshake(t, s.ComponentAddr, s.ComponentJID, "wrong"); got != "not-authorized" {
		t.Fatalf("wrong secret: server answered %q", got)
	}
	// proxy65 still works alongside.
	conn, err := net.DialTimeout("tcp", s.ProxyAddr, 5*time.Second)
	if err != nil {
		t.Fatalf("proxy65 %s: %v", s.ProxyAddr, err)
	}
	conn.Close()
}

func TestRestartKeepsPorts(t *testing.T) {
	s := New(t, WithComponent("call", "s3cret"))
	acc := s.NewAccount(t, "alice")
	addr, comp := s.Addr, s.ComponentAddr
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Addr != addr || s.ComponentAddr != comp {
		t.Fatalf("addresses changed: %s %s -> %s %s", addr, comp, s.Addr, s.ComponentAddr)
	}
	c, err := login(t, s, acc.JID, acc.Password)
	if err != nil {
		t.Fatalf("login after restart: %v", err)
	}
	_ = c.Close()
	if got := componentHandshake(t, s.ComponentAddr, s.ComponentJID, "s3cret"); got != "handshake" {
		t.Fatalf("after restart: server answered %q", got)
	}
}
