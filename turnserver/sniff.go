package turnserver

import "net"

// The TLS port serves TURN over TLS and plain TURN over TCP alike, told
// apart by the first byte a client sends. Nothing is ambiguous: a TLS
// connection opens with a handshake record, content type 22 (0x16, RFC
// 8446 section 5.1), while a TURN stream opens with a STUN message, whose
// first two bits are 00 (RFC 8489 section 5: the first byte is 0x00 or
// 0x01), or ChannelData, whose first two bits are 01 (RFC 8656 section
// 12: 0x40-0x4F). 0x16 is neither, so one byte decides and nothing waits
// for more than the client already sent.
//
// Why one port for both: a network that lets only 443 out (hotels,
// corporate proxies without inspection) passes either, and clients differ
// in what they try (turns: with a certificate check, or turn:
// ?transport=tcp). coturn accepts both on its TLS port the same way, so
// an operator moving from coturn keeps what clients were told.

// tlsHandshakeRecord is the TLS record content type of a ClientHello.
const tlsHandshakeRecord = 0x16

// isTLSRecord reports whether a stream's first byte opens a TLS handshake.
func isTLSRecord(first byte) bool { return first == tlsHandshakeRecord }

// prefixConn replays prefix (bytes already read to sniff the protocol)
// before reading on from Conn, so the TLS server sees the whole
// ClientHello.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]

		return n, nil
	}

	return c.Conn.Read(p) //nolint:wrapcheck // The TLS layer wraps it.
}
