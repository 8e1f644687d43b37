package xmpp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"
	"unsafe"

	goxmpp "github.com/xmppo/go-xmpp"

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

// stream is one authenticated, bound XMPP connection made by go-xmpp. The
// read side is go-xmpp's own decoder, read by us (never by go-xmpp's Recv,
// which drops the parts of stanzas we need); writes go through go-xmpp's
// SendOrg under our lock. A component stream (see dialComponent) has our
// own decoder and no go-xmpp client.
type stream struct {
	cl   *goxmpp.Client // nil on a component stream
	dec  *xml.Decoder
	conn net.Conn
	jid  string
	// ack acknowledges each stanza read at once (see quickAcker).
	ack *quickAcker
	// readDone is closed when the reader stops reading this stream.
	readDone chan struct{}
	// attempt is the connection attempt that made the stream.
	attempt int

	wmu sync.Mutex
}

// dial connects, negotiates STARTTLS (unless plain loopback is allowed and
// chosen), authenticates with SCRAM and binds resource ("" lets the server
// pick).
func dial(ctx context.Context, cfg *Config, resource string) (*stream, error) {
	if err := checkProxyEnv(cfg.addr()); err != nil {
		return nil, err
	}
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	// DialTimeout bounds the whole attempt, handshake included, so a
	// server that accepts TCP and then stalls cannot hold the supervisor.
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	timeout := cfg.DialTimeout
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d < timeout {
			timeout = d
		}
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("xmpp: dial %s: %w", cfg.addr(), context.DeadlineExceeded)
	}
	o := goxmpp.Options{
		Host:        cfg.addr(),
		User:        cfg.JID,
		Password:    cfg.Password,
		Resource:    escapeText(resource),
		DialTimeout: timeout,
		TLSConfig:   tc,
		// NoTLS means "no direct TLS": the stream starts in plain TCP and
		// is upgraded with STARTTLS (RFC 6120 §5).
		NoTLS:    true,
		StartTLS: !cfg.AllowPlainLoopback,
		// With AllowPlainLoopback the server may still require TLS, in
		// which case go-xmpp performs STARTTLS anyway.
		InsecureAllowUnencryptedAuth: cfg.AllowPlainLoopback,
		NoPLAIN:                      true,
		Mechanism:                    cfg.Mechanism,
		// go-xmpp answers no IQ itself on our behalf: we never call Recv.
		SoftwareName: "jingled",
	}
	type result struct {
		cl  *goxmpp.Client
		err error
	}
	// go-xmpp's handshake takes no context and sets no deadline after the
	// dial; running it aside lets ctx bound the wait. An abandoned attempt
	// cannot be interrupted (go-xmpp keeps the socket to itself until
	// NewClient returns): its goroutine ends when the server answers or
	// closes, and the connection is then closed.
	ch := make(chan result, 1)
	go func() {
		cl, err := o.NewClient()
		ch <- result{cl, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.cl != nil {
				if s, err := wrap(r.cl); err == nil {
					_ = s.conn.Close()
				}
			}
		}()
		return nil, fmt.Errorf("xmpp: connecting to %s: %w", cfg.addr(), ctx.Err())
	}
	if r.err != nil {
		return nil, classifyDialError(cfg.addr(), r.err)
	}
	s, err := wrap(r.cl)
	if err != nil {
		return nil, err
	}
	if !cfg.AllowPlainLoopback && !r.cl.IsEncrypted() {
		_ = s.conn.Close()
		return nil, fmt.Errorf("xmpp: %s: stream not encrypted: %w", cfg.addr(), ErrTLS)
	}
	return s, nil
}

// classifyDialError maps go-xmpp's error strings to our sentinels, since it
// returns plain errors.New values: "auth failure: ..." for a SASL
// <failure/>, "starttls handshake: ..." for TLS problems.
func classifyDialError(addr string, err error) error {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "auth failure"):
		return fmt.Errorf("%w: %s", ErrAuth, msg)
	case strings.Contains(msg, "unsupported auth mechanism"),
		strings.Contains(msg, "refusing to authenticate over unencrypted"):
		return fmt.Errorf("%w: %s", ErrAuth, msg)
	}
	var cerr *tls.CertificateVerificationError
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	if errors.As(err, &cerr) || errors.As(err, &uerr) || errors.As(err, &herr) ||
		(strings.HasPrefix(msg, "starttls handshake") && !transientHandshake(msg)) {
		return fmt.Errorf("xmpp: %s: %w: %s", addr, ErrTLS, msg)
	}
	return fmt.Errorf("xmpp: connecting to %s: %w", addr, err)
}

// wrap takes go-xmpp's decoder and connection out of the client. go-xmpp
// v0.3.6 exports neither; they are read by reflection so that the stream
// can be parsed faithfully. A go-xmpp upgrade that renames them fails here
// with a clear error (and the integration tests with it).
func wrap(cl *goxmpp.Client) (*stream, error) {
	v := reflect.ValueOf(cl).Elem()
	pf, cf := v.FieldByName("p"), v.FieldByName("conn")
	if !pf.IsValid() || pf.Type() != reflect.TypeOf((*xml.Decoder)(nil)) ||
		!cf.IsValid() || cf.Type() != reflect.TypeOf((*net.Conn)(nil)).Elem() {
		return nil, errors.New("xmpp: go-xmpp's Client layout changed (fields p *xml.Decoder, conn net.Conn expected)")
	}
	dec := *(**xml.Decoder)(unsafe.Pointer(pf.UnsafeAddr()))
	conn := *(*net.Conn)(unsafe.Pointer(cf.UnsafeAddr()))
	if dec == nil || conn == nil {
		return nil, errors.New("xmpp: go-xmpp client has no stream")
	}
	return &stream{cl: cl, dec: dec, conn: conn, jid: cl.JID(), ack: newQuickAcker(conn)}, nil
}

// checkProxyEnv refuses what go-xmpp would otherwise do silently: send the
// connection through a proxy named in the environment.
func checkProxyEnv(addr string) error {
	p := os.Getenv("HTTP_PROXY")
	if p == "" {
		p = os.Getenv("http_proxy")
	}
	if p == "" {
		return nil
	}
	np := os.Getenv("NO_PROXY")
	if np == "" {
		np = os.Getenv("no_proxy")
	}
	for _, s := range strings.Split(np, ",") {
		if s != "" && strings.Contains(strings.ToUpper(addr), strings.ToUpper(s)) {
			return nil
		}
	}
	return errUnexpectedProxy
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
	var err error
	if s.cl != nil {
		_, err = s.cl.SendOrg(string(b))
	} else {
		// A component stream (XEP-0114) has no go-xmpp client.
		_, err = s.conn.Write(b)
	}
	_ = s.conn.SetWriteDeadline(time.Time{})
	if err != nil {
		return fmt.Errorf("xmpp: write: %w", err)
	}
	return nil
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
// the socket. go-xmpp's own Close is not used: it reads the stream
// concurrently with our reader and leaves a 10 s timer goroutine behind.
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

// escapeText escapes s for XML character data; go-xmpp pastes the
// resource into its bind request unescaped.
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
