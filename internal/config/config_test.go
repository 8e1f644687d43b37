package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const good = `
[log]
level = "info"

[http]
listen = "127.0.0.1:9100"

[turn]
enabled = true
address = "127.0.0.1"
port = 3478
secrets = ["s3cret"]

[[account]]
jid = "echo@example.org"
password_env = "TEST_ECHO_PW"
role = "echo"
max_duration = "90s"
allow = ["*"]
`

func TestParseGood(t *testing.T) {
	t.Setenv("TEST_ECHO_PW", "pw")
	c, err := Parse([]byte(good), t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.TURN.Enabled || c.TURN.Port != 3478 || len(c.TURN.Secrets) != 1 {
		t.Fatalf("turn section not decoded: %+v", c.TURN)
	}
	a := c.Accounts[0]
	if a.MaxDuration.Value().Seconds() != 90 {
		t.Fatalf("max_duration = %v", a.MaxDuration)
	}
	if pw, _ := a.Secret(); pw != "pw" {
		t.Fatalf("secret = %q", pw)
	}
}

func TestOverrides(t *testing.T) {
	t.Setenv("TEST_ECHO_PW", "pw")
	env := []string{"JINGLED_TURN__PORT=3479", "JINGLED_LOG__LEVEL=debug", "PATH=/bin", "JINGLED_NETNS=x", "JINGLED_CONFIG=/etc/j.toml"}
	c, err := Parse([]byte(good), "", env, []string{"http.listen=127.0.0.1:9200", "account.0.role=record", "account.0.dir=/tmp"})
	if err != nil {
		t.Fatal(err)
	}
	if c.TURN.Port != 3479 || c.Log.Level != "debug" || c.HTTP.Listen != "127.0.0.1:9200" {
		t.Fatalf("overrides not applied: port %d level %q listen %q", c.TURN.Port, c.Log.Level, c.HTTP.Listen)
	}
	if c.Accounts[0].Role != RoleRecord {
		t.Fatalf("account override not applied: %q", c.Accounts[0].Role)
	}
}

// Each invalid config fails with an error naming the offending key.
func TestInvalid(t *testing.T) {
	t.Setenv("TEST_ECHO_PW", "pw")
	dir := t.TempDir()
	unreadable := filepath.Join(dir, "missing.pem")
	playable := filepath.Join(dir, "tone.wav")
	if err := os.WriteFile(playable, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, old, new, wantKey string
	}{
		{"unknown key", `[log]`, "[log]\ncolour = \"red\"", "log.colour"},
		{"unknown table key", `port = 3478`, "port = 3478\nprot = 1", "turn.prot"},
		{"bad port", `port = 3478`, `port = 70000`, "turn"},
		{"bad http port", `127.0.0.1:9100`, `127.0.0.1:99999`, "http.listen"},
		{"missing secret", `secrets = ["s3cret"]`, ``, "turn"},
		{"unreadable cert", `secrets = ["s3cret"]`, "secrets = [\"s3cret\"]\ntls_cert = \"" + unreadable + "\"\ntls_key = \"" + unreadable + "\"", "turn.tls_cert"},
		{"bad role", `role = "echo"`, `role = "karaoke"`, "account[0].role"},
		{"bad jid", `echo@example.org`, `echo`, "account[0].jid"},
		{"no password", `password_env = "TEST_ECHO_PW"`, ``, "account[0].password_file"},
		{"bad duration", `"90s"`, `"ninety"`, "max_duration"},
		{"bad level", `level = "info"`, `level = "loud"`, "log.level"},
		{"bad rtp_codec", `role = "echo"`, "role = \"play\"\nrtp_listen = \"127.0.0.1:5004\"\nrtp_codec = \"G729\"", "account[0].rtp_codec"},
		{"rtp_codec without rtp_listen", `role = "echo"`, "role = \"play\"\nfile = \"" + playable + "\"\nrtp_codec = \"PCMU\"", "account[0].rtp_codec"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(good, tc.old, tc.new, 1)
			_, err := Parse([]byte(src), dir, nil, nil)
			if err == nil {
				t.Fatalf("accepted:\n%s", src)
			}
			if !strings.Contains(err.Error(), tc.wantKey) {
				t.Fatalf("error %q does not name %q", err, tc.wantKey)
			}
			if tc.name != "bad duration" && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %q is not ErrInvalid", err)
			}
		})
	}
}

