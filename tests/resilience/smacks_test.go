package resilience

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/proctest"
	"github.com/jingled/jingled/internal/prosodytest"
)

// Issue 17.1: a call outlives the loss of its XMPP connection. XEP-0198
// resumes the session (or, refused, a new one takes over), the
// signalling sent meanwhile arrives afterwards, and the media, which
// never went through XMPP, flows on throughout.

// outage is how long the connection stays down in these tests.
const outage = 3 * time.Second

// TestCallSurvivesConnectionCut (issue 17 acceptance): mid-call, the TCP
// connection of the callee (`jingle answer --echo`) to Prosody is killed
// (ss -K) and new ones refused with a reset for 3 s (iptables). During
// the outage the callee types unmute (a session-info IQ that changes no
// media: mute would stop the echo the test measures); it reaches the
// caller after the reconnection. Then the callee hangs up, and the
// caller sees session-terminate success. Throughout, the caller's
// received RTP packets (its echo, polled with the stats command every
// 100 ms) never stop for more than 1 s. "resumed": Prosody keeps the session (mod_smacks) and
// the callee resumes it. "refused": the session hibernates for 1 s only,
// and the test waits until Prosody has destroyed it, so the resumption
// is refused and the callee falls back to a new session with the same
// resource.
func TestCallSurvivesConnectionCut(t *testing.T) {
	requireNetns(t)
	for _, tc := range []struct {
		name    string
		resumed bool
		opts    []prosodytest.Option
	}{
		{"resumed", true, []prosodytest.Option{prosodytest.WithSmacks(0)}},
		{"refused", false, []prosodytest.Option{prosodytest.WithSmacks(time.Second), prosodytest.WithDebugLog()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, tc.opts...)
			ctx := testCtx(t, 3*time.Minute)
			c := l.startCall(ctx, t)

			restore := cutTCP(t, l.srv.Addr, c.callee.Cmd.Process.Pid)
			lost := c.callee.Event(ctx, t, "disconnected")
			cmdSend(t, c.callee, "unmute") // a session-info IQ, sent while disconnected
			time.Sleep(outage)
			if !tc.resumed {
				waitUntil(ctx, t, "Prosody to end the hibernating session", func() bool {
					return strings.Contains(l.srv.Log(), "Destroying session for hibernating too long")
				})
			}
			restore()
			back := c.callee.Event(ctx, t, "reconnected")
			if back["resumed"] != tc.resumed {
				t.Fatalf("reconnected %v: resumed %v, want %v", back, back["resumed"], tc.resumed)
			}
			if !tc.resumed && !strings.Contains(fmt.Sprint(back["resume_refused"]), "resumption refused") {
				t.Fatalf("reconnected %v: the refusal is not reported", back)
			}
			if m := c.callee.EventWhere(ctx, t, "command", cmdIs("unmute")); m["ok"] != true {
				t.Fatalf("unmute sent during the outage: %v", m)
			}
			c.caller.Event(ctx, t, "unmute") // the caller got the session-info
			c.hangUpAfter(ctx, t, lost, back)
		})
	}
}

// TestCallSurvivesProsodyRestart (issue 17 fault matrix): Prosody is
// stopped for 3 s mid-call and started again. Both sides reconnect to
// new sessions (the restarted server cannot resume the old ones), the
// media flows on without a gap over 1 s, and the callee's hang-up after
// the reconnection reaches the caller as session-terminate success.
func TestCallSurvivesProsodyRestart(t *testing.T) {
	l := newLab(t, prosodytest.WithSmacks(0))
	ctx := testCtx(t, 3*time.Minute)
	c := l.startCall(ctx, t)
	if err := l.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	lost := c.callee.Event(ctx, t, "disconnected")
	c.caller.Event(ctx, t, "disconnected")
	time.Sleep(outage)
	if err := l.srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	for _, p := range []*proctest.Proc{c.callee, c.caller} {
		m := p.Event(ctx, t, "reconnected")
		if m["resumed"] != false || !strings.Contains(fmt.Sprint(m["resume_refused"]), "item-not-found") {
			t.Fatalf("%s reconnected %v: want a new session, the old one unknown to the restarted server", p.Cmd.Args[1], m)
		}
		if p == c.callee {
			back = m
		}
	}
	c.hangUpAfter(ctx, t, lost, back)
}

