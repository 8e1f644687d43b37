package xmpp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"mellium.im/sasl"
)

// The client handshake (RFC 6120 §4-§7, XEP-0198 §3, §5) is ours rather
// than go-xmpp's: go-xmpp binds a resource inside NewClient and keeps the
// stream features to itself, so XEP-0198 could be neither detected
// (<sm/> is a stream feature) nor used to resume a session (<resume/>
// replaces the bind). One handshake serves the first connection, a
// resumption and the fallback to a new session when resumption is
// refused. The parts with a well-kept library use it: SCRAM comes from
// mellium.im/sasl, TLS from crypto/tls, XML from encoding/xml; what is
// left is the exchange of a few elements.

// Namespaces of the handshake.
const (
	nsTLS  = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind = "urn:ietf:params:xml:ns:xmpp-bind"
)

// streamFeatures is the part of <stream:features/> (RFC 6120 §4.3.2) the
// client acts on.
type streamFeatures struct {
	StartTLS *struct {
		Required *struct{} `xml:"required"`
	} `xml:"urn:ietf:params:xml:ns:xmpp-tls starttls"`
	Mechanisms []string  `xml:"urn:ietf:params:xml:ns:xmpp-sasl mechanisms>mechanism"`
	Bind       *struct{} `xml:"urn:ietf:params:xml:ns:xmpp-bind bind"`
	SM         *struct{} `xml:"urn:xmpp:sm:3 sm"`
}

// resumeFrom is the XEP-0198 session a connection attempt tries to
// resume: its id and the stanzas we handled in it.
type resumeFrom struct {
	id string
	h  uint32
}

// smOutcome is what XEP-0198 did on a new stream.
type smOutcome struct {
	// enabled: stream management is on; id is the resumption id ("" if
	// the server does not offer resumption).
	enabled bool
	id      string
	// resumed: the session named by resumeFrom continues on this
	// stream; h is the count of our stanzas the server handled.
	resumed bool
	h       uint32
	// refused is why the server refused to resume (nil if it was not
	// asked or resumed); failedH, when the server sent one, is the
	// count of our stanzas the old session handled.
	refused error
	failedH *uint32
}

// ErrResumeRefused is the server refusing to resume a XEP-0198 session
// (<failed/>, §5), e.g. because it expired or the server restarted: the
// client binds a new session instead.
var ErrResumeRefused = errors.New("xmpp: stream resumption refused")

// dial connects, negotiates STARTTLS (unless plain loopback is allowed
// and the server does not require TLS), authenticates with SCRAM, then
// resumes the session in from (if any and the server offers XEP-0198) or
// binds resource ("" lets the server pick) and enables stream management
// with resumption where the server offers it.
func dial(ctx context.Context, cfg *Config, resource string, from *resumeFrom) (*stream, error) {
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	// DialTimeout bounds the whole attempt, handshake included, so a
	// server that accepts TCP and then stalls cannot hold the supervisor.
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.addr())
	if err != nil {
		return nil, fmt.Errorf("xmpp: connecting to %s: %w", cfg.addr(), err)
	}
	// The deadline bounds every read and write of the handshake; ending
	// ctx early (Close) interrupts them too.
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	s := &stream{conn: conn}
	err = s.handshake(ctx, cfg, tc, resource, from)
	if !stop() && err == nil {
		// ctx ended as the handshake did: the deadline it set may land
		// after ours is cleared below, so the stream is not usable.
		err = ctx.Err()
	}
	if err != nil {
		switch {
		case ctx.Err() != nil:
			err = fmt.Errorf("xmpp: connecting to %s: %w (%w)", cfg.addr(), ctx.Err(), err)
		case errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(dl):
			// The conn's deadline (ctx's) ran out a moment before
			// ctx itself.
			err = fmt.Errorf("xmpp: connecting to %s: %w (%w)", cfg.addr(), context.DeadlineExceeded, err)
		}
		_ = s.conn.Close()
		return nil, err
	}
	_ = s.conn.SetDeadline(time.Time{})
	return s, nil
}

