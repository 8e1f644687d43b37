// Package status tests jingled's status page in a real browser: the
// built jingled serves an echo account on a real Prosody, the built
// jingle CLI calls it, and headless Chromium (Debian's chromium) loads
// the page during the call; the test reads the DOM Chromium built and
// keeps a phone-sized screenshot.
//
// Run with `go test -artifacts -outputdir DIR ./tests/status/` to keep
// the screenshots (DIR/TestStatusPageInBrowser/...); without -artifacts
// they go to a temporary directory removed after the test. The test logs
// where they are.
package status

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/proctest"
	"github.com/jingled/jingled/internal/prosodytest"
)

var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // make test-unit: no Prosody, no browser
	}
	dir, err := proctest.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := prosodytest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

func bin(name string) string { return filepath.Join(binDir, name) }

// chromiumHint tells a developer how to get the browser.
const chromiumHint = "install it with `apt-get install chromium` (or `make deps`)"

// chromium runs headless Chromium on a loopback URL with everything that
// would talk to the network on its own turned off, and a fresh profile.
// It refuses any other URL: the suite never leaves this machine.
func chromium(ctx context.Context, t *testing.T, pageURL string, args ...string) string {
	t.Helper()
	u, err := url.Parse(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(u.Hostname()); u.Scheme != "http" || ip == nil || !ip.IsLoopback() {
		t.Fatalf("chromium may load loopback URLs only, not %s", pageURL)
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not found in PATH: %s", chromiumHint)
	}
	profile := t.TempDir()
	base := []string{
		"--headless=new", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--no-first-run", "--disable-component-update",
		"--disable-sync", "--disable-default-apps", "--disable-extensions", "--disable-breakpad",
		"--no-default-browser-check", "--disable-domain-reliability", "--no-pings",
		"--metrics-recording-only", "--no-proxy-server",
		// Names resolve to nothing (MAP * covers IP literals too, so
		// the page's own address is excepted): only loopback loads.
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE " + u.Hostname(),
		"--user-data-dir=" + profile,
	}
	cmd := exec.CommandContext(ctx, path, append(append(base, args...), pageURL)...)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// dom loads the page in Chromium and parses the DOM it built.
func dom(ctx context.Context, t *testing.T, pageURL string) []proctest.Element {
	t.Helper()
	page := chromium(ctx, t, pageURL, "--dump-dom")
	els, err := proctest.Elements(page)
	if err != nil {
		t.Fatal(err)
	}
	// Chromium exits 0 when the load failed too, with its error page.
	if title := proctest.Find(els, "title"); len(title) != 1 || !strings.HasPrefix(title[0].Text, "jingled") {
		t.Fatalf("chromium did not load the status page:\n%s", page)
	}
	return els
}

// screenshot saves a phone-sized (412x900 CSS pixels) picture of the
// page to file and checks it is a PNG of that width.
func screenshot(ctx context.Context, t *testing.T, pageURL, file string) {
	t.Helper()
	chromium(ctx, t, pageURL, "--screenshot="+file, "--window-size=412,900", "--hide-scrollbars", "--force-device-scale-factor=1")
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", file, err)
	}
	if cfg.Width != 412 || cfg.Height != 900 {
		t.Errorf("screenshot is %dx%d, want 412x900", cfg.Width, cfg.Height)
	}
	t.Logf("screenshot: %s", file)
}

// statusJSON is the part of /status.json the test reads.
type statusJSON struct {
	Live struct {
		Calls    int `json:"calls"`
		Sessions []struct {
			Kind, State, Peer string
		} `json:"sessions"`
	} `json:"live"`
	Totals struct {
		CallsEnded int `json:"calls_ended"`
	} `json:"totals"`
	Recent struct {
		Calls []struct {
			Kind            string `json:"kind"`
			Peer            string `json:"peer"`
			Outcome         string `json:"outcome"`
			Media           bool   `json:"media"`
			Setup           int64  `json:"setup_ns"`
			LocalCandidate  string `json:"local_candidate"`
			RemoteCandidate string `json:"remote_candidate"`
			Relayed         bool   `json:"relayed"`
		} `json:"calls"`
		Relayed int `json:"relayed"`
	} `json:"recent"`
}

func getStatus(base string) (statusJSON, string, error) {
	var s statusJSON
	resp, err := http.Get(base + "/status.json")
	if err != nil {
		return s, "", err
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		return s, "", err
	}
	return s, string(raw), json.Unmarshal(raw, &s)
}

// waitStatus polls /status.json until ok holds; the bound is generous
// (a busy machine), not a measurement.
func waitStatus(t *testing.T, base, what string, ok func(statusJSON) bool) statusJSON {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s, raw, err := getStatus(base)
		if err == nil && ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("status.json never showed %s (err %v):\n%s", what, err, raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestStatusPageInBrowser: during a live call into jingled's echo
// account, Chromium shows one live audio call, the account online,
// health ok and jingled's version, and no caller JID (status_jids is
// off by default); after the call it shows the call among the recent
// ones, which /status.json describes (set-up time, host pair, no relay).
func TestStatusPageInBrowser(t *testing.T) {
	if binDir == "" {
		t.Skip("runs the built binaries, Prosody and Chromium; not in -short")
	}
	srv := prosodytest.Shared(t)
	dir := t.TempDir()
	alice, echo := srv.NewAccount(t, "alice"), srv.NewAccount(t, "echo")
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	httpPort, turnPort := proctest.FreePort(t), proctest.FreePort(t)
	config := write("jingled.toml", fmt.Sprintf(`
[http]
listen = "127.0.0.1:%d"
[ice]
loopback_only = true
discover = false
[turn]
enabled = true
address = "127.0.0.1"
port = %d
disable_udp_loop = true
secrets = ["status-page-test-secret"]
[[account]]
jid = %q
password_file = %q
server = %q
ca_file = %q
role = "echo"
echo_delay = "0s"
allow = ["*"]
max_duration = "120s"
`, httpPort, turnPort, echo.JID, write("echo.pw", echo.Password), srv.Addr, srv.CAFile))
	d := proctest.StartJingled(t, bin("jingled"), config, httpPort)
	out, stderr, code, err := proctest.RunCLI(context.Background(), bin("jingled"), "--version")
	if err != nil || code != 0 || len(out) != 1 {
		t.Fatalf("jingled --version: %v %d %q %s", err, code, out, stderr)
	}
	version := strings.TrimPrefix(out[0], "jingled ")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tone := filepath.Join(dir, "tone.ogg")
	if err := mediatest.SineOpus(ctx, tone, 440, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	call := proctest.StartCLI(t, bin("jingle"), "call", echo.JID, "--audio", tone, "--loopback", "--no-discover", "--json",
		"--jid", alice.JID, "--password-file", write("alice.pw", alice.Password), "--server", srv.Addr, "--ca", srv.CAFile)
	call.Event(ctx, t, "media") // the echo came back: jingled has the call's first media
	waitStatus(t, d.URL, "the live call", func(s statusJSON) bool { return s.Live.Calls == 1 })

	artifacts := t.ArtifactDir()
	t.Logf("artifacts (screenshots): %s", artifacts)
	during := dom(ctx, t, d.URL+"/")
	screenshot(ctx, t, d.URL+"/", filepath.Join(artifacts, "status-during-call.png"))
	for id, want := range map[string]string{
		"health":            "ok",
		"version":           version,
		"live-calls":        "1",
		"live-transfers":    "0",
		"relay-allocations": "0",
	} {
		if got, ok := proctest.ByID(during, id); !ok || got != want {
			t.Errorf("#%s = %q (found %v), want %q", id, got, ok, want)
		}
	}
	if m := proctest.Find(during, "li", "data-kind=audio"); len(m) != 1 || m[0].Text != "1 audio" {
		t.Errorf("live calls by kind: audio %+v, want \"1 audio\"", m)
	}
	if m := proctest.Find(during, "tr", "class=session", "data-kind=audio", "data-state=active"); len(m) != 1 {
		t.Errorf("live sessions: %+v, want one active audio session", proctest.Find(during, "tr", "class=session"))
	}
	if m := proctest.Find(during, "tr", "class=account", "data-jid="+echo.JID, "data-state=online"); len(m) != 1 {
		t.Errorf("account %s not online: %+v", echo.JID, proctest.Find(during, "tr", "class=account"))
	}
	for _, e := range during {
		if strings.Contains(e.Text, alice.Local+"@") {
			t.Errorf("the caller's JID is on the page with status_jids off: <%s> %q", e.Tag, e.Text)
			break
		}
	}

	// Ctrl-C: the CLI hangs up with session-terminate.
	if err := call.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := call.Wait(t, 30*time.Second); code != 130 {
		t.Errorf("jingle call after Ctrl-C: exit %d, want 130", code)
	}
	s := waitStatus(t, d.URL, "the ended call", func(s statusJSON) bool { return s.Live.Calls == 0 && len(s.Recent.Calls) == 1 })
	c := s.Recent.Calls[0]
	if c.Kind != "audio" || c.Outcome != "success" || !c.Media || c.Setup <= 0 || c.Peer != "" {
		t.Errorf("recent call: %+v, want an audio call that ended with success, had media and a set-up time, peer hidden", c)
	}
	if c.LocalCandidate != "host" || c.RemoteCandidate != "host" || c.Relayed || s.Recent.Relayed != 0 {
		t.Errorf("recent call's pair %s/%s relayed %v (%d relayed), want host/host on loopback", c.LocalCandidate, c.RemoteCandidate, c.Relayed, s.Recent.Relayed)
	}
	if s.Totals.CallsEnded != 1 {
		t.Errorf("calls ended: %d, want 1", s.Totals.CallsEnded)
	}
	after := dom(ctx, t, d.URL+"/")
	screenshot(ctx, t, d.URL+"/", filepath.Join(artifacts, "status-after-call.png"))
	for id, want := range map[string]string{"live-calls": "0", "recent-count": "1", "recent-relayed": "0"} {
		if got, ok := proctest.ByID(after, id); !ok || got != want {
			t.Errorf("after the call: #%s = %q (found %v), want %q", id, got, ok, want)
		}
	}
	if m := proctest.Find(after, "tr", "class=call", "data-kind=audio"); len(m) != 1 || !strings.Contains(m[0].Text, "host/host") {
		t.Errorf("recent calls: %+v, want one audio call on host/host", m)
	}
	metrics := d.Scrape(t)
	if v := proctest.MetricValue(metrics, "jingled_call_setup_seconds_count"); v != 1 {
		t.Errorf("jingled_call_setup_seconds_count = %v, want 1", v)
	}
	if v := proctest.MetricValue(metrics, "jingled_call_candidate_pairs_total", `local="host"`, `remote="host"`); v != 1 {
		t.Errorf("jingled_call_candidate_pairs_total{host,host} = %v, want 1", v)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("the test ran out of time")
	}
}