// call is a call from `jingle call` to `jingle answer --echo`, the
// caller's received packets (its echo) polled.
type call struct {
	caller, callee *proctest.Proc
	poll           *poller
}

// startCall sets up the call (alice calls carol, who echoes) and polls
// the caller's statistics once its echo flows.
func (l *lab) startCall(ctx context.Context, t *testing.T) *call {
	t.Helper()
	carol := l.user(t, "carol")
	callee := proctest.StartCLIInput(t, bin(t, "jingle"), l.args(carol, "answer", "--echo", "--resource", "ans", "--count", "1", "--reconnect-for", "2m")...)
	callee.Event(ctx, t, "ready")
	c := l.dial(ctx, t, carol.JID+"/ans")
	c.callee = callee
	c.poll = startStatsPoller(t, c.caller)
	time.Sleep(time.Second) // media before the fault
	return c
}

// dial has alice call to with a tone, and waits for its echo.
func (l *lab) dial(ctx context.Context, t *testing.T, to string) *call {
	t.Helper()
	alice := l.user(t, "alice")
	tone := filepath.Join(l.dir, "tone.ogg")
	if err := mediatest.SineOpus(ctx, tone, 440, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	c := &call{caller: proctest.StartCLIInput(t, bin(t, "jingle"), l.args(alice, "call", to, "--audio", tone)...)}
	c.caller.EventWhere(ctx, t, "media", func(m map[string]any) bool { return m["content"] == "audio" })
	return c
}

// hangUpAfter lets the media flow a second after the reconnection, hangs
// up from the callee and checks the caller saw session-terminate success,
// both exit 0, and the caller's received media had no gap over 1 s from
// before the loss (lost: its disconnected event) to after the return
// (back: its reconnected event).
func (c *call) hangUpAfter(ctx context.Context, t *testing.T, lost, back map[string]any) {
	t.Helper()
	time.Sleep(time.Second) // media after the reconnection
	c.poll.stop()
	cmdSend(t, c.callee, "hangup")
	if m := c.callee.EventWhere(ctx, t, "command", cmdIs("hangup")); m["ok"] != true {
		t.Fatalf("hangup after the reconnection: %v", m)
	}
	c.caller.EventWhere(ctx, t, "ended", func(m map[string]any) bool { return m["reason"] == "success" })
	for _, p := range []*proctest.Proc{c.caller, c.callee} {
		if code := p.Wait(t, time.Minute); code != 0 {
			t.Fatalf("%s exited %d: %s", p.Cmd.Args[1], code, p.Stderr.String())
		}
	}
	checkGap(t, "caller", statsSamples(t, c.caller), eventTime(t, lost), eventTime(t, back))
}

// checkGap fails t if the samples do not span the outage from..to, or
// if the packet count stood still for over 1 s.
func checkGap(t *testing.T, who string, samples []sample, from, to time.Time) {
	t.Helper()
	if len(samples) == 0 || !samples[0].at.Before(from) || !samples[len(samples)-1].at.After(to) {
		t.Fatalf("the %d samples do not span the outage %s..%s", len(samples), from.Format(time.StampMilli), to.Format(time.StampMilli))
	}
	gap, at := longestGap(samples)
	t.Logf("outage %v (disconnected %s, reconnected %s); %s received %.0f -> %.0f packets in %d samples; longest time without a new packet %v, from %s",
		to.Sub(from).Round(time.Millisecond), from.Format(time.StampMilli), to.Format(time.StampMilli), who,
		samples[0].packets, samples[len(samples)-1].packets, len(samples), gap.Round(time.Millisecond), at.Format(time.StampMilli))
	if gap > time.Second {
		t.Errorf("the received media stopped for %v at %s, want no gap over 1 s", gap, at.Format(time.StampMilli))
	}
}

// TestDaemonCallSurvivesConnectionCut (issue 17.2): jingled's own
// connection to Prosody is cut (ss -K, iptables) for 3 s during a call
// to its echo role. The caller's session-info typed meanwhile waits in
// the session Prosody keeps for jingled and is answered after jingled
// resumes it (its log says resumed=true); the media jingled receives
// (jingled_call_rtp_packets_total{direction="in"}, scraped every 100 ms)
// never stops for over 1 s; the hang-up after the reconnection ends the
// call as success on both sides.
func TestDaemonCallSurvivesConnectionCut(t *testing.T) {
	requireNetns(t)
	l := newLab(t, prosodytest.WithSmacks(0))
	ctx := testCtx(t, 3*time.Minute)
	echo := l.user(t, "echo")
	httpPort := proctest.FreePort(t)
	cfg := filepath.Join(l.dir, "jingled.toml")
	if err := os.WriteFile(cfg, []byte(proctest.JingledConfig(httpPort, false, proctest.Account(echo.JID, echo.pwFile, l.srv.Addr, l.srv.CAFile, "echo"))), 0o600); err != nil {
		t.Fatal(err)
	}
	d := proctest.StartJingled(t, bin(t, "jingled"), cfg, httpPort)
	metric := func(name string, labels ...string) float64 {
		m, err := d.Metrics()
		if err != nil {
			t.Fatal(err)
		}
		return proctest.MetricValue(m, name, labels...)
	}
	waitUntil(ctx, t, "jingled to connect", func() bool { return metric("jingled_xmpp_connected", `role="echo"`) == 1 })
	c := l.dial(ctx, t, echo.JID)
	stopPoll := pollMetric(t, d, "jingled_call_rtp_packets_total", `direction="in"`)
	time.Sleep(time.Second) // media before the fault

	restore := cutTCP(t, l.srv.Addr, d.Cmd.Process.Pid)
	waitUntil(ctx, t, "jingled to see the loss", func() bool { return metric("jingled_xmpp_connected", `role="echo"`) == 0 })
	lost := time.Now()
	cmdSend(t, c.caller, "unmute") // to jingled, while it is disconnected
	time.Sleep(outage)
	restore()
	waitUntil(ctx, t, "jingled to reconnect", func() bool { return metric("jingled_xmpp_connected", `role="echo"`) == 1 })
	back := time.Now()
	if !strings.Contains(d.Log.String(), "resumed=true") {
		t.Fatalf("jingled did not resume its session:\n%s", d.Log.String())
	}
	if m := c.caller.EventWhere(ctx, t, "command", cmdIs("unmute")); m["ok"] != true {
		t.Fatalf("unmute sent while jingled was disconnected: %v", m)
	}
	time.Sleep(time.Second) // media after the reconnection
	samples := stopPoll()
	cmdSend(t, c.caller, "hangup")
	c.caller.EventWhere(ctx, t, "summary", func(m map[string]any) bool { return m["reason"] == "success" })
	if code := c.caller.Wait(t, time.Minute); code != 0 {
		t.Fatalf("jingle call exited %d: %s", code, c.caller.Stderr.String())
	}
	waitUntil(ctx, t, "jingled to count the call a success", func() bool {
		return metric("jingled_calls_total", `role="echo"`, `outcome="success"`) == 1
	})
	checkGap(t, "jingled", samples, lost, back)
}

// pollMetric scrapes one of jingled's counters every 100 ms; stop
// ends it and returns the samples (a failed scrape is a missing one).
func pollMetric(t *testing.T, d *proctest.Jingled, name string, labels ...string) (stop func() []sample) {
	var samples []sample // the poller's until it stops
	p := startPoller(t, func() {
		if m, err := d.Metrics(); err == nil {
			samples = append(samples, sample{at: time.Now(), packets: proctest.MetricValue(m, name, labels...)})
		}
	})
	return func() []sample {
		p.stop()
		return samples
	}
}

func cmdIs(verb string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["command"] == verb }
}

