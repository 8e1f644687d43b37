// Command calls measures how many calls jingled answers (issue 14's
// `make bench-calls`): the real jingled binary with one echo account, in
// its own process (pinned to CPU 0 with -pin), called through a throwaway
// Prosody by this process, the load (on CPU 1), from many accounts as
// real users would (jingle's per-peer session limit is 32).
//
//   - call set-up time, from Dial (offer + session-initiate) to the first
//     echoed RTP packet, p50 and p95 over -setup calls one after another,
//     against Prosody as shipped and with its c2s Nagle off (each with a
//     jingled of its own);
//   - at each -concurrency level, with every call up and sending 50 Opus
//     packets/s: jingled's CPU (cores, and per call), its RSS and Go
//     goroutines per call (against jingled idle), and the echo loss (1 -
//     echoed/sent over the window; the load pauses at both ends of the
//     window until every echo in flight is back, so a late echo is not
//     counted lost, and the line says how late the last one was). The
//     load's and Prosody's CPU are printed apart, so the answering side
//     is never charged for them.
//
// The load sends a pre-encoded tone from one pacer goroutine per shard
// rather than one timer per call, so that a thousand callers fit the
// load's core and the answering side is what saturates.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jingled/jingled/bench/internal/benchproc"
	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/prosodytest"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/xmpp"
)

func main() {
	cfg := defaultConfig()
	cfg.flags(flag.CommandLine)
	flag.Parse()
	if cfg.pin {
		if err := benchproc.CheckPin(); err != nil {
			fmt.Fprintln(os.Stderr, "bench/calls:", err)
			os.Exit(2)
		}
		pinSelf()
	}
	if _, err := run(context.Background(), cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench/calls:", err)
		os.Exit(1)
	}
}

// pinnedEnv marks the load process once it runs under taskset.
const pinnedEnv = "JINGLED_BENCH_CALLS_PINNED"

// pinSelf re-executes the load on CPU 1 (taskset sets the mask of every
// thread; Go offers no way to pin a running process's threads).
func pinSelf() {
	if os.Getenv(pinnedEnv) != "" {
		return
	}
	exe, err := os.Executable()
	if err == nil {
		var ts string
		ts, err = execLookPath("taskset")
		if err == nil {
			env := append(os.Environ(), pinnedEnv+"=1")
			err = syscall.Exec(ts, append([]string{"taskset", "-c", "1", exe}, os.Args[1:]...), env)
		}
	}
	fmt.Fprintln(os.Stderr, "bench/calls: cannot pin the load:", err)
	os.Exit(2)
}

type config struct {
	jingled    string
	setup      int
	levels     []int
	window     time.Duration
	perAccount int
	batch      int
	shards     int
	pin        bool
	cpuprofile string
	out        string
	// mux puts jingled's calls on one UDP port ([ice] udp_port).
	mux bool
}

func defaultConfig() config {
	return config{
		setup: 20, levels: []int{100, 500, 1000}, window: 10 * time.Second,
		perAccount: 25, batch: 10, shards: 4, mux: true,
		// Once re-executed under taskset (pinSelf), this process sees one
		// CPU; it is still a pinned run.
		pin: runtime.NumCPU() >= 2 || os.Getenv(pinnedEnv) != "",
	}
}

