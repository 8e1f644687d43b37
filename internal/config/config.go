// Package config reads jingled's configuration file (TOML), applies
// overrides from the environment and the command line, and validates it
// before anything starts, with errors that name the offending key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/jingled/jingled/turnserver"
)

// ErrInvalid wraps every validation error.
var ErrInvalid = errors.New("invalid configuration")

// Config is the whole jingled configuration file. docs/jingled.example.toml
// documents every key.
type Config struct {
	Log        Log        `toml:"log"`
	HTTP       HTTP       `toml:"http"`
	TURN       TURN       `toml:"turn"`
	ICE        ICE        `toml:"ice"`
	Conference Conference `toml:"conference"`
	Accounts   []Account  `toml:"account"`
}

// Conference is the conference-room service in component mode (XEP-0114):
// every NAME@Domain is a room. Account mode is an [[account]] with role
// conference instead.
type Conference struct {
	// Enabled connects the component. Default false.
	Enabled bool `toml:"enabled"`
	// Domain is the component's JID, e.g. call.example.org, as declared
	// in the XMPP server (Prosody: Component "call.example.org").
	Domain string `toml:"domain"`
	// Exactly one of Secret, SecretFile, SecretEnv: the component secret
	// (Prosody's component_secret, ejabberd's ejabberd_service password).
	Secret     string `toml:"secret"`
	SecretFile string `toml:"secret_file"`
	SecretEnv  string `toml:"secret_env"`
	// Server is the XMPP server's component port. Default 127.0.0.1:5347.
	Server string `toml:"server"`
	// Create lists who may open a room by calling it: bare JIDs and
	// domains, "*" for everyone. Default: the server's own domain (Domain
	// minus its first label).
	Create []string `toml:"create"`
	// Join lists who may join an open room. Default: as Create.
	Join []string `toml:"join"`
	// MaxRooms bounds the rooms open at once. Default 100.
	MaxRooms int `toml:"max_rooms"`
	// MaxParticipants bounds each room. Default 32.
	MaxParticipants int `toml:"max_participants"`
	// Announce sends "alice@example.org joined, 3 in the call" chat
	// messages to the participants. Default true.
	Announce *bool `toml:"announce"`
	// MaxSpeakers is how many of the loudest participants are mixed at
	// once. Default 3.
	MaxSpeakers int `toml:"max_speakers"`
}

// ServerDomain is the domain whose users may open and join rooms by
// default: the component's domain minus its first label.
func (c *Conference) ServerDomain() string {
	_, parent, ok := strings.Cut(c.Domain, ".")
	if !ok {
		return c.Domain
	}
	return parent
}

// MayCreate reports whether peer may open a room.
func (c *Conference) MayCreate(peer string) bool {
	return matchJID(c.Create, peer, c.ServerDomain())
}

// MayJoin reports whether peer may join a room.
func (c *Conference) MayJoin(peer string) bool {
	if len(c.Join) == 0 {
		return c.MayCreate(peer)
	}
	return matchJID(c.Join, peer, c.ServerDomain())
}

// SecretValue returns the component secret from wherever the config says.
func (c *Conference) SecretValue() (string, error) {
	return secretFrom(c.Secret, c.SecretFile, c.SecretEnv, "secret_file")
}

// Log configures the structured logger (log/slog).
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `toml:"level"`
	// Format is text or json. Default text.
	Format string `toml:"format"`
}

// HTTP is the health and Prometheus metrics endpoint and the status
// page.
type HTTP struct {
	// Listen is host:port; empty disables the endpoint. Default empty.
	Listen string `toml:"listen"`
	// Pprof serves Go's profiles under /debug/pprof/ on the same
	// listener, for finding where a busy jingled spends its CPU. Default
	// false: keep the listener on loopback when it is on.
	Pprof bool `toml:"pprof"`
	// StatusJIDs shows peers' JIDs and room names on the status page (/)
	// and in /status.json. Default false: the page shows counts by kind
	// and the service's own accounts only, since peers are end users.
	StatusJIDs bool `toml:"status_jids"`
}

