package xmpp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jingled/jingled/jingle"
)

// Namespaces of the stream layer (RFC 6120).
const (
	nsClient       = "jabber:client"
	nsStream       = "http://etherx.jabber.org/streams"
	nsStreamErrors = "urn:ietf:params:xml:ns:xmpp-streams"
)

// StreamError is a stream-level error the server sent before closing the
// stream (RFC 6120 §4.9), e.g. conflict when another session took our
// resource.
type StreamError struct {
	Condition string
	Text      string
}

// Error is the condition and the server's text, if any.
func (e *StreamError) Error() string {
	s := "xmpp: stream error " + e.Condition
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// ErrTLS is a TLS failure that retrying cannot fix, such as a certificate
// that does not verify.
var ErrTLS = errors.New("xmpp: TLS handshake failed")

// stream is one authenticated, bound (or resumed) XMPP connection, made
// by dial (handshake.go) or, for a component, dialComponent. It is read
// by one goroutine with next; writes are serialized by wmu.
type stream struct {
	dec  *xml.Decoder
	conn net.Conn
	jid  string
	// tls: the stream runs over TLS; mech is the SASL mechanism used
	// (empty on a component stream).
	tls  bool
	mech string
	// sm is what XEP-0198 did on this stream (client streams only).
	sm smOutcome
	// early holds stanzas read during the handshake (while waiting for
	// the bind result or <enabled/>), for the reader to handle first.
	early []*rawStanza
	// ack acknowledges each stanza read at once (see quickAcker).
	ack *quickAcker
	// readDone is closed when the reader stops reading this stream.
	readDone chan struct{}
	// attempt is the connection attempt that made the stream.
	attempt int
	// aborted is why we closed the connection ourselves (abort), which
	// the reader then reports instead of the closed socket.
	aborted atomic.Pointer[error]

	wmu sync.Mutex
}

// writeTimeout bounds one stanza write: a server that stops reading must
// not block a sender, or Close and with it SIGTERM, forever. A write that
// times out leaves the stream unusable; the reader then fails and the
// supervisor reconnects.
const writeTimeout = 15 * time.Second

// write sends one serialized stanza.
func (s *stream) write(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := s.conn.Write(b)
	_ = s.conn.SetWriteDeadline(time.Time{})
	if err != nil {
		return &writeError{err: err}
	}
	return nil
}

// writeError is a write that failed on the stream's connection: the
// stream is broken, whatever the socket said (reset, closed under us by
// the reader or abort, timed out), and its reader fails too.
type writeError struct{ err error }

func (e *writeError) Error() string { return "xmpp: write: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// abort closes the connection for err: the reader then fails with err.
func (s *stream) abort(err error) {
	s.aborted.CompareAndSwap(nil, &err)
	_ = s.conn.Close()
}

// readErr is err as the reader should report it: why the stream was
// aborted, if it was.
func (s *stream) readErr(err error) error {
	if p := s.aborted.Load(); p != nil {
		return *p
	}
	return err
}

// writeStanza marshals v and writes it.
func (s *stream) writeStanza(v any) error {
	b, err := xml.Marshal(v)
	if err != nil {
		return fmt.Errorf("xmpp: encode stanza: %w", err)
	}
	return s.write(b)
}

// close ends the stream politely (RFC 6120 §4.4): send </stream:stream>,
// give the reader up to grace to see the server's closing tag, then close
// the socket.
func (s *stream) close(readerDone <-chan struct{}, grace time.Duration) {
	s.wmu.Lock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(grace))
	_, _ = io.WriteString(s.conn, "</stream:stream>")
	s.wmu.Unlock()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-readerDone:
	case <-t.C:
	}
	_ = s.conn.Close()
}

// errStreamClosed is the server closing its stream.
var errStreamClosed = errors.New("xmpp: server closed the stream")

// rawStanza is one top-level element of the stream, re-encoded on its own
// with every namespace resolved.
type rawStanza struct {
	name  xml.Name
	attrs map[string]string
	raw   []byte
}