func (c *config) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.jingled, "jingled", "", "jingled binary (default: go build ./cmd/jingled)")
	fs.IntVar(&c.setup, "setup", c.setup, "calls for the set-up time measurement, one after another")
	fs.Func("concurrency", "comma-separated concurrent echo call counts (default 100,500,1000)", func(s string) error {
		var err error
		c.levels, err = benchproc.ParseCounts(s)
		return err
	})
	fs.DurationVar(&c.window, "window", c.window, "measurement window per level")
	fs.IntVar(&c.perAccount, "per-account", c.perAccount, "calls per caller account (jingle allows 32 sessions per peer)")
	fs.IntVar(&c.batch, "batch", c.batch, "calls dialled at once while a level fills")
	fs.IntVar(&c.shards, "shards", c.shards, "pacer goroutines of the load")
	fs.BoolVar(&c.pin, "pin", c.pin, "pin jingled to CPU 0 and the load to CPU 1 (taskset)")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "save CPU profiles of jingled and of the load over each window into this directory")
	fs.StringVar(&c.out, "o", "", "also write the table to this file")
	fs.BoolVar(&printSteps, "steps", false, "print each call's events (ringing, accepted, ICE connected, media) with their times, to stderr")
	fs.BoolVar(&c.mux, "mux", c.mux, "one UDP port for all of jingled's calls ([ice] udp_port)")
}

// row is one concurrency level's result.
type row struct {
	n, held           int
	jingledCores      float64
	loadCores         float64
	prosodyCores      float64
	rssPerCall        float64 // bytes
	heapPerCall       float64 // bytes
	goroutinesPerCall float64
	sentPerCall       float64 // packets/s
	loss              float64
	// dropJingled and dropLoad are the shares of the packets sent that
	// the kernel dropped at a full receive buffer: jingled's sockets
	// (on the way in) and the load's (the echoes on the way back). On
	// loopback nothing else drops, so loss minus both is what jingled
	// received and did not echo.
	dropJingled, dropLoad float64
	// drain is how long after the load paused at the window's end its
	// last echo came: the queue jingled had to work off then.
	drain time.Duration
	// queuedJingled and queuedLoad are the bytes waiting in jingled's and
	// the load's receive queues as the window closed.
	queuedJingled, queuedLoad uint64
	setupFailed               int
	firstErr                  string // of the calls that failed to come up
	rssIdle, rssLoaded        float64
}

// result is a whole run: the set-up times and the levels.
type result struct {
	// setups are against Prosody with Nagle off, setupsShipped as
	// Prosody ships.
	setups, setupsShipped []time.Duration
	rows                  []row
}

