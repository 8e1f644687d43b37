package xmpp

import (
	"bytes"
	"context"
	"crypto/sha1" //nolint:gosec // XEP-0114 §3 mandates SHA-1 for the handshake.
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// nsComponentAccept is the stream namespace of a component connecting to
// a server (XEP-0114 §3).
const nsComponentAccept = "jabber:component:accept"

var (
	// ErrDomainTaken means another connection serves the component's
	// domain: the server refused our handshake (Prosody's default
	// component_conflict_resolve, kick_new) or replaced our stream by the
	// newcomer's (kick_old).
	ErrDomainTaken = errors.New("xmpp: another connection serves this component domain")
	// ErrUnknownComponent means the server has no external component
	// configured for the domain, a configuration error that retrying
	// cannot fix.
	ErrUnknownComponent = errors.New("xmpp: the server has no external component for this domain")
)

// handshakeDigest is the XEP-0114 §3 handshake: SHA-1 of the stream id
// the server sent concatenated with the shared secret, in lowercase hex.
func handshakeDigest(streamID, secret string) string {
	sum := sha1.Sum([]byte(streamID + secret)) //nolint:gosec // see import
	return hex.EncodeToString(sum[:])
}

// dialComponent connects to cfg.Addr and authenticates as cfg.Domain
// (XEP-0114 §3). DialTimeout and ctx bound the whole attempt, so a server
// that accepts TCP and then stalls cannot hold the supervisor.
func dialComponent(ctx context.Context, cfg *ComponentConfig) (*stream, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("xmpp: connecting to component port %s: %w", cfg.Addr, err)
	}
	// The handshake reads and writes the socket directly: the deadline
	// bounds it, and cancelling ctx moves the deadline to now, which
	// unblocks them.
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = conn.SetDeadline(time.Unix(1, 0))
		close(interrupted)
	})
	s, err := handshake(conn, cfg)
	if !stop() {
		// ctx ended during the handshake; wait for the deadline change
		// so that clearing it below is final.
		<-interrupted
		if err == nil || ctx.Err() != nil && isTimeout(err) {
			err = fmt.Errorf("xmpp: component handshake with %s: %w", cfg.Addr, ctx.Err())
		}
	}
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return s, nil
}

// isTimeout reports a network timeout, which is what an interrupted
// handshake read or write returns.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// handshake opens the stream as cfg.Domain, reads the server's stream id
// and proves knowledge of the secret (XEP-0114 §3, examples 1–4).
func handshake(conn net.Conn, cfg *ComponentConfig) (*stream, error) {
	header := "<?xml version='1.0'?><stream:stream xmlns='" + nsComponentAccept +
		"' xmlns:stream='" + nsStream + "' to='" + escapeText(cfg.Domain) + "'>"
	if _, err := io.WriteString(conn, header); err != nil {
		return nil, fmt.Errorf("xmpp: component stream to %s: %w", cfg.Addr, err)
	}
	s := &stream{dec: xml.NewDecoder(conn), conn: conn, jid: cfg.Domain, ack: newQuickAcker(conn)}
	id, err := readStreamHeader(s.dec)
	if err != nil {
		return nil, fmt.Errorf("xmpp: component stream from %s: %w", cfg.Addr, err)
	}
	if id == "" {
		// Prosody refuses a stream with an empty header and a stream
		// error (host-unknown); read it to say why.
		st, err := s.next()
		if err == nil {
			err = fmt.Errorf("xmpp: component stream from %s: no stream id, got <%s/>", cfg.Addr, st.name.Local)
		}
		return nil, handshakeError(cfg, err)
	}
	if err := s.write([]byte("<handshake>" + handshakeDigest(id, cfg.Secret) + "</handshake>")); err != nil {
		return nil, fmt.Errorf("xmpp: component handshake with %s: %w", cfg.Addr, err)
	}
	st, err := s.next()
	if err != nil {
		return nil, handshakeError(cfg, err)
	}
	if st.name.Space != nsComponentAccept || st.name.Local != "handshake" {
		return nil, fmt.Errorf("xmpp: component handshake with %s: server answered <%s xmlns='%s'/>", cfg.Addr, st.name.Local, st.name.Space)
	}
	return s, nil
}

// readStreamHeader reads up to the server's <stream:stream> and returns
// its id.
func readStreamHeader(dec *xml.Decoder) (string, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", errStreamClosed
			}
			return "", err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if start.Name.Space != nsStream || start.Name.Local != "stream" {
			return "", fmt.Errorf("not an XMPP stream: <%s xmlns='%s'>", start.Name.Local, start.Name.Space)
		}
		for _, a := range start.Attr {
			if a.Name.Space == "" && a.Name.Local == "id" {
				return a.Value, nil
			}
		}
		return "", nil
	}
}

// handshakeError explains the stream errors a server sends in answer to
// the handshake.
func handshakeError(cfg *ComponentConfig, err error) error {
	var se *StreamError
	if !errors.As(err, &se) {
		return fmt.Errorf("xmpp: component handshake with %s: %w", cfg.Addr, err)
	}
	switch se.Condition {
	case "not-authorized":
		return fmt.Errorf("%w: the server refused the component secret for %s: check component_secret (%w)", ErrAuth, cfg.Domain, se)
	case "conflict":
		return fmt.Errorf("%w: %s is already connected, another jingled or component holds it (%w)", ErrDomainTaken, cfg.Domain, se)
	case "host-unknown", "improper-addressing":
		return fmt.Errorf("%w: %s at %s: declare it with Component %q and component_secret (%w)", ErrUnknownComponent, cfg.Domain, cfg.Addr, cfg.Domain, se)
	}
	return fmt.Errorf("xmpp: component handshake with %s: %w", cfg.Addr, se)
}

// swapStanzaNS moves a stanza between the jabber:client namespace, which
// jingle.IQ, jingle.Message and the decoders of this package use, and the
// component stream's jabber:component:accept (XEP-0114 §3): it renames
// from to to on the root element and on the descendants that inherit the
// root's namespace (<body/>, <error/>), but not on an element under a
// foreign namespace, such as a forwarded <message xmlns='jabber:client'/>,
// which keeps its own namespace on either stream.
func swapStanzaNS(raw []byte, from, to string) ([]byte, error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	var swapped []bool // per open element
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("xmpp: stanza namespace: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			swap := t.Name.Space == from && (len(swapped) == 0 || swapped[len(swapped)-1])
			if swap {
				t.Name.Space = to
			}
			t.Attr = stripNSDecls(t.Attr)
			swapped = append(swapped, swap)
			tok = t
		case xml.EndElement:
			if len(swapped) == 0 {
				return nil, errors.New("xmpp: stanza namespace: unbalanced end element")
			}
			if swapped[len(swapped)-1] {
				t.Name.Space = to
			}
			swapped = swapped[:len(swapped)-1]
			tok = t
		case xml.CharData:
		default:
			continue // comments, processing instructions, directives
		}
		if err := enc.EncodeToken(tok); err != nil {
			return nil, fmt.Errorf("xmpp: stanza namespace: %w", err)
		}
	}
	if err := enc.Flush(); err != nil {
		return nil, fmt.Errorf("xmpp: stanza namespace: %w", err)
	}
	return buf.Bytes(), nil
}