// next reads the next stanza (or stream error) from the stream.
func (s *stream) next() (*rawStanza, error) {
	for {
		tok, err := s.dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errStreamClosed
			}
			return nil, fmt.Errorf("xmpp: read: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			raw, err := copyElement(s.dec, t)
			if err != nil {
				return nil, fmt.Errorf("xmpp: read: %w", err)
			}
			if t.Name.Space == nsStream && t.Name.Local == "error" {
				return nil, parseStreamError(raw)
			}
			_ = s.ack.quickAck() // best effort: a delayed ACK costs time, not data
			attrs := make(map[string]string, len(t.Attr))
			for _, a := range t.Attr {
				if a.Name.Space == "" {
					attrs[a.Name.Local] = a.Value
				}
			}
			return &rawStanza{name: t.Name, attrs: attrs, raw: raw}, nil
		case xml.EndElement:
			if t.Name.Space == nsStream && t.Name.Local == "stream" {
				return nil, errStreamClosed
			}
		}
	}
}

// copyElement re-encodes the element that start opened, through its end,
// as a standalone document. Reading tokens (rather than decoding straight
// into a struct) keeps the stream aligned even when the stanza's content
// is something our types reject.
func copyElement(d *xml.Decoder, start xml.StartElement) ([]byte, error) {
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	depth := 0
	tok := xml.Token(start)
	for {
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			t.Attr = stripNSDecls(t.Attr)
			// encoding/xml lets through names XML forbids (e.g. "0"); a
			// server never sends them, and re-encoding them would produce
			// a stanza nothing can parse.
			if !validName(t.Name.Local) {
				return nil, fmt.Errorf("invalid element name %q", t.Name.Local)
			}
			for _, a := range t.Attr {
				if !validName(a.Name.Local) {
					return nil, fmt.Errorf("invalid attribute name %q", a.Name.Local)
				}
			}
			if err := enc.EncodeToken(t); err != nil {
				return nil, err
			}
		case xml.EndElement:
			depth--
			if err := enc.EncodeToken(t); err != nil {
				return nil, err
			}
			if depth == 0 {
				if err := enc.Flush(); err != nil {
					return nil, err
				}
				return buf.Bytes(), nil
			}
		case xml.CharData:
			if err := enc.EncodeToken(t); err != nil {
				return nil, err
			}
		}
		var err error
		if tok, err = d.Token(); err != nil {
			return nil, err
		}
	}
}

// validName reports whether s is an XML NCName (Namespaces in XML 1.0
// §3): a letter or '_' first, then letters, digits, '-', '.', '_' (any
// non-ASCII rune is accepted, as encoding/xml does).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0x80:
		case i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// stripNSDecls drops namespace declarations: names are already resolved and
// the encoder declares what it needs.
func stripNSDecls(attrs []xml.Attr) []xml.Attr {
	out := attrs[:0:0]
	for _, a := range attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		out = append(out, a)
	}
	return out
}

func parseStreamError(raw []byte) error {
	var v struct {
		Children []struct {
			XMLName xml.Name
			Text    string `xml:",chardata"`
		} `xml:",any"`
	}
	se := &StreamError{Condition: "undefined-condition"}
	if err := xml.Unmarshal(raw, &v); err == nil {
		for _, c := range v.Children {
			if c.XMLName.Space != nsStreamErrors {
				continue
			}
			if c.XMLName.Local == "text" {
				se.Text = c.Text
			} else {
				se.Condition = c.XMLName.Local
			}
		}
	}
	return se
}

// escapeText escapes s for XML character data and attribute values
// (quotes included).
func escapeText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// decodeIQ parses an IQ stanza read by next.
func decodeIQ(r *rawStanza) (*jingle.IQ, error) {
	var iq jingle.IQ
	if err := xml.Unmarshal(r.raw, &iq); err != nil {
		return nil, fmt.Errorf("xmpp: decode iq: %w", err)
	}
	return &iq, nil
}

// decodeMessage parses a message stanza read by next.
func decodeMessage(r *rawStanza) (*jingle.Message, error) {
	var m jingle.Message
	if err := xml.Unmarshal(r.raw, &m); err != nil {
		return nil, fmt.Errorf("xmpp: decode message: %w", err)
	}
	return &m, nil
}
