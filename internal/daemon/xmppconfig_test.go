package daemon

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMainPrintsXMPPConfig: jingled --xmpp-config prints, from the relay's
// own [turn] table, the Prosody and ejabberd configuration announcing the
// advertised services, TURN over TLS on 443 included.
func TestMainPrintsXMPPConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jingled.toml")
	for _, f := range []string{"cert.pem", "key.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("checked at start, not here"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	conf := `[turn]
enabled = true
realm = "example.org"
public_host = "turn.example.org"
tls_cert = "cert.pem"
tls_key = "key.pem"
tls_port = 443
advertise = ["udp:3478", "tcp:3478", "tls:443"]
secrets = ["shared-secret"]
`
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		server string
		code   int
		want   []string
	}{
		{"prosody", 0, []string{
			`{ type = "turns", transport = "tcp", host = "turn.example.org", port = 443, secret = "shared-secret", algorithm = "turn", ttl = 86400 };`,
			`{ type = "turn", transport = "tcp", host = "turn.example.org", port = 3478,`,
		}},
		{"ejabberd", 0, []string{"mod_stun_disco:", "        port: 443\n        type: turns\n        transport: tcp\n        restricted: true"}},
		{"openfire", 2, nil},
	}
	for _, c := range cases {
		t.Run(c.server, func(t *testing.T) {
			var out, errs bytes.Buffer
			code := Main([]string{"--config", path, "--xmpp-config", c.server}, &out, &errs)
			if code != c.code {
				t.Fatalf("exit %d, want %d: %s", code, c.code, errs.String())
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}