// TURN is the bundled relay: the [turn] table holds turnserver.Config's
// keys plus enabled.
type TURN struct {
	// Enabled starts the relay. Default false.
	Enabled           bool `toml:"enabled"`
	turnserver.Config      // inline: realm, port, secrets, allow_peers, ...
}

// ICE configures the STUN/TURN servers the XMPP accounts' calls and
// datachannel transfers use.
type ICE struct {
	// Servers are static ICE servers, e.g. "turn:turn.example.org:3478?transport=udp".
	Servers []string `toml:"servers"`
	// Username and Password go with static TURN servers.
	Username string `toml:"username"`
	Password string `toml:"password"`
	// Discover asks each account's server via XEP-0215. Default true.
	Discover *bool `toml:"discover"`
	// Policy is all or relay. Default all.
	Policy string `toml:"policy"`
	// LoopbackOnly restricts gathering to loopback addresses (tests, demo).
	LoopbackOnly bool `toml:"loopback_only"`
	// UDPPort, when set, carries every call's host candidates on this one
	// UDP port (per local address), read and written in batches: the one
	// port a firewall must open, and less CPU per packet for many calls.
	// 0 (default): a port per call.
	UDPPort int `toml:"udp_port"`
}

// Roles of an account.
const (
	RoleEcho     = "echo"
	RoleRecord   = "record"
	RolePlay     = "play"
	RoleFiledrop = "filedrop"
	// RoleConference makes the account one conference room: every caller
	// hears the mix of the others.
	RoleConference = "conference"
)

// Account is one XMPP account served by jingled ([[account]] tables).
type Account struct {
	// JID is the bare account JID.
	JID string `toml:"jid"`
	// Resource is the resource to bind. Default "jingled".
	Resource string `toml:"resource"`
	// Exactly one of Password, PasswordFile, PasswordEnv.
	Password     string `toml:"password"`
	PasswordFile string `toml:"password_file"`
	PasswordEnv  string `toml:"password_env"`
	// Server is host:port. Default: the JID's domain, port 5222.
	Server string `toml:"server"`
	// CAFile trusts a private CA (a test or LAN server's certificate).
	CAFile string `toml:"ca_file"`
	// AllowPlain permits an unencrypted connection, to loopback only.
	AllowPlain bool `toml:"allow_plain"`
	// Role is echo, record, play, filedrop or conference.
	Role string `toml:"role"`
	// Allow lists the JIDs (bare) and domains that may call or send files;
	// "*" allows everyone. Default: nobody but the account's own domain.
	Allow []string `toml:"allow"`
	// Subscriptions says which subscription requests are approved: allowed
	// (those matching Allow), all, or none. Default allowed.
	Subscriptions string `toml:"subscriptions"`
	// MaxDuration hangs up calls after this long. Default 10m.
	MaxDuration duration `toml:"max_duration"`
	// MaxCalls bounds the calls an echo, record or play account holds at
	// once; a caller beyond it hears <busy/>. Default 64 (a play role
	// with rtp_listen takes one: one input feeds one call).
	MaxCalls int `toml:"max_calls"`
	// EchoDelay plays the caller back this much later (echo role only,
	// 0 to 10s): an echo sent back at once is removed by the caller's
	// echo canceller (Dino, browsers), so echo-test services delay it.
	// Default 1s; "0s" echoes at once.
	EchoDelay *duration `toml:"echo_delay"`
	// Dir is where record writes recordings and filedrop stores files.
	Dir string `toml:"dir"`
	// ServeDir is where filedrop serves files from (XEP-0234 pull).
	ServeDir string `toml:"serve_dir"`
	// MaxFileSize is the largest file filedrop accepts. Default 100 MiB.
	MaxFileSize int64 `toml:"max_file_size"`
	// PartialMaxAge is how long filedrop keeps a partial file (an
	// interrupted transfer waiting for its sender to resume, or what a
	// crash left) before the clean-up at start removes it; one that a
	// running process holds is never removed. Default 24h
	// (filetransfer.DefaultPartialMaxAge); "0s" keeps them all.
	PartialMaxAge *duration `toml:"partial_max_age"`
	// Greeting is an Ogg/Opus file record plays first; File is what play
	// plays (Ogg/Opus, IVF); RTPListen is an RTP/UDP input address for play
	// (Opus RTP, as `ffmpeg -f rtp rtp://ADDR` sends it). Recordings are
	// Ogg/Opus for audio and IVF for video.
	Greeting  string `toml:"greeting"`
	File      string `toml:"file"`
	RTPListen string `toml:"rtp_listen"`
	// RTPSend forwards what each caller sends, as RTP, to HOST:PORT (audio
	// on PORT, video on PORT+2) for ffmpeg or GStreamer, described in the
	// SDP file RTPSDP (default for record: beside the recording,
	// PREFIX.sdp; the other roles need rtp_sdp). Echo, record and play
	// only; the account then takes one call at a time. Loopback only
	// unless RTPAllowRemote: plain RTP is unencrypted.
	RTPSend        string `toml:"rtp_send"`
	RTPSDP         string `toml:"rtp_sdp"`
	RTPAllowRemote bool   `toml:"rtp_allow_remote"`
	// MaxParticipants bounds a conference room. Default 32.
	MaxParticipants int `toml:"max_participants"`
	// Announce sends join/leave chat messages in a conference room.
	// Default true.
	Announce *bool `toml:"announce"`
}

