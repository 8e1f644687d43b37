package doctor

import "testing"

func TestTLSFailure(t *testing.T) {
	for _, tc := range []struct {
		msg, id string
	}{
		{"starttls handshake: tls: failed to verify certificate: x509: certificate is valid for other.example, *.other.example, not localhost", IDXMPPTLSName},
		{"x509: certificate is not valid for any names, but wanted to match localhost", IDXMPPTLSName},
		{"tls: failed to verify certificate: x509: certificate signed by unknown authority", IDXMPPTLSUntrust},
		{"x509: certificate has expired or is not yet valid", IDXMPPTLS},
		{"tls: handshake failure", IDXMPPTLS},
	} {
		f := TLSFailure("localhost", tc.msg)
		if f.ID != tc.id || f.Severity != Error || f.Fix == "" {
			t.Errorf("TLSFailure(%q) = %+v, want %s", tc.msg, f, tc.id)
		}
	}
}