func TestAllowed(t *testing.T) {
	a := Account{JID: "echo@example.org"}
	if !a.Allowed("alice@example.org/phone") || a.Allowed("mallory@evil.example") {
		t.Fatal("default allow-list should be the account's own domain")
	}
	a.Allow = []string{"friend.example", "bob@other.example"}
	for peer, want := range map[string]bool{"x@friend.example": true, "bob@other.example/r": true, "eve@other.example": false, "alice@example.org": false} {
		if got := a.Allowed(peer); got != want {
			t.Errorf("Allowed(%q) = %v, want %v", peer, got, want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"), nil, nil)
	if err == nil || !os.IsNotExist(errors.Unwrap(err)) {
		t.Fatalf("err = %v", err)
	}
}

// The documented example must stay valid: every key known, every value
// accepted, once the files it names exist.
func TestExampleConfigIsValid(t *testing.T) {
	raw, err := os.ReadFile("../../docs/jingled.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := strings.NewReplacer("/etc/jingled/", dir+"/", "/srv/jingled/", dir+"/", "/var/lib/jingled/", dir+"/").Replace(string(raw))
	for _, f := range []string{"echo.password", "voicemail.password", "radio.password", "drop.password", "music.ogg"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Parse([]byte(src), dir, nil, nil)
	if err != nil {
		t.Fatalf("docs/jingled.example.toml: %v", err)
	}
	if !c.TURN.Enabled || len(c.Accounts) != 4 {
		t.Fatalf("example decoded as turn=%v with %d accounts", c.TURN.Enabled, len(c.Accounts))
	}
}

// The relay's UDP event loop is the default for a relay alone; beside
// accounts (calls, transfers in the same process) it is off unless the file
// says otherwise.
func TestUDPLoopDefault(t *testing.T) {
	t.Setenv("TEST_ECHO_PW", "pw")
	relayOnly := good[:strings.Index(good, "[[account]]")]
	for _, tc := range []struct {
		name, doc   string
		sets        []string
		wantDisable bool
	}{
		{"relay alone", relayOnly, nil, false},
		{"beside accounts", good, nil, true},
		{"beside accounts, asked for", good, []string{"turn.disable_udp_loop=false"}, false},
		{"beside accounts, loops set", good, []string{"turn.udp_loops=1", "turn.udp_sockets=1"}, false},
		{"relay alone, turned off", relayOnly, []string{"turn.disable_udp_loop=true"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.doc), t.TempDir(), nil, tc.sets)
			if err != nil {
				t.Fatal(err)
			}
			if c.TURN.DisableUDPLoop != tc.wantDisable {
				t.Fatalf("disable_udp_loop = %v, want %v", c.TURN.DisableUDPLoop, tc.wantDisable)
			}
		})
	}
}

// TestEchoDelay: echo_delay defaults to 1s on the echo role, "0s" keeps
// the immediate echo, and out-of-range values or other roles are refused.
func TestEchoDelay(t *testing.T) {
	t.Setenv("TEST_ECHO_PW", "pw")
	for _, c := range []struct {
		name, extra, role string
		want              string // "" means an error naming echo_delay
	}{
		{"default", "", "echo", "1s"},
		{"zero keeps the immediate echo", `echo_delay = "0s"`, "echo", "0s"},
		{"two seconds", `echo_delay = "2s"`, "echo", "2s"},
		{"negative", `echo_delay = "-1s"`, "echo", ""},
		{"too long", `echo_delay = "11s"`, "echo", ""},
		{"not the echo role", `echo_delay = "1s"`, "record", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := strings.Replace(good, `role = "echo"`, "role = \""+c.role+"\"\ndir = \"/tmp\"\n"+c.extra, 1)
			conf, err := Parse([]byte(cfg), t.TempDir(), nil, nil)
			if c.want == "" {
				if err == nil || !strings.Contains(err.Error(), "echo_delay") {
					t.Fatalf("want an echo_delay error, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a := conf.Accounts[0]
			a.Defaults()
			if got := a.EchoDelayValue().String(); got != c.want {
				t.Fatalf("echo_delay %s, want %s", got, c.want)
			}
		})
	}
}

// TestMaxCalls: max_calls defaults to 64, takes values up to the limit,
// and refuses negative or larger ones, naming the key.
func TestMaxCalls(t *testing.T) {
	t.Setenv("TEST_ECHO_PW", "pw")
	for _, c := range []struct {
		name, extra string
		want        int // 0 means an error naming max_calls
	}{
		{"default", "", DefaultMaxCalls},
		{"a thousand", "max_calls = 1000", 1000},
		{"negative", "max_calls = -1", 0},
		{"above the limit", fmt.Sprintf("max_calls = %d", MaxCallsLimit+1), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := strings.Replace(good, `role = "echo"`, "role = \"echo\"\n"+c.extra, 1)
			conf, err := Parse([]byte(cfg), t.TempDir(), nil, nil)
			if c.want == 0 {
				if err == nil || !strings.Contains(err.Error(), "max_calls") {
					t.Fatalf("want a max_calls error, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a := conf.Accounts[0]
			a.Defaults()
			if a.MaxCalls != c.want {
				t.Fatalf("max_calls %d, want %d", a.MaxCalls, c.want)
			}
		})
	}
}
