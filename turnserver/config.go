package turnserver

import (
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"time"
)

// Config is the [turn] section of the jingled config file. Zero values mean
// the default named in each comment, so an empty section plus one credential
// source is a working, safe relay.
type Config struct {
	// Realm is the long-term credential realm (RFC 8489 section 9.2).
	// Default "jingled".
	Realm string `toml:"realm"`

	// Address is the IP the UDP, TCP and TLS listeners bind. Default "0.0.0.0".
	Address string `toml:"address"`
	// Port is the UDP and TCP port for STUN and TURN. Default 3478.
	Port int `toml:"port"`
	// DisableUDP and DisableTCP turn off the plain listeners.
	DisableUDP bool `toml:"disable_udp"`
	DisableTCP bool `toml:"disable_tcp"`
	// UDPSockets is how many SO_REUSEPORT sockets share the UDP port, each
	// with its own read loop, so the kernel spreads clients over cores.
	// Default: the number of CPUs.
	UDPSockets int `toml:"udp_sockets"`
	// UDPLoops is how many event loops serve the UDP listener sockets and
	// their allocations' relay sockets (Linux; see loop_linux.go): one
	// goroutine each, which keeps its P while datagrams flow. Default: one
	// fewer than GOMAXPROCS (at most UDPSockets), so the rest of the process
	// always has a P; with GOMAXPROCS=1 the default is no loop
	// (DisableUDPLoop), and setting UDPLoops asks for one anyway. Sockets
	// are shared round-robin.
	UDPLoops int `toml:"udp_loops"`
	// DisableUDPLoop serves every UDP socket from its own goroutine through
	// Go's netpoller instead, as on systems other than Linux: about 1.7x the
	// CPU per relayed datagram at call rates (docs/BENCHMARKS.md), but no P
	// is ever held by a waiting loop.
	DisableUDPLoop bool `toml:"disable_udp_loop"`

	// TLSPort is the TURN-over-TLS port (RFC 8656 section 3.1). Default
	// 5349. TLS is on only when TLSCert and TLSKey are set. The port also
	// accepts plain TURN over TCP (the first byte tells them apart, see
	// sniff.go) unless DisableTCP is set, so tls_port = 443 serves both
	// turns:HOST:443 and turn:HOST:443?transport=tcp to networks that let
	// only 443 out. It may equal Port: one TCP listener then serves both.
	TLSPort int `toml:"tls_port"`
	// TLSCert and TLSKey are PEM files. They are re-read when they change on
	// disk and when Server.ReloadCertificate is called (jingled calls it on
	// SIGHUP), so certificate renewal needs no restart.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`

	// PublicHost is the name clients connect to: the host the XMPP
	// server announces (XEP-0215) and the name the TLS certificate must
	// carry, since clients verify it. Default: ExternalIP, else Address
	// when it is a specific IP.
	PublicHost string `toml:"public_host"`
	// Advertise lists the services the XMPP server should announce to its
	// users, each "TRANSPORT:PORT": udp (STUN and TURN over UDP), tcp
	// (TURN over TCP) or tls (TURN over TLS). PORT is what clients
	// connect to, which differs from the listener's behind a port
	// forward. jingled --xmpp-config prints the Prosody or ejabberd
	// configuration announcing exactly these. Default: udp:Port and
	// tcp:Port for the enabled listeners and tls:TLSPort with a
	// certificate.
	Advertise []string `toml:"advertise"`

	// ExternalIP is the public address of a host behind 1:1 NAT (cloud VMs):
	// it is advertised in XOR-RELAYED-ADDRESS while relay sockets bind
	// RelayBindAddress. Default: the relay bind address itself.
	ExternalIP string `toml:"external_ip"`
	// RelayBindAddress is the IP relay sockets bind. Default: Address if it
	// is a specific IP, else the first non-loopback interface address.
	RelayBindAddress string `toml:"relay_bind_address"`
	// RelayPortMin and RelayPortMax bound relay ports (inclusive). Default
	// 49152-65535, the range RFC 8656 section 7.2 recommends.
	RelayPortMin int `toml:"relay_port_min"`
	RelayPortMax int `toml:"relay_port_max"`

	// Users are static long-term credentials, username to password.
	Users map[string]string `toml:"users"`
	// Secrets are shared secrets for time-limited credentials (coturn
	// static-auth-secret). All are accepted, so a secret can be rotated by
	// adding the new one first, moving the XMPP server to it, then removing
	// the old one after the longest credential TTL; calls keep going.
	Secrets []string `toml:"secrets"`
	// AuthFailuresPerMinute caps failed authentications answered per source
	// IP; beyond it requests from that IP are dropped unanswered for the rest
	// of the minute. Default 30.
	AuthFailuresPerMinute int `toml:"auth_failures_per_minute"`

	// AllowPeers and DenyPeers are CIDRs (or IPs) that override the
	// default-deny classes: loopback, link-local, private (RFC 1918, CGNAT,
	// ULA), multicast, broadcast, reserved, unspecified. Deny wins over allow.
	// A LAN deployment lists its private range in AllowPeers.
	AllowPeers []string `toml:"allow_peers"`
	DenyPeers  []string `toml:"deny_peers"`
	// AllowWideOpenPeers must be set to start with an AllowPeers entry that
	// covers the cloud metadata address, the unspecified address or a /0../7.
	AllowWideOpenPeers bool `toml:"allow_wide_open_peers"`

	// MaxAllocations caps allocations on the server (486 beyond). Default 10000.
	MaxAllocations int `toml:"max_allocations"`
	// MaxAllocationsPerUser caps allocations per user (486 beyond). The user
	// is the USER part of a time-limited username if present, else the whole
	// username. Default 20.
	MaxAllocationsPerUser int `toml:"max_allocations_per_user"`
	// MaxPermissionsPerAllocation caps peers per allocation (508 beyond).
	// Default 64.
	MaxPermissionsPerAllocation int `toml:"max_permissions_per_allocation"`
	// UserBandwidth and TotalBandwidth cap relayed bytes per second per user
	// and for the server; excess datagrams are dropped. 0 means no cap.
	UserBandwidth  int64 `toml:"user_bandwidth"`
	TotalBandwidth int64 `toml:"total_bandwidth"`

	// AllocationLifetime is the default allocation lifetime when the client
	// asks none (RFC 8656 section 7.2: 10 minutes); client requests are capped
	// at one hour. PermissionLifetime is fixed at 300 s and channel bindings
	// at 600 s by RFC 8656 sections 9 and 12.
	AllocationLifetime time.Duration `toml:"allocation_lifetime"`

	// ShutdownGrace is how long Shutdown lets allocations drain before it
	// closes them. Default 30s.
	ShutdownGrace time.Duration `toml:"shutdown_grace"`
}

