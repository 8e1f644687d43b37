package turnserver

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestAdvertised(t *testing.T) {
	withTLS := func(c Config) Config { c.TLSCert, c.TLSKey = "c.pem", "k.pem"; return c }
	base := Config{PublicHost: "turn.example.org", Secrets: []string{"s"}}
	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"defaults without TLS", base, []string{
			"stun:turn.example.org:3478", "turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp"}},
		{"defaults with TLS", withTLS(base), []string{
			"stun:turn.example.org:3478", "turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp",
			"turns:turn.example.org:5349?transport=tcp"}},
		{"tls_port 443", func() Config { c := withTLS(base); c.TLSPort = 443; return c }(), []string{
			"stun:turn.example.org:3478", "turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp",
			"turns:turn.example.org:443?transport=tcp"}},
		{"disabled listeners are not announced", func() Config { c := withTLS(base); c.DisableUDP, c.DisableTCP = true, true; return c }(),
			[]string{"turns:turn.example.org:5349?transport=tcp"}},
		{"explicit list, ports behind a forward", func() Config {
			c := withTLS(base)
			c.Advertise = []string{"udp:3478", "TLS:443", "tcp:443", "tls:443"}
			return c
		}(), []string{
			"stun:turn.example.org:3478", "turn:turn.example.org:3478?transport=udp",
			"turns:turn.example.org:443?transport=tcp", "turn:turn.example.org:443?transport=tcp"}},
		{"host from external_ip", Config{ExternalIP: "203.0.113.10", Advertise: []string{"tls:443"}},
			[]string{"turns:203.0.113.10:443?transport=tcp"}},
		{"IPv6 host", Config{Address: "2001:db8::1", Advertise: []string{"udp:3478"}},
			[]string{"stun:[2001:db8::1]:3478", "turn:[2001:db8::1]:3478?transport=udp"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.cfg.Advertised()
			if err != nil {
				t.Fatal(err)
			}
			var urls []string
			for _, s := range got {
				urls = append(urls, s.URL())
			}
			if !reflect.DeepEqual(urls, c.want) {
				t.Errorf("got %q\nwant %q", urls, c.want)
			}
		})
	}
}

func TestAdvertiseInvalid(t *testing.T) {
	for _, e := range []string{"443", "tls", "tls:0", "tls:65536", "dtls:443", "tls:https", "udp:3478:1"} {
		t.Run(e, func(t *testing.T) {
			c := Config{Secrets: []string{"s"}, Advertise: []string{e}}
			err := c.Validate()
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "advertise") {
				t.Errorf("Validate() = %v, want an advertise error", err)
			}
		})
	}
	c := Config{Secrets: []string{"s"}, PublicHost: "turns://turn.example.org/"}
	if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "public_host") {
		t.Errorf("Validate() = %v, want a public_host error", err)
	}
}

func TestXMPPConfigs(t *testing.T) {
	c := Config{PublicHost: "turn.example.org", Secrets: []string{`new"secret\`, "old"}, TLSCert: "c", TLSKey: "k", TLSPort: 443}
	p, err := ProsodyConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`{ type = "stun", transport = "udp", host = "turn.example.org", port = 3478 };`,
		`{ type = "turn", transport = "udp", host = "turn.example.org", port = 3478, secret = "new\"secret\\", algorithm = "turn", ttl = 86400 };`,
		`{ type = "turn", transport = "tcp", host = "turn.example.org", port = 3478, secret = "new\"secret\\", algorithm = "turn", ttl = 86400 };`,
		`{ type = "turns", transport = "tcp", host = "turn.example.org", port = 443, secret = "new\"secret\\", algorithm = "turn", ttl = 86400 };`,
	} {
		if !strings.Contains(p, want) {
			t.Errorf("Prosody config lacks %s:\n%s", want, p)
		}
	}
	e, err := EjabberdConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`secret: "new\"secret\\"`,
		"      - host: \"turn.example.org\"\n        port: 443\n        type: turns\n        transport: tcp\n        restricted: true\n",
		"      - host: \"turn.example.org\"\n        port: 3478\n        type: stun\n        transport: udp\n        restricted: false\n",
	} {
		if !strings.Contains(e, want) {
			t.Errorf("ejabberd config lacks %q:\n%s", want, e)
		}
	}
	if _, err := ProsodyConfig(Config{Secrets: []string{"s"}}); !errors.Is(err, errNoPublicHost) {
		t.Errorf("without a host: %v", err)
	}
	if _, err := EjabberdConfig(Config{PublicHost: "h", Users: map[string]string{"u": "p"}}); !errors.Is(err, errNoSharedSecret) {
		t.Errorf("without a secret: %v", err)
	}
	if got := luaString("é\n"); got != `"\195\169\010"` {
		t.Errorf("luaString = %s", got)
	}
}

func TestAdvertiseWarnings(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"default list: nothing to warn", Config{}, nil},
		{"tls without a certificate", Config{PublicHost: "h", Advertise: []string{"udp:3478", "tls:443"}},
			[]string{"advertise: turns:h:443?transport=tcp, but no tls_cert is set"}},
		{"disabled listeners", Config{PublicHost: "h", DisableUDP: true, DisableTCP: true, TLSCert: "c", TLSKey: "k",
			Advertise: []string{"udp:3478", "tcp:3478", "tls:5349"}},
			[]string{"advertise: turn:h:3478?transport=udp, but disable_udp", "advertise: turn:h:3478?transport=tcp, but disable_tcp"}},
		{"served", Config{PublicHost: "h", TLSCert: "c", TLSKey: "k", Advertise: []string{"udp:3478", "tcp:443", "tls:443"}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.cfg.advertiseWarnings()
			if len(got) != len(c.want) {
				t.Fatalf("warnings %q, want %d like %q", got, len(c.want), c.want)
			}
			for i, w := range c.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("warning %q, want it to start with %q", got[i], w)
				}
			}
		})
	}
}
