package turnserver

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Service is one STUN or TURN service as an XMPP server announces it to
// its users (XEP-0215 <service/>): what a client connects to.
type Service struct {
	// Type is stun, turn or turns (XEP-0215 section 2, RFC 7064/7065).
	Type string
	// Transport is udp or tcp (turns always runs over tcp).
	Transport string
	Host      string
	Port      int
}

// URL is the service as an RFC 7064/7065 URI, e.g.
// "turns:turn.example.org:443?transport=tcp".
func (s Service) URL() string {
	u := s.Type + ":" + joinHostPort(s.Host, s.Port)
	if s.Type != "stun" {
		u += "?transport=" + s.Transport
	}

	return u
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}

	return host + ":" + strconv.Itoa(port)
}

// Advertised returns the services Advertise names (or its default, the
// enabled listeners), on PublicHost (or its default; empty when neither
// it nor an external or specific listen address is set). An advertised
// "udp" is a STUN and a TURN service, "tcp" TURN over TCP, "tls" TURN
// over TLS (turns, transport tcp).
func (c Config) Advertised() ([]Service, error) {
	c = c.withDefaults()
	entries := c.Advertise
	if entries == nil {
		if !c.DisableUDP {
			entries = append(entries, "udp:"+strconv.Itoa(c.Port))
		}
		if !c.DisableTCP {
			entries = append(entries, "tcp:"+strconv.Itoa(c.Port))
		}
		if c.TLSCert != "" {
			entries = append(entries, "tls:"+strconv.Itoa(c.TLSPort))
		}
	}
	host := c.publicHost()
	var out []Service
	seen := map[string]bool{}
	for _, e := range entries {
		transport, p, ok := strings.Cut(strings.TrimSpace(e), ":")
		port, err := strconv.Atoi(p)
		if !ok || err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("%w: advertise: %q is not TRANSPORT:PORT, e.g. \"tls:443\"", ErrInvalidConfig, e)
		}
		var add []Service
		switch strings.ToLower(transport) {
		case "udp":
			add = []Service{{Type: "stun", Transport: "udp"}, {Type: "turn", Transport: "udp"}}
		case "tcp":
			add = []Service{{Type: "turn", Transport: "tcp"}}
		case "tls":
			add = []Service{{Type: "turns", Transport: "tcp"}}
		default:
			return nil, fmt.Errorf("%w: advertise: %q: transport %q is not udp, tcp or tls", ErrInvalidConfig, e, transport)
		}
		for _, s := range add {
			s.Host, s.Port = host, port
			if !seen[s.URL()] {
				seen[s.URL()] = true
				out = append(out, s)
			}
		}
	}

	return out, nil
}

// publicHost is PublicHost or the address clients can reach, "" if none
// is known.
func (c Config) publicHost() string {
	if c.PublicHost != "" {
		return c.PublicHost
	}
	if c.ExternalIP != "" {
		return c.ExternalIP
	}
	if a, err := netip.ParseAddr(c.Address); err == nil && !a.IsUnspecified() {
		return a.String()
	}

	return ""
}

// advertiseWarnings names advertised services nothing here serves: the
// XMPP server would send clients to them, and calls would fail where
// only they get through. They are legitimate behind a proxy or port
// forward, so New logs them instead of refusing to start.
func (c Config) advertiseWarnings() []string {
	c = c.withDefaults()
	if c.Advertise == nil {
		return nil
	}
	services, err := c.Advertised()
	if err != nil {
		return nil
	}
	var w []string
	for _, s := range services {
		switch {
		case s.Type == "turns" && c.TLSCert == "":
			w = append(w, fmt.Sprintf("advertise: %s, but no tls_cert is set: only a TLS proxy in front of the relay can serve it", s.URL()))
		case s.Type == "turn" && s.Transport == "udp" && c.DisableUDP:
			w = append(w, fmt.Sprintf("advertise: %s, but disable_udp is set", s.URL()))
		case s.Type == "turn" && s.Transport == "tcp" && c.DisableTCP:
			w = append(w, fmt.Sprintf("advertise: %s, but disable_tcp is set", s.URL()))
		}
	}

	return w
}