// RFC 8656 sections 9 and 12: fixed by the protocol, not configuration.
const (
	permissionLifetime  = 300 * time.Second
	channelBindLifetime = 600 * time.Second
)

// withDefaults returns a copy with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Realm == "" {
		c.Realm = "jingled"
	}
	if c.Address == "" {
		c.Address = "0.0.0.0"
	}
	if c.Port == 0 {
		c.Port = 3478
	}
	if c.TLSPort == 0 {
		c.TLSPort = 5349
	}
	if c.UDPSockets == 0 {
		c.UDPSockets = runtime.NumCPU()
	}
	if c.UDPLoops == 0 {
		c.UDPLoops = min(max(1, runtime.GOMAXPROCS(0)-1), max(1, c.UDPSockets))
		// With one P a busy loop would hold it from everything else, and
		// the netpoller's other sockets would wait for sysmon's 10 ms poll.
		if runtime.GOMAXPROCS(0) == 1 {
			c.DisableUDPLoop = true
		}
	}
	if c.RelayPortMin == 0 {
		c.RelayPortMin = 49152
	}
	if c.RelayPortMax == 0 {
		c.RelayPortMax = 65535
	}
	if c.AuthFailuresPerMinute == 0 {
		c.AuthFailuresPerMinute = 30
	}
	if c.MaxAllocations == 0 {
		c.MaxAllocations = 10000
	}
	if c.MaxAllocationsPerUser == 0 {
		c.MaxAllocationsPerUser = 20
	}
	if c.MaxPermissionsPerAllocation == 0 {
		c.MaxPermissionsPerAllocation = 64
	}
	if c.AllocationLifetime == 0 {
		c.AllocationLifetime = 10 * time.Minute
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = 30 * time.Second
	}

	return c
}

