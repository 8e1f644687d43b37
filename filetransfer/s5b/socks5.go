package s5b

import (
	"fmt"
	"io"
	"net"
)

// The SOCKS5 subset XEP-0065 uses (RFC 1928): no authentication, CONNECT
// with ATYP=DOMAINNAME carrying the 40-character DST.ADDR hash, port 0.
const (
	socksVersion   = 5
	socksNoAuth    = 0
	socksConnect   = 1
	socksAtypV4    = 1
	socksAtypName  = 3
	socksAtypV6    = 4
	socksSucceeded = 0
	socksFailure   = 1
)

func clientHandshake(c net.Conn, dst string) error {
	if _, err := c.Write([]byte{socksVersion, 1, socksNoAuth}); err != nil {
		return err
	}
	var b [2]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return err
	}
	if b[0] != socksVersion || b[1] != socksNoAuth {
		return fmt.Errorf("%w: method reply % x", ErrSOCKS, b)
	}
	req := append([]byte{socksVersion, socksConnect, 0, socksAtypName, byte(len(dst))}, dst...)
	req = append(req, 0, 0)
	if _, err := c.Write(req); err != nil {
		return err
	}
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return err
	}
	if h[0] != socksVersion || h[1] != socksSucceeded {
		return fmt.Errorf("%w: reply code %d", ErrSOCKS, h[1])
	}
	// Skip BND.ADDR and BND.PORT.
	var skip int
	switch h[3] {
	case socksAtypV4:
		skip = 4
	case socksAtypV6:
		skip = 16
	case socksAtypName:
		var l [1]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return err
		}
		skip = int(l[0])
	default:
		return fmt.Errorf("%w: address type %d", ErrSOCKS, h[3])
	}
	_, err := io.CopyN(io.Discard, c, int64(skip+2))
	return err
}

// serverHandshake runs the listener side for a direct candidate and
// returns the DST.ADDR the client asked for. The reply is sent only when
// accept approves it, so a stranger guessing our port learns nothing.
func serverHandshake(c net.Conn, accept func(dst string) bool) (string, error) {
	var h [2]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return "", err
	}
	if h[0] != socksVersion || h[1] == 0 {
		return "", fmt.Errorf("%w: greeting % x", ErrSOCKS, h)
	}
	methods := make([]byte, h[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return "", err
	}
	ok := false
	for _, m := range methods {
		ok = ok || m == socksNoAuth
	}
	if !ok {
		_, _ = c.Write([]byte{socksVersion, 0xff})
		return "", fmt.Errorf("%w: no acceptable method", ErrSOCKS)
	}
	if _, err := c.Write([]byte{socksVersion, socksNoAuth}); err != nil {
		return "", err
	}
	var r [5]byte
	if _, err := io.ReadFull(c, r[:]); err != nil {
		return "", err
	}
	if r[0] != socksVersion || r[1] != socksConnect || r[3] != socksAtypName {
		return "", fmt.Errorf("%w: request % x", ErrSOCKS, r)
	}
	rest := make([]byte, int(r[4])+2)
	if _, err := io.ReadFull(c, rest); err != nil {
		return "", err
	}
	dst := string(rest[:r[4]])
	code := byte(socksSucceeded)
	if !accept(dst) {
		code = socksFailure
	}
	reply := append([]byte{socksVersion, code, 0, socksAtypName, byte(len(dst))}, dst...)
	reply = append(reply, 0, 0)
	if _, err := c.Write(reply); err != nil {
		return "", err
	}
	if code != socksSucceeded {
		return "", fmt.Errorf("%w: unexpected DST.ADDR", ErrSOCKS)
	}
	return dst, nil
}