func run(ctx context.Context, cfg config, stdout io.Writer) (*result, error) {
	dir, err := os.MkdirTemp("", "bench-calls-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if cfg.cpuprofile != "" {
		if err := os.MkdirAll(cfg.cpuprofile, 0o755); err != nil {
			return nil, err
		}
	}
	if cfg.jingled == "" {
		if cfg.jingled, err = benchproc.Build(ctx, dir, "./cmd/jingled"); err != nil {
			return nil, err
		}
	}
	tone := filepath.Join(dir, "tone.ogg")
	if err := mediatest.SineOpus(ctx, tone, 440, 2*time.Second); err != nil {
		return nil, err
	}
	fr, err := frames(tone)
	if err != nil {
		return nil, err
	}
	p := newPacer(fr, cfg.shards)
	defer p.close()
	// The load keeps a socket per call: pion tells a mux's calls apart by
	// the peer's address, and real callers each have their own.
	// Its audio takes rtp's direct path both ways, as jingled's echo
	// does, so that the load costs less than what it measures.
	app := rtp.NewApplication(rtp.ApplicationOptions{Peer: rtp.PeerOptions{Loopback: true, DirectAudio: true, Logger: slog.New(slog.DiscardHandler)}})

	res := &result{}
	// Set-up time against Prosody as shipped and with Nagle off: Prosody
	// leaves Nagle's algorithm on for c2s (server_epoll's nagle = true),
	// which holds a stanza that follows another until the first is
	// acknowledged, and the client delays that acknowledgement by up to
	// 40 ms.
	for _, v := range []struct {
		name, lua string
		into      *[]time.Duration
	}{{"as shipped", "", &res.setupsShipped}, {nagleOff, prosodyNagleOff, &res.setups}} {
		if cfg.setup == 0 {
			break
		}
		d, err := setupTimes(ctx, cfg, filepath.Join(dir, "setup-"+strings.ReplaceAll(v.name, " ", "-")), v.lua, app, p)
		if err != nil {
			return res, fmt.Errorf("set-up, Prosody %s: %w", v.name, err)
		}
		*v.into = d
		fmt.Fprintf(stdout, "call set-up (Dial -> first echoed RTP), Prosody %s, %d calls: p50 %v  p95 %v  max %v\n",
			v.name, len(d), pctD(d, 50), pctD(d, 95), d[len(d)-1].Round(100*time.Microsecond))
	}

	most := slices.Max(append([]int{1}, cfg.levels...))
	nacc := (most + cfg.perAccount - 1) / cfg.perAccount
	st, err := startSite(ctx, cfg, dir, prosodyNagleOff, nacc)
	if err != nil {
		return res, err
	}
	defer st.close()
	srv, j, callers, callee := st.srv, st.j, st.callers, st.callee

	pinned := "no"
	if cfg.pin {
		pinned = "jingled on CPU 0, the load on CPU 1, Prosody anywhere"
	}
	fmt.Fprintf(stdout, "bench/calls: jingled (echo role, pid %d) against Prosody %s (nagle = false); pinned: %s; jingled's calls on one UDP port: %v; %d caller accounts; window %v\n",
		j.Pid(), srv.Addr, pinned, cfg.mux, nacc, cfg.window)
	fmt.Fprintf(stdout, "load average before: %s\n", benchproc.LoadAverage())

	for _, n := range cfg.levels {
		r, err := level(ctx, cfg, j, srv, app, p, callers, callee, n)
		if err != nil {
			return res, fmt.Errorf("%d concurrent calls: %w", n, err)
		}
		res.rows = append(res.rows, r)
		fmt.Fprintf(stdout, "  %s\n", r.line())
	}
	fmt.Fprintf(stdout, "load average after: %s\n", benchproc.LoadAverage())
	table := render(res, cfg)
	fmt.Fprint(stdout, table)
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, []byte(table), 0o644); err != nil {
			return res, err
		}
	}
	return res, nil
}

func startJingled(ctx context.Context, cfg config, dir string, srv *prosodytest.Server, echo prosodytest.Account) (*benchproc.Jingled, error) {
	port, err := benchproc.FreePort()
	if err != nil {
		return nil, err
	}
	httpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	udpPort := 0
	if cfg.mux {
		if udpPort, err = benchproc.FreeUDPPort(); err != nil {
			return nil, err
		}
	}
	conf := fmt.Sprintf(`# bench/calls: jingled answering echo calls
[log]
level = "warn"

[http]
listen = %q
pprof = true

[ice]
loopback_only = true
discover = false
udp_port = %d

[[account]]
jid = %q
password = %q
server = %q
ca_file = %q
role = "echo"
echo_delay = "0s"
max_calls = %d
max_duration = "1h"
allow = ["*"]
`, httpAddr, udpPort, echo.JID, echo.Password, srv.Addr, srv.CAFile, max(64, slices.Max(cfg.levels)))
	j, err := benchproc.StartJingled(ctx, cfg.jingled, dir, httpAddr, conf, cfg.pin)
	if err != nil {
		return nil, err
	}
	// /healthz answers once the account is online and its features are
	// announced; a first call can go straight in.
	return j, nil
}

// Prosody's c2s without Nagle's algorithm (docs/DEPLOY.md).
const (
	nagleOff        = "with nagle = false"
	prosodyNagleOff = "network_settings = { nagle = false }"
)

// setupTimes starts a Prosody with the global lua, a jingled echo account
// on it and one caller, and times cfg.setup calls one after another.
func setupTimes(ctx context.Context, cfg config, dir, lua string, app *rtp.Application, p *pacer) ([]time.Duration, error) {
	st, err := startSite(ctx, cfg, dir, lua, 1)
	if err != nil {
		return nil, err
	}
	defer st.close()
	var out []time.Duration
	for i := range cfg.setup {
		d, err := setupOnce(ctx, app, p, st.callers[0], st.callee, i)
		if err != nil {
			return out, fmt.Errorf("call %d: %w", i+1, err)
		}
		out = append(out, d)
	}
	slices.Sort(out)
	return out, nil
}