// The echo role's delay: DefaultEchoDelay when echo_delay is not set, at
// most MaxEchoDelay (rtp.MaxEchoDelay; longer is no echo test).
const (
	DefaultEchoDelay = time.Second
	MaxEchoDelay     = 10 * time.Second
)

// PartialMaxAgeValue returns partial_max_age, or def when it is unset.
func (a *Account) PartialMaxAgeValue(def time.Duration) time.Duration {
	if a.PartialMaxAge == nil {
		return def
	}
	return a.PartialMaxAge.Duration
}

// Calls an account holds at once (max_calls): DefaultMaxCalls unless set,
// at most MaxCallsLimit (a bound on what one account's process takes from
// a flood of allowed callers, above what bench/calls measures).
const (
	DefaultMaxCalls = 64
	MaxCallsLimit   = 5000
)

// EchoDelayValue returns the echo delay (0 when unset, before Defaults).
func (a *Account) EchoDelayValue() time.Duration {
	if a.EchoDelay == nil {
		return 0
	}
	return a.EchoDelay.Duration
}

// duration accepts TOML strings such as "90s" or "10m".
type duration struct{ time.Duration }

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

func (d duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Duration returns the configured value.
func (d duration) Value() time.Duration { return d.Duration }

// EnvPrefix starts every environment override: JINGLED_TURN__PORT=3479 sets
// turn.port (two underscores separate table and key; variables without
// them, such as JINGLED_CONFIG, are not overrides).
const EnvPrefix = "JINGLED_"

// Load reads path, applies env overrides (environ, as os.Environ) and
// command-line overrides (sets, "key.path=value" with TOML values), and
// validates the result.
func Load(path string, environ []string, sets []string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(raw, filepath.Dir(path), environ, sets)
}

// Parse is Load on bytes; dir resolves relative file paths.
func Parse(raw []byte, dir string, environ []string, sets []string) (*Config, error) {
	doc := map[string]any{}
	if _, err := toml.Decode(string(raw), &doc); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var overrides []string
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		// Every key lives in a table, so an override always has a "__";
		// other JINGLED_* variables (JINGLED_CONFIG, ...) are not keys.
		if !ok || !strings.HasPrefix(k, EnvPrefix) || !strings.Contains(k, "__") {
			continue
		}
		key := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, EnvPrefix), "__", "."))
		overrides = append(overrides, key+"="+v)
	}
	sort.Strings(overrides)
	for _, kv := range append(overrides, sets...) {
		if err := apply(doc, kv); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(doc); err != nil {
		return nil, fmt.Errorf("config: re-encoding overrides: %w", err)
	}
	var c Config
	md, err := toml.Decode(buf.String(), &c)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("%w: unknown key %q", ErrInvalid, und[0].String())
	}
	// The relay's UDP event loop keeps a P while datagrams flow and can
	// leave the runtime's netpoller unattended for a while (docs/DEPLOY.md);
	// a relay sharing the process with calls and transfers serves its
	// sockets from goroutines unless the file chooses otherwise.
	if len(c.Accounts) > 0 && !md.IsDefined("turn", "disable_udp_loop") && !md.IsDefined("turn", "udp_loops") {
		c.TURN.DisableUDPLoop = true
	}
	c.resolvePaths(dir)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// apply sets one dotted key to a TOML value; a value that is not valid
