// Package extdisco implements the client side of XEP-0215 (External
// Service Discovery): asking the account's server for STUN and TURN
// servers and their short-term credentials, turning the answer into ICE
// server entries, and refreshing them before they expire.
//
// It speaks urn:xmpp:extdisco:2 and falls back to urn:xmpp:extdisco:1 for
// servers that only know the older namespace. It talks through a
// jingle.Sender, so it runs over xmpp.Client or the in-memory
// jingletest router alike.
package extdisco

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jingled/jingled/jingle"
)

// Namespaces of XEP-0215.
const (
	NS  = "urn:xmpp:extdisco:2"
	NS1 = "urn:xmpp:extdisco:1"
)

// Errors.
var (
	// ErrNoServices means the server's answer held no usable STUN/TURN
	// service.
	ErrNoServices = errors.New("extdisco: no usable STUN/TURN service")
)

// Service is one <service/> element as sent (XEP-0215 §2 table).
type Service struct {
	Action     string `xml:"action,attr,omitempty"`
	Expires    string `xml:"expires,attr,omitempty"`
	Host       string `xml:"host,attr"`
	Name       string `xml:"name,attr,omitempty"`
	Password   string `xml:"password,attr,omitempty"`
	Port       string `xml:"port,attr,omitempty"`
	Restricted string `xml:"restricted,attr,omitempty"`
	Transport  string `xml:"transport,attr,omitempty"`
	Type       string `xml:"type,attr"`
	Username   string `xml:"username,attr,omitempty"`
}

type servicesXML struct {
	XMLName  xml.Name
	Type     string    `xml:"type,attr,omitempty"`
	Services []Service `xml:"service"`
}

// ICEServer is one STUN or TURN server usable by an ICE agent, independent
// of any WebRTC library (see ToWebRTC for pion's type).
type ICEServer struct {
	// URL is the RFC 7064/7065 URI, e.g. "turn:192.0.2.1:3478?transport=udp".
	URL string
	// Type is stun, stuns, turn or turns.
	Type string
	// Host, Port and Transport as announced ("udp" or "tcp"; empty if the
	// server gave none, which means the scheme's default).
	Host      string
	Port      int
	Transport string
	// Username and Credential are the (short-term) TURN credentials.
	Username   string
	Credential string
	// Expires is when the credentials stop being valid; zero if never
	// announced.
	Expires time.Time
	// Borrowed: the server announced this TURN service without
	// credentials and it took those of another TURN service of the same
	// host (see Convert). Clients other than ours may not do that, so a
	// diagnosis should name the server's configuration.
	Borrowed bool
}

// Skipped reports a <service/> left out of the ICE servers and why.
type Skipped struct {
	Service Service
	Reason  string
}

// Result is a parsed services answer.
type Result struct {
	// Namespace is the XEP-0215 version that answered (NS or NS1).
	Namespace string
	Servers   []ICEServer
	Skipped   []Skipped
}

// Earliest returns the earliest expiry among the servers, or zero.
func (r Result) Earliest() time.Time {
	var t time.Time
	for _, s := range r.Servers {
		if !s.Expires.IsZero() && (t.IsZero() || s.Expires.Before(t)) {
			t = s.Expires
		}
	}
	return t
}

// Discover asks server (the account's domain) for its external services:
// urn:xmpp:extdisco:2 first, urn:xmpp:extdisco:1 if that is answered with
// an error. TURN services marked restricted without credentials get a
// credentials request (XEP-0215 §3.3). now is used to drop services whose
// credentials already expired (nil means time.Now).
func Discover(ctx context.Context, s jingle.Sender, server string, now func() time.Time) (Result, error) {
	if now == nil {
		now = time.Now
	}
	ns := NS
	payload, err := query(ctx, s, server, NS)
	var je *jingle.Error
	if errors.As(err, &je) {
		ns = NS1
		payload, err = query(ctx, s, server, NS1)
	}
	if err != nil {
		return Result{}, err
	}
	services, err := ParseServices(payload)
	if err != nil {
		return Result{}, err
	}
	if ns == NS {
		services = fillCredentials(ctx, s, server, services)
	}
	res := Convert(services, now())
	res.Namespace = ns
	if len(res.Servers) == 0 {
		return res, fmt.Errorf("%w from %s (%d skipped)", ErrNoServices, server, len(res.Skipped))
	}
	return res, nil
}

func query(ctx context.Context, s jingle.Sender, server, ns string) ([]byte, error) {
	b, err := xml.Marshal(servicesXML{XMLName: xml.Name{Space: ns, Local: "services"}})
	if err != nil {
		return nil, fmt.Errorf("extdisco: encode query: %w", err)
	}
	reply, err := s.SendIQ(ctx, &jingle.IQ{To: server, Type: jingle.IQGet, Payload: b})
	if err != nil {
		return nil, fmt.Errorf("extdisco: %s services from %s: %w", ns, server, err)
	}
	return reply.Payload, nil
}