// cmdSend types a command line to p.
func cmdSend(t *testing.T, p *proctest.Proc, line string) {
	t.Helper()
	if _, err := fmt.Fprintln(p.Stdin, line); err != nil {
		t.Fatalf("writing %q to %s: %v", line, p.Cmd.Args[1], err)
	}
}

// poller runs a probe every 100 ms until stop.
type poller struct {
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func startPoller(t *testing.T, probe func()) *poller {
	p := &poller{done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-tick.C:
				probe()
			}
		}
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *poller) stop() {
	p.once.Do(func() { close(p.done) })
	p.wg.Wait()
}

// startStatsPoller types `stats` to a call every 100 ms (the samples are
// its stats events, see statsSamples); a failed write shows as missing
// samples.
func startStatsPoller(t *testing.T, p *proctest.Proc) *poller {
	return startPoller(t, func() { _, _ = fmt.Fprintln(p.Stdin, "stats") })
}

// sample is one stats event: when it was printed, and the RTP packets
// received by then.
type sample struct {
	at      time.Time
	packets float64
}

// statsSamples reads every stats event p printed.
func statsSamples(t *testing.T, p *proctest.Proc) []sample {
	t.Helper()
	var out []sample
	sc := bufio.NewScanner(strings.NewReader(p.Lines.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil || m["event"] != "stats" {
			continue
		}
		st, _ := m["stats"].(map[string]any)
		n, ok := st["packets_received"].(float64)
		if !ok {
			t.Fatalf("stats event without packets_received: %v", m)
		}
		out = append(out, sample{at: eventTime(t, m), packets: n})
	}
	return out
}

// longestGap is the longest time between two samples that saw new
// packets (from the first sample), and when it began: an upper bound,
// within one polling interval, of the longest time no packet arrived.
func longestGap(ss []sample) (gap time.Duration, at time.Time) {
	last := ss[0]
	for _, s := range ss[1:] {
		if s.packets == last.packets {
			continue
		}
		if d := s.at.Sub(last.at); d > gap {
			gap, at = d, last.at
		}
		last = s
	}
	if d := ss[len(ss)-1].at.Sub(last.at); d > gap {
		gap, at = d, last.at
	}
	return gap, at
}

func eventTime(t *testing.T, m map[string]any) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(m["time"]))
	if err != nil {
		t.Fatalf("event %v: %v", m, err)
	}
	return at
}

