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