// TOML is taken as a string, so JINGLED_LOG__LEVEL=debug works unquoted.
func apply(doc map[string]any, kv string) error {
	key, val, ok := strings.Cut(kv, "=")
	if !ok || key == "" {
		return fmt.Errorf("%w: override %q: want key.path=value", ErrInvalid, kv)
	}
	var v struct{ V any }
	if _, err := toml.Decode("V = "+val, &v); err != nil {
		v.V = val
	}
	parts := strings.Split(key, ".")
	m := doc
	for i, p := range parts[:len(parts)-1] {
		next, ok := m[p]
		if !ok {
			n := map[string]any{}
			m[p] = n
			m = n
			continue
		}
		switch t := next.(type) {
		case map[string]any:
			m = t
		case []map[string]any:
			// account.0.password_file: index into an array of tables.
			if i+1 >= len(parts)-1 {
				return fmt.Errorf("%w: override %q: %s is a list, give an index", ErrInvalid, kv, p)
			}
			idx, err := strconv.Atoi(parts[i+1])
			if err != nil || idx < 0 || idx >= len(t) {
				return fmt.Errorf("%w: override %q: no %s[%s]", ErrInvalid, kv, p, parts[i+1])
			}
			return apply(t[idx], strings.Join(parts[i+2:], ".")+"="+val)
		default:
			return fmt.Errorf("%w: override %q: %s is not a table", ErrInvalid, kv, strings.Join(parts[:i+1], "."))
		}
	}
	m[parts[len(parts)-1]] = v.V
	return nil
}

func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) && dir != "" {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.TURN.TLSCert)
	abs(&c.TURN.TLSKey)
	abs(&c.Conference.SecretFile)
	for i := range c.Accounts {
		a := &c.Accounts[i]
		for _, p := range []*string{&a.PasswordFile, &a.CAFile, &a.Dir, &a.ServeDir, &a.Greeting, &a.File} {
			abs(p)
		}
	}
}

// Validate checks every key; the first problem is returned, naming its key.
func (c *Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalid, key, fmt.Sprintf(format, args...))
	}
	switch c.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		return bad("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		return bad("log.format", "%q is not text or json", c.Log.Format)
	}
	if c.HTTP.Listen != "" {
		if err := checkHostPort(c.HTTP.Listen); err != nil {
			return bad("http.listen", "%v", err)
		}
	}
	if c.TURN.Enabled {
		if err := c.TURN.Config.Validate(); err != nil {
			return bad("turn", "%v", err)
		}
		for _, f := range []struct{ key, path string }{{"turn.tls_cert", c.TURN.TLSCert}, {"turn.tls_key", c.TURN.TLSKey}} {
			if f.path == "" {
				continue
			}
			if err := readable(f.path); err != nil {
				return bad(f.key, "%v", err)
			}
		}
	}
	if c.ICE.UDPPort < 0 || c.ICE.UDPPort > 65535 {
		return bad("ice.udp_port", "%d is not a port (1-65535, or 0 for a port per call)", c.ICE.UDPPort)
	}
	switch c.ICE.Policy {
	case "", "all", "relay":
	default:
		return bad("ice.policy", "%q is not all or relay", c.ICE.Policy)
	}
	for i, s := range c.ICE.Servers {
		if !strings.HasPrefix(s, "stun:") && !strings.HasPrefix(s, "turn:") && !strings.HasPrefix(s, "turns:") {
			return bad(fmt.Sprintf("ice.servers[%d]", i), "%q is not a stun:, turn: or turns: URL", s)
		}
	}
	if c.Conference.Enabled {
		if err := c.Conference.validate(); err != nil {
			return err
		}
	}
	if !c.TURN.Enabled && !c.Conference.Enabled && len(c.Accounts) == 0 {
		return bad("account", "nothing to run: no [[account]], turn.enabled and conference.enabled are false")
	}
	seen := map[string]bool{}
	for i := range c.Accounts {
		if err := c.Accounts[i].validate(fmt.Sprintf("account[%d]", i)); err != nil {
			return err
		}
		if seen[c.Accounts[i].JID] {
			return bad(fmt.Sprintf("account[%d].jid", i), "%q appears twice", c.Accounts[i].JID)
		}
		seen[c.Accounts[i].JID] = true
	}
	return nil
}

