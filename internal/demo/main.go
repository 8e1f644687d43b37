// Command demo is `make demo`: it starts a throwaway Prosody and jingled
// (TURN relay, an echo account and a filedrop account) on loopback, makes
// an echo test call with a generated tone using the real `jingle` binary
// and checks the echoed audio, sends a file to the filedrop account and
// checks its hash, prints a summary, and cleans up.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/prosodytest"
)

func main() {
	bin := flag.String("bin", "bin", "directory holding the jingled and jingle binaries")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	tone := flag.Float64("tone", 440, "test tone frequency in Hz")
	seconds := flag.Int("seconds", 6, "call length in seconds")
	fileMiB := flag.Int("file-mib", 20, "size of the file sent to the filedrop account")
	flag.Parse()
	if err := run(*bin, *keep, *tone, *seconds, *fileMiB); err != nil {
		fmt.Fprintf(os.Stderr, "\ndemo FAILED: %v\n", err)
		os.Exit(1)
	}
}

func say(format string, args ...any) { fmt.Printf("==> "+format+"\n", args...) }

func run(bin string, keep bool, toneHz float64, seconds, fileMiB int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	for _, b := range []string{"jingled", "jingle"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return fmt.Errorf("%s/%s missing: run `make build` first", bin, b)
		}
	}
	dir, err := os.MkdirTemp("", "jingled-demo-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	turnPort, err := freePort()
	if err != nil {
		return err
	}
	const secret = "demo-shared-secret"
	say("starting Prosody on loopback (throwaway config in %s)", dir)
	srv, err := prosodytest.Start(ctx, filepath.Join(dir, "prosody"), prosodytest.WithProxy65(),
		prosodytest.WithTURNExternal(prosodytest.TURNExternal{Secret: secret, Host: "127.0.0.1", Port: turnPort}))
	if err != nil {
		return fmt.Errorf("prosody: %w", err)
	}
	defer srv.Close()
	alice, err := srv.CreateAccount(ctx, "alice", randomPassword())
	if err != nil {
		return err
	}
	echo, err := srv.CreateAccount(ctx, "echo", randomPassword())
	if err != nil {
		return err
	}
	drop, err := srv.CreateAccount(ctx, "drop", randomPassword())
	if err != nil {
		return err
	}
	fmt.Printf("    accounts: %s (you), %s (echo service), %s (file drop)\n", alice.JID, echo.JID, drop.JID)

	dropDir := filepath.Join(dir, "incoming")
	httpPort, err := freePort()
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(dir, "jingled.toml")
	if err := os.WriteFile(filepath.Join(dir, "echo.pw"), []byte(echo.Password), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "drop.pw"), []byte(drop.Password), 0o600); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`
[log]
level = "info"

[http]
listen = "127.0.0.1:%d"

[turn]
enabled = true
realm = %q
address = "127.0.0.1"
port = %d
udp_sockets = 1
relay_port_min = 40000
relay_port_max = 40999
secrets = [%q]
# The demo's peers are all on loopback, which the relay refuses by default.
allow_peers = ["127.0.0.0/8"]

[ice]
loopback_only = true

[[account]]
jid = %q
password_file = "echo.pw"
server = %q
ca_file = %q
role = "echo"
allow = ["*"]
max_duration = "30s"
# The demo's caller has no echo canceller and measures the set-up time:
# echo at once (echo-test services for people wait about a second).
echo_delay = "0s"

[[account]]
jid = %q
password_file = "drop.pw"
server = %q
ca_file = %q
role = "filedrop"
dir = %q
allow = [%q]
`, httpPort, srv.Domain, turnPort, secret, echo.JID, srv.Addr, srv.CAFile, drop.JID, srv.Addr, srv.CAFile, dropDir, alice.JID)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	say("starting jingled (TURN relay on 127.0.0.1:%d, echo and filedrop accounts)", turnPort)
	daemonLog, err := os.Create(filepath.Join(dir, "jingled.log"))
	if err != nil {
		return err
	}
	defer daemonLog.Close()
	jd := exec.Command(filepath.Join(bin, "jingled"), "--config", cfgPath)
	jd.Stdout, jd.Stderr = daemonLog, daemonLog
	if err := jd.Start(); err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = jd.Process.Kill()
			_ = jd.Wait()
		}
	}()
	if err := waitHealthy(ctx, fmt.Sprintf("http://127.0.0.1:%d/healthz", httpPort), 30*time.Second); err != nil {
		tail, _ := os.ReadFile(daemonLog.Name())
		return fmt.Errorf("jingled did not become healthy: %w\n%s", err, tail)
	}

	// 1. The echo test call.
	tonePath := filepath.Join(dir, "tone.ogg")
	if err := mediatest.SineOpus(ctx, tonePath, toneHz, time.Duration(seconds)*time.Second); err != nil {
		return fmt.Errorf("making the test tone: %w", err)
	}
	pwFile := filepath.Join(dir, "alice.pw")
	if err := os.WriteFile(pwFile, []byte(alice.Password), 0o600); err != nil {
		return err
	}
	common := []string{"--jid", alice.JID, "--password-file", pwFile, "--server", srv.Addr, "--ca", srv.CAFile}
	say("calling %s with a %.0f Hz tone for %d s (jingle call)", echo.JID, toneHz, seconds)
	back := filepath.Join(dir, "echoed")
	callOut, err := runJSON(ctx, filepath.Join(bin, "jingle"), append(append([]string{"call"}, common...),
		echo.JID, "--audio", tonePath, "--record", back, "--duration", fmt.Sprintf("%ds", seconds), "--loopback", "--json"))
	if err != nil {
		return fmt.Errorf("jingle call: %w", err)
	}
	var call struct {
		Reason  string  `json:"reason"`
		SetupMS float64 `json:"setup_ms"`
		Stats   struct {
			PacketsSent     uint64  `json:"packets_sent"`
			PacketsReceived uint64  `json:"packets_received"`
			PacketsLost     int64   `json:"packets_lost"`
			RTT             float64 `json:"rtt"`
			Jitter          float64 `json:"jitter"`
			Pair            struct {
				LocalType  string `json:"local_type"`
				RemoteType string `json:"remote_type"`
				Protocol   string `json:"protocol"`
			} `json:"candidate_pair"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(callOut, &call); err != nil {
		return fmt.Errorf("reading the call summary %q: %w", callOut, err)
	}
	audio, err := mediatest.AnalyzeAudio(ctx, back+".ogg")
	if err != nil {
		return fmt.Errorf("analysing the echoed audio: %w", err)
	}
	freqOK := math.Abs(audio.Frequency-toneHz) <= 5
	if !freqOK {
		return fmt.Errorf("echoed audio has its dominant frequency at %.1f Hz, want %.0f ± 5 Hz", audio.Frequency, toneHz)
	}

	// 2. The file transfer.
	say("sending a %d MiB random file to %s (jingle send)", fileMiB, drop.JID)
	payload := filepath.Join(dir, "payload.bin")
	sum, err := randomFile(payload, int64(fileMiB)<<20)
	if err != nil {
		return err
	}
	sendOut, err := runJSON(ctx, filepath.Join(bin, "jingle"), append(append([]string{"send"}, common...),
		drop.JID, payload, "--loopback", "--json"))
	if err != nil {
		return fmt.Errorf("jingle send: %w", err)
	}
	var sent struct {
		Size      int64   `json:"size"`
		SHA256    string  `json:"sha256"`
		Transport string  `json:"transport"`
		Seconds   float64 `json:"seconds"`
		Rate      float64 `json:"bytes_per_second"`
	}
	if err := json.Unmarshal(sendOut, &sent); err != nil {
		return fmt.Errorf("reading the send summary %q: %w", sendOut, err)
	}
	got, err := os.ReadFile(filepath.Join(dropDir, "payload.bin"))
	if err != nil {
		return fmt.Errorf("the file did not arrive in the drop directory: %w", err)
	}
	gotSum := sha256.Sum256(got)
	if hex.EncodeToString(gotSum[:]) != sum {
		return fmt.Errorf("received file hash %x differs from the sent %s", gotSum, sum)
	}

	// 3. Stop jingled the way systemd does.
	_ = jd.Process.Signal(syscall.SIGTERM)
	werr := jd.Wait()
	stopped = true
	if werr != nil {
		return fmt.Errorf("jingled did not stop cleanly on SIGTERM: %w", werr)
	}

	fmt.Println()
	fmt.Println("demo passed")
	fmt.Println("  echo call")
	fmt.Printf("    set-up        %.0f ms (session-initiate to first RTP packet)\n", call.SetupMS)
	fmt.Printf("    packets       %d sent, %d received, %d lost\n", call.Stats.PacketsSent, call.Stats.PacketsReceived, call.Stats.PacketsLost)
	fmt.Printf("    rtt / jitter  %.1f ms / %.1f ms\n", call.Stats.RTT*1000, call.Stats.Jitter*1000)
	fmt.Printf("    candidates    %s -> %s over %s\n", call.Stats.Pair.LocalType, call.Stats.Pair.RemoteType, call.Stats.Pair.Protocol)
	fmt.Printf("    echoed audio  %.1f s, dominant %.1f Hz (sent %.0f Hz)\n", audio.Duration.Seconds(), audio.Frequency, toneHz)
	fmt.Printf("    ended         %s\n", call.Reason)
	fmt.Println("  file transfer")
	fmt.Printf("    size          %d bytes\n", sent.Size)
	fmt.Printf("    transport     %s\n", sent.Transport)
	fmt.Printf("    rate          %.1f MB/s (%.2f s)\n", sent.Rate/1e6, sent.Seconds)
	fmt.Printf("    sha-256       %s (verified in the drop directory)\n", sum)
	return nil
}

// runJSON runs a jingle command with --json and returns its last line
// (the summary); stderr and earlier lines are shown as progress.
func runJSON(ctx context.Context, name string, args []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var events []string
	for _, l := range lines[:max(0, len(lines)-1)] {
		var ev struct{ Event, Content string }
		if json.Unmarshal([]byte(l), &ev) == nil && ev.Event != "" {
			if ev.Content != "" {
				ev.Event += "(" + ev.Content + ")"
			}
			events = append(events, ev.Event)
		}
	}
	if len(events) > 0 {
		fmt.Println("    " + strings.Join(events, " → "))
	}
	last := []byte(lines[len(lines)-1])
	if err != nil {
		return last, fmt.Errorf("%w: %s", err, last)
	}
	return last, nil
}

func waitHealthy(ctx context.Context, url string, d time.Duration) error {
	deadline := time.Now().Add(d)
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return last
}

func freePort() (int, error) {
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	p := l.LocalAddr().(*net.UDPAddr).Port
	t, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		return 0, errors.New("no port free on both UDP and TCP")
	}
	t.Close()
	return p, nil
}

func randomPassword() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func randomFile(path string, size int64) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(rand.Reader, size)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), f.Close()
}
