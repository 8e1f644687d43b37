package turnserver

import (
	"errors"
	"fmt"
	"strings"
)

// XMPP servers hand their users the relay's services with time-limited
// credentials made from a shared secret (XEP-0215, TURN REST API). These
// render the server side of that from the relay's own [turn] section, so
// what Prosody or ejabberd announces is exactly what jingled listens on
// (Advertised): jingled --xmpp-config prints them, docs/DEPLOY.md shows
// them.

// errNoPublicHost and errNoSharedSecret: what the XMPP configuration cannot do
// without.
var (
	errNoPublicHost   = errors.New("turn.public_host is not set (nor external_ip or a specific address): the XMPP server must tell clients a name or address")
	errNoSharedSecret = errors.New("turn.secrets is empty: XMPP servers hand out time-limited credentials made from a shared secret")
)

// credentialTTL is the lifetime of the credentials Prosody makes (its
// default): a client asks again for each call.
const credentialTTL = 86400

// advertisedWithSecret returns the services and the secret the XMPP
// server shares with the relay (the first of Secrets: put a new secret
// first when rotating).
func (c Config) advertisedWithSecret() ([]Service, string, error) {
	services, err := c.Advertised()
	if err != nil {
		return nil, "", err
	}
	if len(services) == 0 || services[0].Host == "" {
		return nil, "", fmt.Errorf("turnserver: %w", errNoPublicHost)
	}
	if len(c.Secrets) == 0 {
		return nil, "", fmt.Errorf("turnserver: %w", errNoSharedSecret)
	}

	return services, c.Secrets[0], nil
}

// ProsodyConfig returns the prosody.cfg.lua lines that announce the
// relay's advertised services with credentials (Prosody 0.12+,
// mod_external_services). mod_turn_external is not used: Prosody 0.12
// announces its turn_external_tls_port service without credentials, so
// clients could not use TURN over TLS, the one service that crosses a
// network letting only 443 out.
func ProsodyConfig(c Config) (string, error) {
	services, secret, err := c.advertisedWithSecret()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("-- jingled's TURN relay (jingled --xmpp-config prosody). In the global section\n")
	b.WriteString("-- or a VirtualHost; add \"external_services\" to modules_enabled.\n")
	b.WriteString("external_services = {\n")
	for _, s := range services {
		fmt.Fprintf(&b, "\t{ type = %s, transport = %s, host = %s, port = %d",
			luaString(s.Type), luaString(s.Transport), luaString(s.Host), s.Port)
		if s.Type != "stun" {
			fmt.Fprintf(&b, ", secret = %s, algorithm = \"turn\", ttl = %d", luaString(secret), credentialTTL)
		}
		b.WriteString(" };\n")
	}
	b.WriteString("}\n")

	return b.String(), nil
}

// EjabberdConfig returns the ejabberd.yml modules entry that announces the
// relay's advertised services (mod_stun_disco: restricted TURN services
// with credentials from the shared secret; ejabberd's own listeners are
// not offered).
func EjabberdConfig(c Config) (string, error) {
	services, secret, err := c.advertisedWithSecret()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("# jingled's TURN relay (jingled --xmpp-config ejabberd). ejabberd's own\n")
	b.WriteString("# ejabberd_stun listener must not bind the same ports.\n")
	b.WriteString("modules:\n  mod_stun_disco:\n")
	fmt.Fprintf(&b, "    secret: %s\n    offer_local_services: false\n    services:\n", yamlString(secret))
	for _, s := range services {
		fmt.Fprintf(&b, "      - host: %s\n        port: %d\n        type: %s\n        transport: %s\n        restricted: %t\n",
			yamlString(s.Host), s.Port, s.Type, s.Transport, s.Type != "stun")
	}

	return b.String(), nil
}

// luaString quotes s for Lua 5.1-5.4: decimal escapes for everything that
// is not printable ASCII, so no Lua version misreads it.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := range len(s) {
		switch ch := s[i]; {
		case ch == '"' || ch == '\\':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case ch < 0x20 || ch >= 0x7f:
			fmt.Fprintf(&b, "\\%03d", ch)
		default:
			b.WriteByte(ch)
		}
	}
	b.WriteByte('"')

	return b.String()
}

// yamlString quotes s as a YAML double-quoted scalar.
func yamlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')

	return b.String()
}