// handshake runs the stream negotiation on s.conn (see dial).
func (s *stream) handshake(ctx context.Context, cfg *Config, tc *tls.Config, resource string, from *resumeFrom) error {
	domain := cfg.domain()
	f, err := s.open(domain)
	if err != nil {
		return err
	}
	switch {
	case f.StartTLS != nil && (f.StartTLS.Required != nil || !cfg.AllowPlainLoopback):
		if f, err = s.startTLS(ctx, tc, domain); err != nil {
			return err
		}
	case f.StartTLS == nil && !cfg.AllowPlainLoopback:
		return fmt.Errorf("xmpp: %s offers no STARTTLS: %w", cfg.addr(), ErrTLS)
	}
	if err := s.authenticate(cfg, f.Mechanisms); err != nil {
		return err
	}
	if f, err = s.open(domain); err != nil {
		return err
	}
	if f.SM != nil && from != nil && from.id != "" {
		if err := s.resume(from); err != nil || s.sm.resumed {
			return err
		}
	}
	if f.Bind == nil {
		return errors.New("xmpp: server offers no resource binding")
	}
	if err := s.bind(resource); err != nil {
		return err
	}
	if f.SM != nil {
		return s.enableSM()
	}
	return nil
}

// open sends our stream header (RFC 6120 §4.2) and reads the server's
// and its features.
func (s *stream) open(domain string) (*streamFeatures, error) {
	if _, err := fmt.Fprintf(s.conn, "<?xml version='1.0'?><stream:stream to='%s' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", escapeText(domain)); err != nil {
		return nil, fmt.Errorf("xmpp: write stream header: %w", err)
	}
	s.dec = xml.NewDecoder(s.conn)
	for {
		tok, err := s.dec.Token()
		if err != nil {
			return nil, fmt.Errorf("xmpp: read stream header: %w", err)
		}
		if t, ok := tok.(xml.StartElement); ok {
			if t.Name.Space != nsStream || t.Name.Local != "stream" {
				return nil, fmt.Errorf("xmpp: expected a stream header, got <%s>", t.Name.Local)
			}
			break
		}
	}
	st, err := s.expect(nsStream, "features")
	if err != nil {
		return nil, err
	}
	var f streamFeatures
	if err := xml.Unmarshal(st.raw, &f); err != nil {
		return nil, fmt.Errorf("xmpp: decode stream features: %w", err)
	}
	return &f, nil
}

// expect reads the next element and checks its name.
func (s *stream) expect(space string, locals ...string) (*rawStanza, error) {
	st, err := s.next()
	if err != nil {
		return nil, err
	}
	if st.name.Space != space || !slices.Contains(locals, st.name.Local) {
		return nil, fmt.Errorf("xmpp: expected <%s xmlns='%s'>, got <%s xmlns='%s'>", strings.Join(locals, "/"), space, st.name.Local, st.name.Space)
	}
	return st, nil
}

// startTLS upgrades the connection (RFC 6120 §5.4) and restarts the
// stream.
func (s *stream) startTLS(ctx context.Context, tc *tls.Config, domain string) (*streamFeatures, error) {
	if _, err := fmt.Fprintf(s.conn, "<starttls xmlns='%s'/>", nsTLS); err != nil {
		return nil, fmt.Errorf("xmpp: starttls: %w", err)
	}
	if _, err := s.expect(nsTLS, "proceed"); err != nil {
		return nil, fmt.Errorf("xmpp: starttls: %w", err)
	}
	c := tls.Client(s.conn, tc)
	if err := c.HandshakeContext(ctx); err != nil {
		return nil, tlsHandshakeError(err)
	}
	s.conn, s.tls = c, true
	return s.open(domain)
}

// tlsHandshakeError classifies a failed TLS handshake: a certificate
// that does not verify, or the server refusing our TLS, is ErrTLS and not
// retried (it will fail the same way next time); the connection going
// away in the middle, as when the server restarts, is retried. Taking the
// latter for permanent stopped a daemon's account for good after one
// unlucky server restart.
func tlsHandshakeError(err error) error {
	var cerr *tls.CertificateVerificationError
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	var alert tls.AlertError
	if errors.As(err, &cerr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &alert) {
		return fmt.Errorf("%w: %w", ErrTLS, err)
	}
	return fmt.Errorf("xmpp: starttls handshake: %w", err)
}

