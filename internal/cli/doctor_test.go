package cli

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jingled/jingled/internal/doctor"
	"github.com/jingled/jingled/xmpp"
	"github.com/jingled/jingled/xmpp/extdisco"
)

func TestLoginFinding(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		id   string
	}{
		{"certificate for another name", exitf(ExitConnect, "connecting as a@b: %v", fmt.Errorf("x: %w: starttls handshake: x509: certificate is valid for other.example, not b", xmpp.ErrTLS)), doctor.IDXMPPTLSName},
		{"untrusted certificate", exitf(ExitConnect, "connecting as a@b: %v", fmt.Errorf("x: %w: x509: certificate signed by unknown authority", xmpp.ErrTLS)), doctor.IDXMPPTLSUntrust},
		{"wrong password", exitf(ExitAuth, "the server refused the credentials of a@b"), doctor.IDXMPPAuth},
		{"no server", exitf(ExitConnect, "cannot reach b: connection refused"), doctor.IDXMPPUnreachable},
		{"anything else", errors.New("boom"), doctor.IDXMPPUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if f := loginFinding("b", tc.err); f.ID != tc.id || f.Severity != doctor.Error {
				t.Errorf("loginFinding = %+v, want %s", f, tc.id)
			}
		})
	}
}

func TestTransportOf(t *testing.T) {
	for _, tc := range []struct {
		typ, transport, want string
	}{
		{"stun", "", "udp"},
		{"stun", "udp", "udp"},
		{"turn", "udp", "udp"},
		{"turn", "tcp", "tcp"},
		{"turns", "tcp", "tls"},
		{"stuns", "", "tls"},
	} {
		if got := transportOf(extdisco.ICEServer{Type: tc.typ, Transport: tc.transport}); got != tc.want {
			t.Errorf("transportOf(%s, %q) = %s, want %s", tc.typ, tc.transport, got, tc.want)
		}
	}
}