// fillCredentials asks for the credentials of restricted TURN services
// that came without them; a failure leaves the service as it was (it is
// then skipped for lacking credentials).
func fillCredentials(ctx context.Context, s jingle.Sender, server string, services []Service) []Service {
	out := append([]Service(nil), services...)
	for i, sv := range out {
		if !isTURN(sv.Type) || !truthy(sv.Restricted) || (sv.Username != "" && sv.Password != "") {
			continue
		}
		b, err := xml.Marshal(servicesXML{
			XMLName:  xml.Name{Space: NS, Local: "credentials"},
			Services: []Service{{Host: sv.Host, Type: sv.Type, Port: sv.Port}},
		})
		if err != nil {
			continue
		}
		reply, err := s.SendIQ(ctx, &jingle.IQ{To: server, Type: jingle.IQGet, Payload: b})
		if err != nil {
			continue
		}
		creds, err := ParseServices(reply.Payload)
		if err != nil {
			continue
		}
		for _, c := range creds {
			if c.Host == sv.Host && c.Type == sv.Type && (c.Port == "" || c.Port == sv.Port) {
				out[i].Username, out[i].Password = c.Username, c.Password
				if c.Expires != "" {
					out[i].Expires = c.Expires
				}
				break
			}
		}
	}
	return out
}

// ParseServices decodes a <services/> or <credentials/> payload of either
// namespace.
func ParseServices(payload []byte) ([]Service, error) {
	var v servicesXML
	if err := xml.NewDecoder(bytes.NewReader(payload)).Decode(&v); err != nil {
		return nil, fmt.Errorf("extdisco: decode services: %w", err)
	}
	if (v.XMLName.Space != NS && v.XMLName.Space != NS1) ||
		(v.XMLName.Local != "services" && v.XMLName.Local != "credentials") {
		return nil, fmt.Errorf("extdisco: unexpected payload <%s xmlns=%q>", v.XMLName.Local, v.XMLName.Space)
	}
	return v.Services, nil
}

// Convert turns services into ICE servers, skipping (and reporting) what
// an ICE agent cannot use: types other than stun/stuns/turn/turns, no
// host, no or invalid port, a transport other than udp/tcp, TURN without
// username and password, credentials already expired at now, and pushes
// that delete a service.
//
// A TURN service of a host that came without credentials takes those of
// another TURN service of the same host: Prosody 0.12's mod_turn_external
// announces its turn_external_tls_port service (turns, the one that
// crosses networks letting only 443 out) without any, while the relay
// checks the same shared secret on every transport.
func Convert(services []Service, now time.Time) Result {
	var res Result
	seen := map[string]bool{}
	shared, borrowed := shareCredentials(services)
	for i, sv := range shared {
		srv, reason := convert(sv, now)
		srv.Borrowed = borrowed[i]
		if reason != "" {
			res.Skipped = append(res.Skipped, Skipped{Service: sv, Reason: reason})
			continue
		}
		key := srv.URL + "\x00" + srv.Username
		if seen[key] {
			continue
		}
		seen[key] = true
		res.Servers = append(res.Servers, srv)
	}
	return res
}

func convert(sv Service, now time.Time) (ICEServer, string) {
	typ := strings.ToLower(sv.Type)
	switch typ {
	case "stun", "stuns", "turn", "turns":
	default:
		return ICEServer{}, "type " + strconv.Quote(sv.Type) + " is not STUN/TURN"
	}
	if sv.Action == "delete" {
		return ICEServer{}, "deleted"
	}
	if sv.Host == "" {
		return ICEServer{}, "no host"
	}
	if sv.Port == "" {
		return ICEServer{}, "no port"
	}
	port, err := strconv.Atoi(sv.Port)
	if err != nil || port <= 0 || port > 65535 {
		return ICEServer{}, "invalid port " + strconv.Quote(sv.Port)
	}
	transport := strings.ToLower(sv.Transport)
	switch transport {
	case "", "udp", "tcp":
	default:
		return ICEServer{}, "unknown transport " + strconv.Quote(sv.Transport)
	}
	if (typ == "stuns" || typ == "turns") && transport == "udp" {
		return ICEServer{}, typ + " over udp (needs DTLS, not supported)"
	}
	srv := ICEServer{Type: typ, Host: sv.Host, Port: port, Transport: transport}
	if sv.Expires != "" {
		t, err := time.Parse(time.RFC3339, sv.Expires)
		if err != nil {
			return ICEServer{}, "invalid expires " + strconv.Quote(sv.Expires)
		}
		if !t.After(now) {
			return ICEServer{}, "expired at " + sv.Expires
		}
		srv.Expires = t
	}
	if isTURN(typ) {
		if sv.Username == "" || sv.Password == "" {
			return ICEServer{}, "TURN without username/password"
		}
		srv.Username, srv.Credential = sv.Username, sv.Password
	}
	// RFC 7064 §3.1 (stun) / RFC 7065 §3.1 (turn).
	srv.URL = typ + ":" + net.JoinHostPort(sv.Host, strconv.Itoa(port))
	if isTURN(typ) && transport != "" {
		srv.URL += "?transport=" + transport
	}
	return srv, ""
}

// shareCredentials fills TURN services without credentials from the first
// TURN service of the same host that has them (see Convert), and reports
// which it filled.
func shareCredentials(services []Service) ([]Service, []bool) {
	out := append([]Service(nil), services...)
	borrowed := make([]bool, len(out))
	for i, sv := range out {
		if !isTURN(sv.Type) || sv.Username != "" || sv.Password != "" {
			continue
		}
		for _, o := range services {
			if isTURN(o.Type) && o.Host == sv.Host && o.Username != "" && o.Password != "" {
				out[i].Username, out[i].Password, out[i].Expires = o.Username, o.Password, o.Expires
				borrowed[i] = true
				break
			}
		}
	}
	return out, borrowed
}

func isTURN(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == "turn" || typ == "turns"
}

// truthy reads an xs:boolean.
func truthy(s string) bool { return s == "1" || s == "true" }
