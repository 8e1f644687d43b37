package prosodytest

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestStopAndResume: between Stop and Resume nothing listens on the
// server's ports; after Resume the same account logs in at the same
// address.
func TestStopAndResume(t *testing.T) {
	s := New(t)
	acc := s.NewAccount(t, "alice")
	addr := s.Addr
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after Stop", addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Addr != addr {
		t.Fatalf("address changed: %s -> %s", addr, s.Addr)
	}
	c, err := login(t, s, acc.JID, acc.Password)
	if err != nil {
		t.Fatalf("login after Resume: %v", err)
	}
	_ = c.Close()
}
