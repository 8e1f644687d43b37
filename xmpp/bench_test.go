package xmpp

import (
	"context"
	"testing"

	"github.com/jingled/jingled/internal/prosodytest"
	"github.com/jingled/jingled/jingle"
)

// BenchmarkIQRoundTrip measures one IQ get/result between two clients
// through Prosody over STARTTLS (loopback):
//
//	go test -run '^$' -bench IQRoundTrip -benchtime 2s ./xmpp/
func BenchmarkIQRoundTrip(b *testing.B) {
	srv := prosodytest.Shared(b)
	alice := benchClient(b, srv, srv.NewAccount(b, "alice"))
	bob := benchClient(b, srv, srv.NewAccount(b, "bob"))
	alice.HandleIQ(nsEcho, "echo", func(_ context.Context, iq *jingle.IQ) *jingle.IQ { return iq.Result() })
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := bob.SendIQ(ctx, echoIQ(alice.JID(), i, "x")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConnect measures STARTTLS + SCRAM + bind + presence against
// Prosody on loopback.
func BenchmarkConnect(b *testing.B) {
	srv := prosodytest.Shared(b)
	acc := srv.NewAccount(b, "carol")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := benchClient(b, srv, acc)
		_ = c.Close()
	}
}

func benchClient(b *testing.B, srv *prosodytest.Server, acc prosodytest.Account) *Client {
	b.Helper()
	c, err := New(Config{JID: acc.JID, Password: acc.Password, Resource: "bench", Addr: srv.Addr, CAFile: srv.CAFile})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

func BenchmarkCapsVer(b *testing.B) {
	info := DiscoInfo{
		Identities: []Identity{{Category: "client", Type: "bot", Name: "jingled"}},
		Features:   append([]string{"urn:xmpp:jingle:1", "urn:xmpp:jingle:apps:rtp:1", "urn:xmpp:jingle:transports:ice-udp:1"}, builtinFeatures...),
	}
	for i := 0; i < b.N; i++ {
		_ = CapsVer(info)
	}
}