func (a *Account) validate(key string) error {
	bad := func(sub, format string, args ...any) error {
		return fmt.Errorf("%w: %s.%s: %s", ErrInvalid, key, sub, fmt.Sprintf(format, args...))
	}
	local, domain, ok := strings.Cut(a.JID, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(a.JID, "/ ") {
		return bad("jid", "%q is not a bare JID (user@domain)", a.JID)
	}
	n := 0
	for _, s := range []string{a.Password, a.PasswordFile, a.PasswordEnv} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return bad("password_file", "give exactly one of password, password_file, password_env")
	}
	if a.PasswordFile != "" {
		if err := readable(a.PasswordFile); err != nil {
			return bad("password_file", "%v", err)
		}
	}
	if a.PasswordEnv != "" && os.Getenv(a.PasswordEnv) == "" {
		return bad("password_env", "environment variable %s is empty or unset", a.PasswordEnv)
	}
	if a.Server != "" {
		if err := checkHostPort(a.Server); err != nil {
			return bad("server", "%v", err)
		}
	}
	if a.CAFile != "" {
		if err := readable(a.CAFile); err != nil {
			return bad("ca_file", "%v", err)
		}
	}
	if a.MaxDuration.Duration < 0 {
		return bad("max_duration", "must not be negative")
	}
	if a.MaxCalls < 0 || a.MaxCalls > MaxCallsLimit {
		return bad("max_calls", "%d is not between 1 and %d", a.MaxCalls, MaxCallsLimit)
	}
	if a.EchoDelay != nil {
		if a.Role != RoleEcho {
			return bad("echo_delay", "only the echo role echoes (role is %q)", a.Role)
		}
		if d := a.EchoDelay.Duration; d < 0 || d > MaxEchoDelay {
			return bad("echo_delay", "%v is not between 0s and %v", d, MaxEchoDelay)
		}
	}
	if err := a.validateRTPSend(bad); err != nil {
		return err
	}
	if a.PartialMaxAge != nil {
		if a.Role != RoleFiledrop {
			return bad("partial_max_age", "only filedrop keeps partial files (role is %q)", a.Role)
		}
		if a.PartialMaxAge.Duration < 0 {
			return bad("partial_max_age", "must not be negative")
		}
	}
	switch a.Subscriptions {
	case "", "allowed", "all", "none":
	default:
		return bad("subscriptions", "%q is not allowed, all or none", a.Subscriptions)
	}
	switch a.Role {
	case RoleEcho:
	case RoleRecord:
		if a.Dir == "" {
			return bad("dir", "the record role needs a directory for recordings")
		}
		if a.Greeting != "" {
			if err := readable(a.Greeting); err != nil {
				return bad("greeting", "%v", err)
			}
		}
	case RolePlay:
		if (a.File == "") == (a.RTPListen == "") {
			return bad("file", "the play role needs exactly one of file or rtp_listen")
		}
		if a.File != "" {
			if err := readable(a.File); err != nil {
				return bad("file", "%v", err)
			}
		}
		if a.RTPListen != "" {
			if err := checkHostPort(a.RTPListen); err != nil {
				return bad("rtp_listen", "%v", err)
			}
		}
	case RoleFiledrop:
		if a.Dir == "" && a.ServeDir == "" {
			return bad("dir", "the filedrop role needs dir (to receive) or serve_dir (to serve)")
		}
		if a.MaxFileSize < 0 {
			return bad("max_file_size", "must not be negative")
		}
	case RoleConference:
		if a.MaxParticipants < 0 {
			return bad("max_participants", "must not be negative")
		}
	case "":
		return bad("role", "missing (echo, record, play, filedrop or conference)")
	default:
		return bad("role", "%q is not echo, record, play, filedrop or conference", a.Role)
	}
	return nil
}

