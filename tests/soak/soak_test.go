package soak

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/proctest"
	"github.com/jingled/jingled/internal/prosodytest"
)

const (
	// Slack over the baseline that a settled jingled may keep: pion's
	// UDP mux and the TURN listener's per-socket read loops are started
	// once and live on, and net/http keeps a scrape's connection idle.
	// A relay allocation whose deletion was lost (allocLifetime) holds a
	// descriptor and a goroutine until its lifetime ends. A leak of one
	// session's worth (a call is ~60 goroutines and ~10 descriptors in
	// jingled) shows above it within a few cycles.
	goroutineSlack = 10
	fdSlack        = 4
	// rssTolerance is the bound: RSS within 10% of its reference.
	rssTolerance = 0.10
	// rssReferenceAt is when the RSS reference is taken in runs of at
	// least rssLongRun; shorter runs compare medians around the first
	// cycle past rssShortFraction of the run (rssCheck, rss_test.go).
	rssReferenceAt   = 5 * time.Minute
	rssLongRun       = 10 * time.Minute
	rssShortFraction = 0.4
	// fileSize is each transfer's size (IBB included: ~1 s through
	// Prosody).
	fileSize = 1 << 20
	// opTimeout bounds one call or transfer: beyond it the step failed.
	opTimeout = 90 * time.Second
	// allocLifetime is jingled's TURN allocation lifetime here (its
	// minimum; 10 minutes by default). A client deletes its allocation
	// with one Refresh of lifetime 0 that pion sends and forgets; on a
	// loaded machine that datagram can be lost (the namespace's UDP
	// receive-buffer drops are the table's udp_drops), and the server
	// then reclaims the allocation when its lifetime runs out. An
	// allocation still open a lifetime (and the settle wait) after the
	// step that made it is a leak.
	allocLifetime = time.Minute
)