// site is one Prosody (with the global lua) and a jingled echo account
// on it, and the caller accounts logged in.
type site struct {
	srv     *prosodytest.Server
	j       *benchproc.Jingled
	callee  string
	callers []*caller
}

func startSite(ctx context.Context, cfg config, dir, lua string, ncallers int) (*site, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	srv, err := prosodytest.Start(ctx, filepath.Join(dir, "prosody"), prosodytest.WithGlobalConfig(lua))
	if err != nil {
		return nil, err
	}
	st := &site{srv: srv}
	echo, err := srv.CreateAccount(ctx, "echo", "bench-echo")
	if err == nil {
		st.j, err = startJingled(ctx, cfg, dir, srv, echo)
	}
	if err == nil {
		st.callee = echo.JID + "/jingled"
		st.callers, err = loginCallers(ctx, srv, ncallers)
	}
	if err != nil {
		st.close()
		return nil, err
	}
	return st, nil
}

func (st *site) close() {
	for _, c := range st.callers {
		c.close()
	}
	if st.j != nil {
		st.j.Stop()
	}
	st.srv.Close()
}

// caller is one caller account: its own XMPP connection and Jingle
// manager.
type caller struct {
	client *xmpp.Client
	mgr    *jingle.Manager
}

func loginCallers(ctx context.Context, srv *prosodytest.Server, n int) ([]*caller, error) {
	var out []*caller
	for i := range n {
		acct, err := srv.CreateAccount(ctx, fmt.Sprintf("caller%d", i+1), "bench-caller")
		if err != nil {
			return out, err
		}
		c, err := xmpp.New(xmpp.Config{JID: acct.JID, Password: acct.Password, Resource: "load", Addr: srv.Addr, CAFile: srv.CAFile})
		if err != nil {
			return out, err
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = c.Start(sctx)
		cancel()
		if err != nil {
			return out, err
		}
		m := jingle.NewManager(c.JID(), c, jingle.WithTransport(rtp.ICEUDP{}))
		c.Serve(m)
		out = append(out, &caller{client: c, mgr: m})
	}
	return out, nil
}

func (c *caller) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.mgr.Close(ctx)
	_ = c.client.Close()
}

// printSteps (-steps) prints each call's events with their times.
var printSteps bool

// dial places one echo call sending the looped tone and waits for the
// first echoed packet.
func dial(ctx context.Context, app *rtp.Application, p *pacer, from *caller, to string, n int) (*rtp.Call, error) {
	src, err := p.source(n)
	if err != nil {
		return nil, err
	}
	c, err := app.Dial(ctx, from.mgr, to, rtp.CallOptions{MediaOptions: rtp.MediaOptions{AudioSource: src}})
	if err != nil {
		src.Close()
		return nil, err
	}
	start := time.Now()
	var steps []string
	for {
		select {
		case e, ok := <-c.Events():
			if !ok || e.Type == rtp.EventEnded {
				return c, fmt.Errorf("call ended before media: %s", c.Reason())
			}
			steps = append(steps, fmt.Sprintf("%s +%v", e.Type, e.Time.Sub(start).Round(100*time.Microsecond)))
			if e.Type == rtp.EventMedia {
				if printSteps {
					fmt.Fprintln(os.Stderr, strings.Join(steps, ", "))
				}
				return c, nil
			}
		case <-ctx.Done():
			return c, ctx.Err()
		}
	}
}

// setupOnce times one call from Dial to the first echoed packet.
func setupOnce(ctx context.Context, app *rtp.Application, p *pacer, from *caller, to string, n int) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	c, err := dial(ctx, app, p, from, to, n)
	if c != nil {
		defer c.Hangup(context.Background())
	}
	if err != nil {
		return 0, err
	}
	return c.FirstMedia().Sub(start), nil
}