// requireNetns skips unless the test runs in a network namespace of its
// own (scripts/in-netns.sh, as root): it changes iptables rules and
// kills sockets, which must not touch the host's.
func requireNetns(t *testing.T) {
	t.Helper()
	if os.Getenv("JINGLED_NETNS") == "" || os.Geteuid() != 0 {
		t.Skip("needs its own network namespace: run it with ./scripts/in-netns.sh as root")
	}
}

// cutTCP cuts pid's connection to the server at addr: new connections
// to the server's port are refused with a TCP reset (iptables), and the
// established one is killed (ss -K, which resets it both ways). restore
// lets connections in again; it also runs at cleanup.
func cutTCP(t *testing.T, addr string, pid int) (restore func()) {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ss", "-tnpH", "state", "established", "( dport = :"+port+" )").Output()
	if err != nil {
		t.Fatalf("ss: %v", err)
	}
	var local string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 5 && strings.Contains(line, fmt.Sprintf("pid=%d,", pid)) {
			local = f[2]
		}
	}
	_, lport, err := net.SplitHostPort(local)
	if err != nil {
		t.Fatalf("no connection of pid %d to %s in %q", pid, addr, out)
	}
	rule := []string{"INPUT", "-p", "tcp", "--syn", "--dport", port, "-j", "REJECT", "--reject-with", "tcp-reset"}
	if out, err := exec.Command("iptables", append([]string{"-I"}, rule...)...).CombinedOutput(); err != nil {
		t.Fatalf("iptables: %v: %s", err, out)
	}
	var once sync.Once
	restore = func() {
		once.Do(func() {
			if out, err := exec.Command("iptables", append([]string{"-D"}, rule...)...).CombinedOutput(); err != nil {
				t.Errorf("iptables -D: %v: %s", err, out)
			}
		})
	}
	t.Cleanup(restore)
	if out, err := exec.Command("ss", "-K", "-tn", "state", "established", "( sport = :"+lport+" and dport = :"+port+" )").CombinedOutput(); err != nil {
		t.Fatalf("ss -K: %v: %s", err, out)
	}
	return restore
}