// Defaults fills what the file left out; call after Validate.
func (a *Account) Defaults() {
	if a.Resource == "" {
		a.Resource = "jingled"
	}
	if a.Server == "" {
		_, domain, _ := strings.Cut(a.JID, "@")
		a.Server = net.JoinHostPort(domain, "5222")
	}
	if a.MaxDuration.Duration == 0 {
		a.MaxDuration.Duration = 10 * time.Minute
	}
	if a.MaxCalls == 0 {
		a.MaxCalls = DefaultMaxCalls
	}
	if a.EchoDelay == nil && a.Role == RoleEcho {
		a.EchoDelay = &duration{DefaultEchoDelay}
	}
	if a.MaxFileSize == 0 {
		a.MaxFileSize = 100 << 20
	}
	if a.Subscriptions == "" {
		a.Subscriptions = "allowed"
	}
}

// Secret returns the account's password from wherever the config says.
func (a *Account) Secret() (string, error) {
	return secretFrom(a.Password, a.PasswordFile, a.PasswordEnv, "password_file")
}

// secretFrom reads a secret given inline, in a file or in an environment
// variable.
func secretFrom(inline, file, env, fileKey string) (string, error) {
	switch {
	case inline != "":
		return inline, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", fileKey, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	default:
		return os.Getenv(env), nil
	}
}

// Allowed reports whether bare JID peer may call or send to this account.
func (a *Account) Allowed(peer string) bool {
	_, own, _ := strings.Cut(a.JID, "@")
	return matchJID(a.Allow, peer, own)
}

// matchJID reports whether peer (bare or full JID) matches list: a bare
// JID, a domain, or "*". An empty list admits the users of ownDomain.
func matchJID(list []string, peer, ownDomain string) bool {
	if i := strings.IndexByte(peer, '/'); i >= 0 {
		peer = peer[:i]
	}
	_, domain, _ := strings.Cut(peer, "@")
	if len(list) == 0 {
		return strings.EqualFold(domain, ownDomain)
	}
	for _, x := range list {
		if x == "*" || strings.EqualFold(x, peer) || (!strings.Contains(x, "@") && strings.EqualFold(x, domain)) {
			return true
		}
	}
	return false
}

// validate checks the [conference] table.
func (c *Conference) validate() error {
	bad := func(sub, format string, args ...any) error {
		return fmt.Errorf("%w: conference.%s: %s", ErrInvalid, sub, fmt.Sprintf(format, args...))
	}
	if c.Domain == "" || strings.ContainsAny(c.Domain, "@/ ") || !strings.Contains(c.Domain, ".") && c.Domain != "localhost" {
		return bad("domain", "%q is not a component domain such as call.example.org", c.Domain)
	}
	n := 0
	for _, s := range []string{c.Secret, c.SecretFile, c.SecretEnv} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return bad("secret", "give exactly one of secret, secret_file, secret_env (the component secret the XMPP server expects)")
	}
	if c.SecretFile != "" {
		if err := readable(c.SecretFile); err != nil {
			return bad("secret_file", "%v", err)
		}
	}
	if c.SecretEnv != "" && os.Getenv(c.SecretEnv) == "" {
		return bad("secret_env", "environment variable %s is empty or unset", c.SecretEnv)
	}
	if c.Server != "" {
		if err := checkHostPort(c.Server); err != nil {
			return bad("server", "%v", err)
		}
	}
	for key, v := range map[string]int{"max_rooms": c.MaxRooms, "max_participants": c.MaxParticipants, "max_speakers": c.MaxSpeakers} {
		if v < 0 {
			return bad(key, "must not be negative")
		}
	}
	return nil
}

// Defaults fills what the [conference] table left out.
func (c *Conference) Defaults() {
	if c.Server == "" {
		c.Server = "127.0.0.1:5347"
	}
	if c.MaxRooms == 0 {
		c.MaxRooms = 100
	}
	if c.MaxParticipants == 0 {
		c.MaxParticipants = 32
	}
	if c.MaxSpeakers == 0 {
		c.MaxSpeakers = 3
	}
	if c.Announce == nil {
		t := true
		c.Announce = &t
	}
}

func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	_ = host
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%q: port %q is not 0..65535", s, port)
	}
	return nil
}

func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", path, errors.Unwrap(err))
	}
	return f.Close()
}