// level fills jingled with n echo calls, measures a window, hangs up.
func level(ctx context.Context, cfg config, j *benchproc.Jingled, srv *prosodytest.Server, app *rtp.Application, p *pacer, callers []*caller, callee string, n int) (row, error) {
	r := row{n: n}
	m, err := j.Scrape()
	if err != nil {
		return r, err
	}
	r.rssIdle = m["process_resident_memory_bytes"]
	heap0, gor0 := m["go_memstats_heap_inuse_bytes"], m["go_goroutines"]

	var mu sync.Mutex
	var calls []*rtp.Call
	var errs []error
	defer func() {
		var wg sync.WaitGroup
		for _, c := range calls {
			wg.Add(1)
			go func() { defer wg.Done(); _ = c.Hangup(context.Background()) }()
		}
		wg.Wait()
		waitIdle(j)
	}()
	// A batch spreads over the accounts: jingle lets one peer have only
	// a few sessions pending at once (8).
	nacc := (n + cfg.perAccount - 1) / cfg.perAccount
	batch := min(cfg.batch, jingle.DefaultPendingPerPeer*nacc)
	for i := 0; i < n; i += batch {
		var wg sync.WaitGroup
		for k := i; k < min(n, i+batch); k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
				defer cancel()
				c, err := dial(dctx, app, p, callers[k%nacc], callee, k)
				mu.Lock()
				defer mu.Unlock()
				if c != nil {
					calls = append(calls, c)
				}
				if err != nil {
					errs = append(errs, err)
				}
			}()
		}
		wg.Wait()
	}
	// Calls that did not come up are counted, not fatal: the level is
	// measured with the calls that did, and the table says it was not
	// held.
	r.setupFailed = len(errs)
	if len(errs) > 0 {
		r.firstErr = errs[0].Error()
	}
	r.held = n - len(errs)
	if r.held == 0 {
		return r, fmt.Errorf("no call of %d came up, first: %w", n, errs[0])
	}
	time.Sleep(2 * time.Second) // every call past its first second

	// The window starts and ends with the load paused and every echo in
	// flight back (quiesce): a packet queued at jingled's socket when
	// the window closes is late, not lost, and its CPU is spent after
	// the close. So the loss counts the packets sent in the window that
	// never came back, and jingled's CPU is what it spent on them: from
	// the start to the end of the drain, over the window's length.
	jq := func() uint64 { q, _ := benchproc.UDPQueued(j.Pid()); return q }
	sent0, recv0, _ := quiesce(p, calls, jq)
	jd0, ld0, err := drops(j)
	if err != nil {
		return r, err
	}
	cpu0, load0, pros0 := benchproc.ProcCPU(strconv.Itoa(j.Pid())), selfCPU(), benchproc.ProsodyCPU(srv)
	p.paused.Store(false)
	t0 := time.Now()
	var stopLoadProfile func() error
	if cfg.cpuprofile != "" {
		go j.SaveProfile(filepath.Join(cfg.cpuprofile, fmt.Sprintf("calls%d.pprof", n)), cfg.window)
		go j.SaveAllocs(filepath.Join(cfg.cpuprofile, fmt.Sprintf("calls%d.allocs.pprof", n)), cfg.window)
		// The load's own profile, to tell what keeps it from its rate.
		if stopLoadProfile, err = startSelfProfile(filepath.Join(cfg.cpuprofile, fmt.Sprintf("calls%d.load.pprof", n))); err != nil {
			return r, err
		}
	}
	time.Sleep(cfg.window)
	if stopLoadProfile != nil {
		if err := stopLoadProfile(); err != nil {
			return r, err
		}
	}
	wall := time.Since(t0).Seconds()
	// What waited at either end's sockets as the window closed: which of
	// the two was behind.
	r.queuedJingled, _ = benchproc.UDPQueued(j.Pid())
	r.queuedLoad, _ = benchproc.UDPQueued(os.Getpid())
	sent1, recv1, drain := quiesce(p, calls, jq)
	p.paused.Store(false)
	r.drain = drain
	cpu1, load1, pros1 := benchproc.ProcCPU(strconv.Itoa(j.Pid())), selfCPU(), benchproc.ProsodyCPU(srv)
	jd1, ld1, err := drops(j)
	if err != nil {
		return r, err
	}
	m1, err := j.Scrape()
	if err != nil {
		return r, err
	}
	r.jingledCores = (cpu1 - cpu0) / wall
	r.loadCores = (load1 - load0) / wall
	r.prosodyCores = (pros1 - pros0) / wall
	r.rssLoaded = m1["process_resident_memory_bytes"]
	r.rssPerCall = (r.rssLoaded - r.rssIdle) / float64(r.held)
	r.heapPerCall = (m1["go_memstats_heap_inuse_bytes"] - heap0) / float64(r.held)
	r.goroutinesPerCall = (m1["go_goroutines"] - gor0) / float64(r.held)
	ds, dr := float64(sent1-sent0), float64(recv1-recv0)
	r.sentPerCall = ds / wall / float64(r.held)
	if ds > 0 {
		r.loss = max(0, 1-dr/ds)
		r.dropJingled = float64(jd1-jd0) / ds
		r.dropLoad = float64(ld1-ld0) / ds
	}
	return r, nil
}