// saslPreference is the order in which mechanisms are chosen when
// Config.Mechanism is empty. The -PLUS variants are used only when asked
// for: which channel binding a server accepts (tls-unique, tls-exporter)
// varies, and the certificate is verified anyway.
var saslPreference = []sasl.Mechanism{sasl.ScramSha256, sasl.ScramSha1}

// authenticate runs SASL (RFC 6120 §6) with SCRAM from mellium.im/sasl.
func (s *stream) authenticate(cfg *Config, offered []string) error {
	var mech sasl.Mechanism
	if cfg.Mechanism != "" {
		for _, m := range []sasl.Mechanism{sasl.ScramSha256Plus, sasl.ScramSha1Plus, sasl.ScramSha256, sasl.ScramSha1} {
			if strings.EqualFold(m.Name, cfg.Mechanism) {
				mech = m
			}
		}
		if mech.Name == "" || !slices.Contains(offered, mech.Name) {
			return fmt.Errorf("%w: unsupported auth mechanism %s (server offers %v)", ErrAuth, cfg.Mechanism, offered)
		}
	} else {
		for _, m := range saslPreference {
			if slices.Contains(offered, m.Name) {
				mech = m
				break
			}
		}
		if mech.Name == "" {
			return fmt.Errorf("%w: unsupported auth mechanism: server offers %v, no SCRAM", ErrAuth, offered)
		}
	}
	if !s.tls && !cfg.AllowPlainLoopback {
		return fmt.Errorf("%w: refusing to authenticate over unencrypted TCP", ErrAuth)
	}
	local := cfg.JID[:strings.LastIndexByte(cfg.JID, '@')]
	opts := []sasl.Option{
		sasl.Credentials(func() ([]byte, []byte, []byte) { return []byte(local), []byte(cfg.Password), nil }),
		sasl.RemoteMechanisms(offered...),
	}
	if c, ok := s.conn.(*tls.Conn); ok && strings.HasSuffix(mech.Name, "-PLUS") {
		opts = append(opts, sasl.TLSState(c.ConnectionState()))
	}
	neg := sasl.NewClient(mech, opts...)
	more, resp, err := neg.Step(nil)
	if err != nil {
		return fmt.Errorf("xmpp: sasl %s: %w", mech.Name, err)
	}
	if _, err := fmt.Fprintf(s.conn, "<auth xmlns='%s' mechanism='%s'>%s</auth>", nsSASL, mech.Name, base64.StdEncoding.EncodeToString(resp)); err != nil {
		return fmt.Errorf("xmpp: sasl: %w", err)
	}
	for {
		st, err := s.expect(nsSASL, "challenge", "success", "failure")
		if err != nil {
			return fmt.Errorf("xmpp: sasl: %w", err)
		}
		var body struct {
			Text       string `xml:",chardata"`
			Conditions []struct {
				XMLName xml.Name
				Text    string `xml:",chardata"`
			} `xml:",any"`
		}
		if err := xml.Unmarshal(st.raw, &body); err != nil {
			return fmt.Errorf("xmpp: sasl: %w", err)
		}
		if st.name.Local == "failure" {
			why := make([]string, 0, len(body.Conditions))
			for _, c := range body.Conditions {
				why = append(why, strings.TrimSpace(c.XMLName.Local+" "+c.Text))
			}
			return fmt.Errorf("%w: auth failure: %s", ErrAuth, strings.Join(why, ": "))
		}
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(body.Text))
		if err != nil {
			return fmt.Errorf("xmpp: sasl: bad base64 from the server: %w", err)
		}
		if st.name.Local == "success" {
			// The server's final message (RFC 6120 §6.3.10) proves
			// it knows the password too; SCRAM requires it.
			if more {
				if _, _, err := neg.Step(data); err != nil {
					return fmt.Errorf("%w: server's SCRAM proof does not verify: %w", ErrAuth, err)
				}
			}
			s.mech = mech.Name
			return nil
		}
		more, resp, err = neg.Step(data)
		if err != nil {
			return fmt.Errorf("%w: sasl %s: %w", ErrAuth, mech.Name, err)
		}
		if _, err := fmt.Fprintf(s.conn, "<response xmlns='%s'>%s</response>", nsSASL, base64.StdEncoding.EncodeToString(resp)); err != nil {
			return fmt.Errorf("xmpp: sasl: %w", err)
		}
	}
}

