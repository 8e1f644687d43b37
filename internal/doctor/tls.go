package doctor

import "strings"

// TLSFailure names why the XMPP server's certificate did not verify,
// from the error text (the XMPP library hands the x509 error on as text):
// a certificate for another name and one no CA vouches for need different
// fixes.
func TLSFailure(subject, msg string) Finding {
	switch {
	case strings.Contains(msg, "certificate is valid for"), strings.Contains(msg, "not valid for any names"):
		return New(IDXMPPTLSName, Error, subject, "the server's certificate is for another name: "+msg)
	case strings.Contains(msg, "unknown authority"), strings.Contains(msg, "self-signed"), strings.Contains(msg, "self signed"):
		return New(IDXMPPTLSUntrust, Error, subject, "no trusted CA signed the server's certificate: "+msg)
	}
	return New(IDXMPPTLS, Error, subject, "the TLS handshake failed: "+msg)
}