// drops reads the receive-buffer drops at jingled's UDP sockets and at
// the load's (this process's).
func drops(j *benchproc.Jingled) (jingled, load uint64, err error) {
	if jingled, err = benchproc.UDPDrops(j.Pid()); err != nil {
		return 0, 0, fmt.Errorf("jingled's UDP drops: %w", err)
	}
	if load, err = benchproc.UDPDrops(os.Getpid()); err != nil {
		return 0, 0, fmt.Errorf("the load's UDP drops: %w", err)
	}
	return jingled, load, nil
}

// quiesce pauses the load and waits until jingled's socket has nothing
// queued and no echo has come for 200 ms (at most 20 s): a collection
// can hold jingled silent for longer than that with echoes still
// queued. It returns the packets sent and echoes received so far and
// how long after the pause the last echo came: how far behind the two
// ends were. The caller resumes the load.
func quiesce(p *pacer, calls []*rtp.Call, jingledQueued func() uint64) (sent, recv uint64, drain time.Duration) {
	p.paused.Store(true)
	start := time.Now()
	_, recv = counts(calls)
	last := start
	for time.Since(start) < 20*time.Second {
		time.Sleep(10 * time.Millisecond)
		if _, r := counts(calls); r != recv {
			recv, last = r, time.Now()
			continue
		}
		if time.Since(last) >= 200*time.Millisecond && jingledQueued() == 0 {
			break
		}
	}
	sent, recv = counts(calls)
	return sent, recv, last.Sub(start)
}

func counts(calls []*rtp.Call) (sent, recv uint64) {
	for _, c := range calls {
		s := c.Stats()
		sent += s.PacketsSent
		recv += s.PacketsReceived
	}
	return sent, recv
}

// waitIdle waits (up to a minute) until jingled has no session left, so
// the next level starts from idle.
func waitIdle(j *benchproc.Jingled) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		m, err := j.Scrape()
		if err == nil && m[`jingled_sessions{role="echo",state="active"}`] == 0 && m[`jingled_sessions{role="echo",state="pending"}`] == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startSelfProfile profiles this process's CPU into path until the
// returned function is called.
func startSelfProfile(path string) (func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("profiling the load: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func pctD(s []time.Duration, p int) time.Duration {
	i := (len(s)*p + 99) / 100
	return s[max(i, 1)-1].Round(100 * time.Microsecond)
}