// Validate reports the first problem that would stop the relay from running
// safely. It is called by New; jingled also calls it when loading the file
// so a bad config is refused before anything starts.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, a...))
	}
	if _, err := netip.ParseAddr(c.Address); err != nil {
		return bad("address: %q is not an IP address", c.Address)
	}
	for _, ip := range []struct{ name, v string }{{"external_ip", c.ExternalIP}, {"relay_bind_address", c.RelayBindAddress}} {
		if ip.v == "" {
			continue
		}
		a, err := netip.ParseAddr(ip.v)
		if err != nil {
			return bad("%s: %q is not an IP address", ip.name, ip.v)
		}
		if a.IsUnspecified() {
			return bad("%s: must be a specific address, not %s", ip.name, ip.v)
		}
	}
	if c.Port < 1 || c.Port > 65535 || c.TLSPort < 1 || c.TLSPort > 65535 {
		return bad("port, tls_port: must be 1..65535")
	}
	if c.DisableUDP && c.DisableTCP && c.TLSCert == "" {
		return bad("disable_udp, disable_tcp: every listener is off and no tls_cert is set")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return bad("tls_cert, tls_key: set both or neither")
	}
	if c.UDPSockets < 1 || c.UDPSockets > 256 {
		return bad("udp_sockets: must be 1..256")
	}
	if c.UDPLoops < 1 || c.UDPLoops > c.UDPSockets {
		return bad("udp_loops: must be 1..udp_sockets (%d)", c.UDPSockets)
	}
	if c.RelayPortMin < 1 || c.RelayPortMax > 65535 || c.RelayPortMin > c.RelayPortMax {
		return bad("relay_port_min, relay_port_max: %d-%d is not a port range", c.RelayPortMin, c.RelayPortMax)
	}
	if len(c.Users) == 0 && len(c.Secrets) == 0 {
		return bad("users, secrets: neither is set, nobody could allocate")
	}
	for u, p := range c.Users {
		if u == "" || p == "" {
			return bad("users: every entry needs a name and a password")
		}
	}
	for _, s := range c.Secrets {
		if s == "" {
			return bad("secrets: empty string")
		}
	}
	for _, l := range []struct {
		key string
		v   int64
	}{
		{"auth_failures_per_minute", int64(c.AuthFailuresPerMinute)},
		{"max_allocations", int64(c.MaxAllocations)},
		{"max_allocations_per_user", int64(c.MaxAllocationsPerUser)},
		{"max_permissions_per_allocation", int64(c.MaxPermissionsPerAllocation)},
		{"user_bandwidth", c.UserBandwidth},
		{"total_bandwidth", c.TotalBandwidth},
	} {
		if l.v < 0 {
			return bad("%s: must not be negative", l.key)
		}
	}
	if c.AllocationLifetime < time.Minute || c.AllocationLifetime > time.Hour {
		return bad("allocation_lifetime: must be between 1m and 1h (RFC 8656 section 7.2)")
	}
	if strings.ContainsAny(c.PublicHost, " /?@#\t") {
		return bad("public_host: %q is not a host name or address", c.PublicHost)
	}
	if _, err := c.Advertised(); err != nil {
		return err
	}
	allow, err := parsePrefixes(c.AllowPeers)
	if err != nil {
		return fmt.Errorf("allow_peers: %w", err)
	}
	if _, err := parsePrefixes(c.DenyPeers); err != nil {
		return fmt.Errorf("deny_peers: %w", err)
	}
	if w := wideOpen(allow); len(w) > 0 && !c.AllowWideOpenPeers {
		return fmt.Errorf("allow_peers: %w: %v", ErrWideOpenPolicy, w)
	}

	return nil
}