// TestSoak starts Prosody (with XEP-0215 pointing at jingled's relay)
// and jingled with an echo, a record and a filedrop account and its TURN
// relay, then cycles until -soak.duration: calls from the CLI and from
// StanzaJS to the echo and record accounts (the tone that comes back, and
// the recording, checked), and a CLI file transfer to the filedrop over
// each transport (sha-256 checked). After each cycle it waits for jingled
// to settle and fails on any failed step, goroutines or descriptors above
// their baseline, a session left open, a relay allocation open longer
// than its lifetime after its step (allocLifetime), or RSS beyond 10% of
// its reference. One row per cycle is logged.
func TestSoak(t *testing.T) {
	s := newSoak(t)
	start := time.Now()
	s.logf("soak for %v: cycle = CLI echo call, CLI relay-only echo call, CLI record call, StanzaJS echo call, StanzaJS record call, CLI file %d KiB over datachannel, s5b, ibb", *duration, fileSize>>10)

	base := s.waitSettled(t, nil)
	s.logf("baseline before the first cycle: %s", base)
	s.logf("%5s %8s %6s %6s %6s %9s %6s %6s %7s %7s %9s %s", "cycle", "elapsed", "ok", "failed", "gorout", "rss_MiB", "fds", "relay", "relay_t", "calls", "transfers", "udp_drops")
	rss := newRSSCheck(*duration)
	var failed int
	for cycle := 1; cycle == 1 || time.Since(start) < *duration; cycle++ {
		ok, fails := s.cycle(t, cycle)
		failed += len(fails)
		for _, f := range fails {
			t.Errorf("cycle %d: %s", cycle, f)
		}
		smp := s.waitSettled(t, &base)
		elapsed := time.Since(start)
		s.logf("%5d %8s %6d %6d %6.0f %9.1f %6d %6.0f %7.0f %7.0f %9.0f %d", cycle, elapsed.Round(time.Second), ok, len(fails),
			smp.goroutines, smp.rss/(1<<20), smp.fds, smp.relayOpen, smp.relayTotal, smp.calls, smp.transfers, smp.udpDrops)
		if smp.goroutines > base.goroutines+goroutineSlack || smp.fds > base.fds+fdSlack || smp.sessions != 0 {
			t.Errorf("cycle %d: jingled did not settle within %v: %s; baseline %s", cycle, *settle, smp, base)
		}
		if excess := smp.relayOpen - s.lingering.pending(time.Now()); excess > 0 {
			t.Errorf("cycle %d: %.0f relay allocations are open longer than their lifetime (%v) after the steps that made them", cycle, excess, allocLifetime)
		}
		note, err := rss.add(elapsed, smp.rss)
		if note != "" {
			s.logf("%s (cycle %d)", note, cycle)
		}
		if err != nil {
			t.Errorf("cycle %d: %v", cycle, err)
		}
	}
	if err := rss.final(); err != nil {
		t.Error(err)
	}
	// Every allocation whose deletion was lost is reclaimed by its
	// lifetime.
	if smp := s.sample(t); smp.relayOpen > 0 {
		deadline := time.Now().Add(allocLifetime + *settle)
		for smp.relayOpen > 0 && time.Now().Before(deadline) {
			time.Sleep(time.Second)
			smp = s.sample(t)
		}
		if smp.relayOpen > 0 {
			t.Errorf("%.0f relay allocations still open %v after the last cycle", smp.relayOpen, allocLifetime+*settle)
		}
	}
	// jingled counts an outcome when its side of the session has ended,
	// a moment after the client's exit: wait for the counters as for the
	// rest.
	want, wantTransfers := float64(s.cycles*callsPerCycle), float64(s.cycles*len(transports))
	smp := s.sample(t)
	for deadline := time.Now().Add(*settle); (smp.calls != want || smp.transfers != wantTransfers) && time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		smp = s.sample(t)
	}
	s.logf("summary: %d cycles in %v, %d failed steps; jingled counted %.0f calls (want %.0f) and %.0f transfers (want %.0f); goroutines %.0f (baseline %.0f), fds %d (baseline %d), RSS %.1f MiB (reference %.1f MiB), relay allocations %.0f in all, %.0f open",
		s.cycles, time.Since(start).Round(time.Second), failed, smp.calls, want, smp.transfers, wantTransfers,
		smp.goroutines, base.goroutines, smp.fds, base.fds, smp.rss/(1<<20), rss.ref/(1<<20), smp.relayTotal, smp.relayOpen)
	// jingled's own count of successes must agree with the clients'.
	if failed == 0 && (smp.calls != want || smp.transfers != wantTransfers) {
		t.Errorf("jingled's success counters disagree with the clients: calls %.0f want %.0f, transfers %.0f want %.0f", smp.calls, want, smp.transfers, wantTransfers)
	}
}

// soak is the running set-up.
type soak struct {
	srv     *prosodytest.Server
	d       *proctest.Jingled
	dir     string
	jingle  string
	node    string
	peerJS  string
	alice   prosodytest.Account
	alicePW string
	stanza  prosodytest.Account
	echo    string // full JIDs of jingled's accounts
	record  string
	drop    string
	recDir  string
	dropDir string
	tone    string // 440 Hz, what the callers send
	cycles  int
	out     *os.File
	// lingering are the relay allocations left open after their steps,
	// until their lifetime has run out.
	lingering lingering
}

// lingering counts relay allocations left open after a step, each until
// its deadline (the step's end plus a lifetime and the settle wait).
type lingering []struct {
	until time.Time
	n     float64
}

func (l *lingering) add(until time.Time, n float64) {
	*l = append(*l, struct {
		until time.Time
		n     float64
	}{until, n})
}

// pending is how many may still be open at now.
func (l *lingering) pending(now time.Time) float64 {
	var n float64
	keep := (*l)[:0]
	for _, e := range *l {
		if now.Before(e.until) {
			n += e.n
			keep = append(keep, e)
		}
	}
	*l = keep
	return n
}

// transports are the file transfer transports each cycle uses in turn.
var transports = []string{"datachannel", "s5b", "ibb"}

// callsPerCycle is the calls jingled answers each cycle.
const callsPerCycle = 5