// bind binds resource (RFC 6120 §7); "" lets the server choose.
func (s *stream) bind(resource string) error {
	req := "<bind xmlns='" + nsBind + "'/>"
	if resource != "" {
		req = "<bind xmlns='" + nsBind + "'><resource>" + escapeText(resource) + "</resource></bind>"
	}
	if _, err := io.WriteString(s.conn, "<iq type='set' id='bind-1'>"+req+"</iq>"); err != nil {
		return fmt.Errorf("xmpp: bind: %w", err)
	}
	for {
		st, err := s.next()
		if err != nil {
			return fmt.Errorf("xmpp: bind: %w", err)
		}
		if st.name.Space != nsClient || st.name.Local != "iq" || st.attrs["id"] != "bind-1" {
			s.early = append(s.early, st)
			continue
		}
		iq, err := decodeIQ(st)
		if err != nil {
			return fmt.Errorf("xmpp: bind: %w", err)
		}
		if iq.Type != "result" {
			return fmt.Errorf("xmpp: bind %q refused: %w", resource, iq.Error)
		}
		var r struct {
			JID string `xml:"jid"`
		}
		if err := xml.Unmarshal(iq.Payload, &r); err != nil || r.JID == "" {
			return fmt.Errorf("xmpp: bind: no JID in the result (%v)", err)
		}
		s.jid = r.JID
		return nil
	}
}

// enableSM turns XEP-0198 on with resumption (§3, §5). A server that
// answers <failed/> leaves the stream without it.
func (s *stream) enableSM() error {
	if _, err := io.WriteString(s.conn, smEnable); err != nil {
		return fmt.Errorf("xmpp: enable stream management: %w", err)
	}
	for {
		st, err := s.next()
		if err != nil {
			return fmt.Errorf("xmpp: enable stream management: %w", err)
		}
		if st.name.Space != NSStreamManagement {
			s.early = append(s.early, st)
			continue
		}
		switch st.name.Local {
		case "enabled":
			s.sm.enabled = true
			if r := st.attrs["resume"]; r == "true" || r == "1" {
				s.sm.id = st.attrs["id"]
			}
			return nil
		case "failed":
			return nil
		}
	}
}

// resume asks the server to resume the session from (XEP-0198 §5). On
// <resumed/> the stream continues it; on <failed/> the reason is kept
// and the caller binds a new session.
func (s *stream) resume(from *resumeFrom) error {
	if _, err := io.WriteString(s.conn, smResume(from.id, from.h)); err != nil {
		return fmt.Errorf("xmpp: resume: %w", err)
	}
	st, err := s.expect(NSStreamManagement, "resumed", "failed")
	if err != nil {
		return fmt.Errorf("xmpp: resume: %w", err)
	}
	var h uint32
	hs, hasH := st.attrs["h"]
	if hasH {
		if h, err = parseH(hs); err != nil {
			return err
		}
	}
	if st.name.Local == "resumed" {
		if !hasH {
			return errors.New("xmpp: resume: <resumed/> without h")
		}
		s.sm = smOutcome{enabled: true, id: from.id, resumed: true, h: h}
		return nil
	}
	cond := "undefined-condition"
	var v struct {
		Children []struct{ XMLName xml.Name } `xml:",any"`
	}
	if xml.Unmarshal(st.raw, &v) == nil && len(v.Children) > 0 {
		cond = v.Children[0].XMLName.Local
	}
	s.sm.refused = fmt.Errorf("%w: %s", ErrResumeRefused, cond)
	if hasH {
		s.sm.failedH = &h
	}
	return nil
}
