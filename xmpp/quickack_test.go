package xmpp

import (
	"crypto/tls"
	"net"
	"testing"
)

// The acker finds the TCP socket under TLS, and asking the kernel for a
// quick ACK works on it; a connection without a socket gets no acker and
// quickAck is a no-op.
func TestQuickAcker(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			defer c.Close()
			b := make([]byte, 1)
			_, _ = c.Read(b)
		}
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for name, conn := range map[string]net.Conn{"tcp": c, "tls over tcp": tls.Client(c, &tls.Config{})} {
		q := newQuickAcker(conn)
		if q == nil {
			t.Fatalf("%s: no TCP socket found", name)
		}
		if err := q.quickAck(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	q := newQuickAcker(a)
	if q != nil {
		t.Fatal("net.Pipe has no socket, yet an acker was made")
	}
	if err := q.quickAck(); err != nil {
		t.Fatal(err)
	}
}