// Tones: callers send callerHz; the record account's greeting is
// greetingHz.
const (
	callerHz   = 440
	greetingHz = 880
)

func newSoak(t *testing.T) *soak {
	t.Helper()
	jingle, jingled := proctest.Bin(t, "jingle"), proctest.Bin(t, "jingled") // skip under -short
	node, script := requireNode(t)
	turnPort := proctest.QuietPorts(t, 1)
	const secret = "soak-turn-secret"
	srv := prosodytest.New(t, prosodytest.WithTURNExternal(prosodytest.TURNExternal{Secret: secret, Host: "127.0.0.1", Port: turnPort}))
	s := &soak{srv: srv, dir: t.TempDir(), jingle: jingle, node: node, peerJS: script, out: os.Stdout}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.tone = filepath.Join(s.dir, "tone.ogg")
	greeting := filepath.Join(s.dir, "greeting.ogg")
	for _, f := range []struct {
		path string
		hz   float64
	}{{s.tone, callerHz}, {greeting, greetingHz}} {
		if err := mediatest.SineOpus(ctx, f.path, f.hz, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	s.alice = srv.NewAccount(t, "alice")
	s.alicePW = s.password(t, s.alice)
	s.stanza = srv.NewAccount(t, "stanza")
	s.recDir, s.dropDir = filepath.Join(s.dir, "recordings"), filepath.Join(s.dir, "drop")
	var accounts []string
	for _, a := range []struct {
		role  string
		jid   *string
		extra []string
	}{
		{"echo", &s.echo, []string{`max_duration = "60s"`}},
		{"record", &s.record, []string{fmt.Sprintf("dir = %q", s.recDir), fmt.Sprintf("greeting = %q", greeting), `max_duration = "60s"`}},
		{"filedrop", &s.drop, []string{fmt.Sprintf("dir = %q", s.dropDir)}},
	} {
		acc := srv.NewAccount(t, a.role)
		*a.jid = acc.JID + "/jingled"
		accounts = append(accounts, proctest.Account(acc.JID, s.password(t, acc), srv.Addr, srv.CAFile, a.role, a.extra...))
	}
	httpPort := proctest.FreePort(t)
	turn := fmt.Sprintf("[turn]\nenabled = true\naddress = \"127.0.0.1\"\nport = %d\nudp_sockets = 1\nrelay_port_min = 44000\nrelay_port_max = 44999\nsecrets = [%q]\nallow_peers = [\"127.0.0.0/8\"]\nallocation_lifetime = %q\n",
		turnPort, secret, allocLifetime.String())
	// XEP-0215 discovery stays on: jingled's accounts and the CLI gather
	// relay candidates on jingled's own relay in every session.
	config := fmt.Sprintf("[http]\nlisten = \"127.0.0.1:%d\"\n%s[ice]\nloopback_only = true\n%s", httpPort, turn, strings.Join(accounts, ""))
	cfg := filepath.Join(s.dir, "jingled.toml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	s.d = proctest.StartJingled(t, jingled, cfg, httpPort)
	return s
}

func (s *soak) password(t *testing.T, a prosodytest.Account) string {
	t.Helper()
	p := filepath.Join(s.dir, a.Local+".pw")
	if err := os.WriteFile(p, []byte(a.Password), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// logf prints one line of the soak's table at once (t.Logf would hold it
// until the test ends under go test -v ./pkg with more than one package).
func (s *soak) logf(format string, args ...any) {
	fmt.Fprintf(s.out, "soak: "+format+"\n", args...)
}

// cli is a jingle subcommand's arguments as alice, loopback only.
func (s *soak) cli(args ...string) []string {
	return append(args, "--jid", s.alice.JID, "--password-file", s.alicePW, "--server", s.srv.Addr, "--ca", s.srv.CAFile, "--loopback", "--json")
}

// cycle runs one round of calls and transfers and returns how many steps
// succeeded and what failed.
func (s *soak) cycle(t *testing.T, n int) (ok int, fails []string) {
	t.Helper()
	s.cycles++
	steps := []struct {
		name string
		run  func(ctx context.Context, n int) error
	}{
		{"CLI call to echo", func(ctx context.Context, n int) error { return s.cliCall(ctx, n, s.echo, false) }},
		{"CLI relay-only call to echo", func(ctx context.Context, n int) error { return s.cliCall(ctx, n, s.echo, true) }},
		{"CLI call to record", func(ctx context.Context, n int) error { return s.cliCall(ctx, n, s.record, false) }},
		{"StanzaJS call to echo", func(ctx context.Context, n int) error { return s.stanzaCall(ctx, s.echo, callerHz) }},
		{"StanzaJS call to record", func(ctx context.Context, n int) error { return s.stanzaCall(ctx, s.record, greetingHz) }},
	}
	for _, tr := range transports {
		steps = append(steps, struct {
			name string
			run  func(ctx context.Context, n int) error
		}{"CLI file over " + tr, func(ctx context.Context, n int) error { return s.send(ctx, t, n, tr) }})
	}
	before := s.sample(t)
	for i, st := range steps {
		// Which step leaves a relay allocation behind (each session's
		// allocations are deleted by their clients when it ends), and
		// whether one was made after its step had ended and settled.
		if now := s.sample(t); now.relayTotal != before.relayTotal {
			prev := "the previous cycle"
			if i > 0 {
				prev = steps[i-1].name
			}
			t.Errorf("cycle %d: %.0f relay allocations were made after %s had ended and settled", n, now.relayTotal-before.relayTotal, prev)
		}
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		err := st.run(ctx, n)
		cancel()
		if err != nil {
			fails = append(fails, fmt.Sprintf("%s: %v", st.name, err))
		} else {
			ok++
		}
		after := s.waitSettled(t, nil)
		if left := after.relayOpen - before.relayOpen; left > 0 {
			// Its client's deletion was lost, or it leaks: its lifetime
			// tells (TestSoak's check).
			s.lingering.add(time.Now().Add(allocLifetime+*settle), left)
			s.logf("cycle %d: %s left %.0f relay allocations open %v after it ended (%.0f made during it; UDP receive-buffer drops meanwhile: %d)",
				n, st.name, left, *settle, after.relayTotal-before.relayTotal, after.udpDrops-before.udpDrops)
		}
		before = after
	}
	return ok, fails
}

// cliCall calls peer with `jingle call` for 3 s and checks the tone that
// comes back: the caller's own from echo, the greeting from record, whose
// recording must then hold the caller's tone (and is removed).
func (s *soak) cliCall(ctx context.Context, n int, peer string, relay bool) error {
	back := filepath.Join(s.dir, fmt.Sprintf("back-%d", n))
	defer os.Remove(back + ".ogg")
	args := []string{"call", peer, "--audio", s.tone, "--record", back, "--duration", "3s"}
	if relay {
		args = append(args, "--relay")
	}
	out, stderr, code, err := proctest.RunCLI(ctx, s.jingle, s.cli(args...)...)
	sum := proctest.Last(proctest.JSONLines(out, false))
	if code != 0 || sum["reason"] != "success" {
		return fmt.Errorf("exit %d (%v), summary %v: %s", code, err, sum, lastLine(stderr))
	}
	if relay {
		stats, _ := sum["stats"].(map[string]any)
		if pair, _ := stats["candidate_pair"].(map[string]any); pair["local_type"] != "relay" {
			return fmt.Errorf("selected pair %v, want a relay candidate on our side", pair)
		}
	}
	want := float64(callerHz)
	if peer == s.record {
		want = greetingHz
	}
	if err := checkTone(ctx, back+".ogg", want); err != nil {
		return fmt.Errorf("what came back: %w", err)
	}
	if peer != s.record {
		return nil
	}
	return s.checkRecording(ctx, s.alice.JID)
}

// checkRecording waits for the record account's one recording of caller
// (written once its side of the call ended), checks the caller's tone in
// it and removes it.
func (s *soak) checkRecording(ctx context.Context, caller string) error {
	for {
		files, _ := filepath.Glob(filepath.Join(s.recDir, caller+"-*.ogg"))
		if len(files) > 1 {
			return fmt.Errorf("recordings: %v, want one", files)
		}
		if len(files) == 1 {
			// The role closes the file when the call has ended on its
			// side, which the session gauge shows.
			if err := s.waitNoSessions(ctx); err != nil {
				return err
			}
			err := checkTone(ctx, files[0], callerHz)
			if rmErr := os.Remove(files[0]); err == nil {
				err = rmErr
			}
			if err != nil {
				return fmt.Errorf("recording: %w", err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no recording: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitNoSessions waits until jingled holds no Jingle session.
func (s *soak) waitNoSessions(ctx context.Context) error {
	for {
		m, err := s.d.Metrics()
		if err == nil && proctest.MetricValue(m, "jingled_sessions") == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("jingled's sessions did not end: %w (last scrape error %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stanzaCall has StanzaJS (peer.mjs on libwebrtc) call peer for 3 s of
// audio and checks the tone it measured in what it received and, from
// record, the recording.
func (s *soak) stanzaCall(ctx context.Context, peer string, wantHz float64) error {
	out, stderr, code, err := proctest.RunCLI(ctx, s.node, s.peerJS, s.stanza.JID, s.stanza.Password, s.srv.Addr,
		"call", peer, "--freq", fmt.Sprint(callerHz), "--hangup-after", "3", "--once", "--ca", s.srv.CAFile, "--resource", "soak")
	var ended map[string]any
	for _, ev := range proctest.JSONLines(out, false) {
		if ev["event"] == "ended" {
			ended = ev
		}
	}
	if code != 0 || ended == nil || ended["reason"] != "success" {
		return fmt.Errorf("peer.mjs exit %d (%v), ended %v: %s", code, err, ended, lastLine(stderr))
	}
	stats, _ := ended["stats"].(map[string]any)
	tone, _ := stats["tone"].(map[string]any)
	freq, ok := tone["freq"].(float64)
	if !ok || math.Abs(freq-wantHz) > 5 {
		return fmt.Errorf("StanzaJS heard %v Hz, want %v", tone["freq"], wantHz)
	}
	if peer != s.record {
		return nil
	}
	return s.checkRecording(ctx, s.stanza.JID)
}

// send sends a fresh random file to the filedrop over transport and
// checks the copy's sha-256, then removes both.
func (s *soak) send(ctx context.Context, t *testing.T, n int, transport string) error {
	name := fmt.Sprintf("soak-%d-%s.bin", n, transport)
	src := filepath.Join(s.dir, name)
	sum := proctest.RandomFile(t, src, fileSize)
	defer os.Remove(src)
	out, stderr, code, err := proctest.RunCLI(ctx, s.jingle, s.cli("send", s.drop, src, "--transport", transport)...)
	if res := proctest.Last(proctest.JSONLines(out, false)); code != 0 || res["transport"] == nil {
		return fmt.Errorf("exit %d (%v), summary %v: %s", code, err, res, lastLine(stderr))
	}
	dst := filepath.Join(s.dropDir, name)
	b, err := os.ReadFile(dst)
	if err != nil {
		return fmt.Errorf("the drop's copy: %w", err)
	}
	if err := os.Remove(dst); err != nil {
		return err
	}
	if got := fmt.Sprintf("%x", sha256.Sum256(b)); got != sum {
		return fmt.Errorf("the drop's copy has sha-256 %s, sent %s", got, sum)
	}
	return nil
}

// checkTone fails unless the audio file's dominant frequency is within
// 5 Hz of want.
func checkTone(ctx context.Context, path string, want float64) error {
	a, err := mediatest.AnalyzeAudio(ctx, path)
	if err != nil {
		return err
	}
	if math.Abs(a.Frequency-want) > 5 {
		return fmt.Errorf("tone at %.1f Hz, want %.0f", a.Frequency, want)
	}
	return nil
}

func lastLine(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return l[len(l)-1]
}
