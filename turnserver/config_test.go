package turnserver

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestConfigFromTOML(t *testing.T) {
	const doc = `
realm = "example.org"
port = 3479
external_ip = "203.0.113.10"
relay_port_min = 50000
relay_port_max = 50100
secrets = ["new", "old"]
allow_peers = ["192.168.0.0/16"]
allocation_lifetime = "20m"
shutdown_grace = "5s"
[users]
alice = "wonderland"
`
	var c Config
	if _, err := toml.Decode(doc, &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.AllocationLifetime != 20*time.Minute || c.ShutdownGrace != 5*time.Second {
		t.Fatalf("durations: %v %v", c.AllocationLifetime, c.ShutdownGrace)
	}
	if c.Users["alice"] != "wonderland" || len(c.Secrets) != 2 || c.Port != 3479 {
		t.Fatalf("decoded %+v", c)
	}
	d := c.withDefaults()
	if d.TLSPort != 5349 || d.Address != "0.0.0.0" || d.MaxAllocationsPerUser != 20 {
		t.Fatalf("defaults: %+v", d)
	}
}

func TestConfigValidate(t *testing.T) {
	base := func() Config { return Config{Secrets: []string{"x"}} }
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want error
		key  string // the TOML key the error must name
	}{
		{"ok", func(*Config) {}, nil, ""},
		{"no credentials", func(c *Config) { c.Secrets = nil }, ErrInvalidConfig, "secrets"},
		{"empty secret", func(c *Config) { c.Secrets = []string{""} }, ErrInvalidConfig, "secrets"},
		{"bad address", func(c *Config) { c.Address = "localhost" }, ErrInvalidConfig, "address"},
		{"unspecified external", func(c *Config) { c.ExternalIP = "0.0.0.0" }, ErrInvalidConfig, "external_ip"},
		{"range reversed", func(c *Config) { c.RelayPortMin, c.RelayPortMax = 60000, 50000 }, ErrInvalidConfig, "relay_port_min"},
		{"half tls", func(c *Config) { c.TLSCert = "a.pem" }, ErrInvalidConfig, "tls_key"},
		{"all off", func(c *Config) { c.DisableTCP, c.DisableUDP = true, true }, ErrInvalidConfig, "disable_udp"},
		{"lifetime too long", func(c *Config) { c.AllocationLifetime = 2 * time.Hour }, ErrInvalidConfig, "allocation_lifetime"},
		{"bad cidr", func(c *Config) { c.DenyPeers = []string{"10.0.0.0/33"} }, ErrInvalidConfig, "deny_peers"},
		{"negative", func(c *Config) { c.UserBandwidth = -1 }, ErrInvalidConfig, "user_bandwidth"},
		{"lan opt-in", func(c *Config) { c.AllowPeers = []string{"10.0.0.0/8", "fd12:3456::/32"} }, nil, ""},
		{"everything", func(c *Config) { c.AllowPeers = []string{"0.0.0.0/0"} }, ErrWideOpenPolicy, "allow_peers"},
		{"all v6", func(c *Config) { c.AllowPeers = []string{"::/0"} }, ErrWideOpenPolicy, "allow_peers"},
		{"metadata", func(c *Config) { c.AllowPeers = []string{"169.254.0.0/16"} }, ErrWideOpenPolicy, "allow_peers"},
		{"metadata v6", func(c *Config) { c.AllowPeers = []string{"fd00::/8"} }, ErrWideOpenPolicy, "allow_peers"},
		{"wide but told", func(c *Config) { c.AllowPeers, c.AllowWideOpenPeers = []string{"0.0.0.0/0"}, true }, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mod(&c)
			err := c.Validate()
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Validate = %v, want %v", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("Validate = %v, want it to name %q", err, tc.key)
			}
		})
	}
}
