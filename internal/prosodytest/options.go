// Options of a test server: TURN (XEP-0215), proxy65, an external component,
// plain c2s, certificates, extra modules and configuration.

package prosodytest

import (
	"net"
	"time"
)

// TURNExternal configures Prosody's mod_turn_external, which answers XEP-0215
// queries with time-limited TURN credentials derived from a secret shared
// with the TURN server (the TURN REST API scheme coturn calls
// use-auth-secret).
type TURNExternal struct {
	// Secret is the shared secret (turn_external_secret). Required.
	Secret string
	// Host is the TURN server's host announced to clients; default
	// "127.0.0.1".
	Host string
	// Port is the TURN server's port; default 3478.
	Port int
	// TTL is the credential lifetime; default one day (Prosody's default).
	TTL time.Duration
	// TCP also announces TURN over TCP (turn_external_tcp).
	TCP bool
}

type config struct {
	turn      *TURNExternal
	proxy65   bool
	component *externalComponent
	plain     bool
	modules   []string
	extra     string
	extraHost string
	certName  string
	certIPs   []net.IP
	// smacks enables mod_smacks; hibernation is its
	// smacks_hibernation_time (0: Prosody's default).
	smacks      bool
	hibernation time.Duration
	debugLog    bool
}

// Option configures a Server.
type Option func(*config)

// WithTURNExternal enables mod_turn_external with t.
func WithTURNExternal(t TURNExternal) Option {
	return func(c *config) { c.turn = &t }
}

// WithProxy65 adds a SOCKS5 bytestreams proxy component (mod_proxy65,
// XEP-0065) at "proxy."+Domain listening on its own loopback port; see
// Server.ProxyJID and Server.ProxyAddr.
func WithProxy65() Option {
	return func(c *config) { c.proxy65 = true }
}

// externalComponent is an XEP-0114 component host that an outside process
// (jingled's xmpp.Component) connects to.
type externalComponent struct {
	subdomain string
	secret    string
}

// WithComponent adds an external component (XEP-0114) at
// subdomain+"."+Domain, e.g. WithComponent("call", "s3cret") for
// "call.localhost", accepting connections on a loopback port with secret;
// see Server.ComponentJID, Server.ComponentAddr and Server.ComponentSecret.
func WithComponent(subdomain, secret string) Option {
	return func(c *config) { c.component = &externalComponent{subdomain: subdomain, secret: secret} }
}

// WithPlainC2S lets clients authenticate without STARTTLS
// (c2s_require_encryption = false). Only for tests of plain loopback
// connections; TLS is still offered.
func WithPlainC2S() Option {
	return func(c *config) { c.plain = true }
}

// WithCertificateFor issues the server's self-signed certificate for
// name instead of Domain: a server whose certificate is for another name,
// which clients must refuse (tests of that refusal).
func WithCertificateFor(name string) Option {
	return func(c *config) { c.certName = name }
}

// WithCertificateIPs adds IP addresses to the certificate's names (it
// always holds 127.0.0.1 and ::1), so a service on another address of the
// test, such as a TURN relay's TLS listener, can present the same
// certificate and be verified with CAFile.
func WithCertificateIPs(ips ...string) Option {
	return func(c *config) {
		for _, ip := range ips {
			c.certIPs = append(c.certIPs, net.ParseIP(ip))
		}
	}
}

// WithModules enables additional Prosody modules.
func WithModules(names ...string) Option {
	return func(c *config) { c.modules = append(c.modules, names...) }
}

// WithSmacks enables mod_smacks, Prosody's XEP-0198 stream management
// (acks and resumption), as Prosody 0.12's default configuration does.
// hibernation, if not zero, is how long a session whose connection broke
// is kept for resumption (smacks_hibernation_time, whole seconds;
// Prosody's default is 10 minutes): a short one makes the server refuse
// a later resumption, for tests of the fallback.
func WithSmacks(hibernation time.Duration) Option {
	return func(c *config) { c.smacks, c.hibernation = true, hibernation }
}

// WithDebugLog logs at debug level instead of info, for a test that
// waits for a line Prosody logs only there (e.g. mod_smacks ending a
// hibernating session: "Destroying session for hibernating too long").
func WithDebugLog() Option {
	return func(c *config) { c.debugLog = true }
}

// WithGlobalConfig appends raw Lua to the global section of the config, an
// escape hatch for options this package does not model.
func WithGlobalConfig(lua string) Option {
	return func(c *config) { c.extra += lua + "\n" }
}

// WithHostConfig appends raw Lua to the VirtualHost section of the config.
func WithHostConfig(lua string) Option {
	return func(c *config) { c.extraHost += lua + "\n" }
}
