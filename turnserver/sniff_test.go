package turnserver

import (
	"io"
	"net"
	"testing"

	"github.com/pion/stun/v4"
)

// TestSniffFirstByte: the first byte of a connection to the TLS port tells
// a TLS ClientHello (a handshake record, 0x16) from plain TURN: STUN
// (first two bits 00) and ChannelData (01, channels 0x4000-0x4FFF).
func TestSniffFirstByte(t *testing.T) {
	binding := stun.MustBuild(stun.TransactionID, stun.BindingRequest)
	allocate := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest))
	refreshOK := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodRefresh, stun.ClassSuccessResponse))
	cases := []struct {
		name  string
		first byte
		tls   bool
	}{
		{"TLS handshake record (ClientHello)", 0x16, true},
		{"STUN binding request", binding.Raw[0], false},
		{"STUN allocate request", allocate.Raw[0], false},
		{"STUN success response", refreshOK.Raw[0], false},
		{"ChannelData 0x4000", 0x40, false},
		{"ChannelData 0x4FFF", 0x4F, false},
		{"TLS application data record", 0x17, false},
		{"TLS alert record", 0x15, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := isTLSRecord(c.first); got != c.tls {
				t.Errorf("isTLSRecord(%#02x) = %v, want %v", c.first, got, c.tls)
			}
			// Whatever is not TLS must frame as TURN (or be refused by
			// frameSize, as the plain port refuses it).
			if !c.tls && c.first>>6 > 1 {
				t.Errorf("%#02x is neither STUN nor ChannelData", c.first)
			}
		})
	}
}

// TestPrefixConnReplaysSniffedByte: the byte read to decide reaches the
// TLS server first, then the rest of the stream.
func TestPrefixConnReplaysSniffedByte(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { _, _ = b.Write([]byte("ello")); _ = b.Close() }()
	got, err := io.ReadAll(&prefixConn{Conn: a, prefix: []byte("h")})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "hello" {
		t.Fatalf("read %q, want %q", got, "hello")
	}
}
