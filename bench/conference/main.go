// Command conference benchmarks jingled's conference rooms (`make
// bench-conference`): the real jingled binary, in component mode against
// a throwaway Prosody, serves rooms that a separate load process
// (bench/conference/confload) fills with participants over real calls.
// Each run starts a fresh jingled, lets confload join every participant,
// then measures a window: loss both ways, the focus's CPU and the
// mixer's (from jingled's metrics), memory per participant, and the
// latency the mixer adds to tone bursts (sender to receiver, p50/p95).
// It prints one table with the targets and the reference
// numbers beside it. See bench/conference/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jingled/jingled/bench/conference/internal/loadwire"
	"github.com/jingled/jingled/bench/internal/benchproc"
	"github.com/jingled/jingled/internal/prosodytest"
)

func main() {
	cfg := defaultConfig()
	cfg.flags(flag.CommandLine)
	flag.Parse()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.allVideo {
		// Multi-stream runs: video, without the audio-only baseline
		// (the audio is a small part of these rooms' cost) unless asked.
		cfg.video = true
		if !set["baseline"] {
			cfg.baseline = false
		}
		if !set["participants"] {
			cfg.small = []int{20, 30, 40, 50}
		}
	}
	if cfg.video {
		// Video runs: one active speaker per room (whom every other
		// participant is shown), no big room, unless asked otherwise.
		if !set["talkers"] {
			cfg.talkers = 1
		}
		if !set["big"] {
			cfg.big = 0
		}
	}
	if _, err := run(context.Background(), cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench/conference:", err)
		os.Exit(1)
	}
}

// config is what to run.
type config struct {
	jingled, confload  string // binaries; empty: go build
	roomSize, talkers  int
	small              []int // participant counts in rooms of roomSize
	big                int   // one room of this many; 0 skips
	window, warmup     time.Duration
	contentsWait       time.Duration // -all-video: confload's wait for the added contents
	probes             int
	pin                bool // jingled on CPU 0, confload on CPU 1
	keepGoing          bool // run every size even past 1% loss
	out                string
	video              bool   // participants also send and receive VP8
	allVideo           bool   // video, and every participant receives every other's (multi-stream)
	baseline           bool   // -video: each size audio-only first, to subtract
	cpuprofile         string // directory for a CPU profile of jingled per window
	loadProfile        string // directory for a CPU profile of confload per window
	trace              string // directory for an execution trace of jingled per window
	mux                bool   // jingled's calls on one UDP port ([ice] udp_port)
	loadMux            bool   // confload's calls on one UDP port of its own (a cheaper receive)
	probeProcess       bool   // the probes' rooms in a confload of their own
	loadNice           int    // nice value of the other rooms' confload when the probes have their own
	overloadComplexity int    // jingled's [conference] overload_complexity
}

func defaultConfig() config {
	return config{
		roomSize: 10, talkers: 3, small: []int{50, 100, 150, 200, 300}, big: 100,
		window: 10 * time.Second, warmup: 3 * time.Second, contentsWait: 2 * time.Minute, probes: 12,
		pin: runtime.NumCPU() >= 2, baseline: true, mux: true, probeProcess: true, loadNice: 10, overloadComplexity: 2,
	}
}

func (c *config) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.jingled, "jingled", "", "jingled binary (default: go build ./cmd/jingled)")
	fs.StringVar(&c.confload, "confload", "", "confload binary (default: go build ./bench/conference/confload)")
	fs.IntVar(&c.roomSize, "room-size", c.roomSize, "participants per room in the scaling runs")
	fs.IntVar(&c.talkers, "talkers", c.talkers, "talkers per room (the others listen)")
	fs.Func("participants", "comma-separated participant counts of the scaling runs (rooms of -room-size)", func(s string) error {
		var err error
		c.small, err = benchproc.ParseCounts(s)
		return err
	})
	fs.IntVar(&c.big, "big", c.big, "participants of the one big room (0: none)")
	fs.DurationVar(&c.window, "window", c.window, "measurement window per run")
	fs.DurationVar(&c.warmup, "warmup", c.warmup, "time between the last join and the window")
	fs.IntVar(&c.probes, "probes", c.probes, "receivers that decode the mix to time the bursts, per run")
	fs.BoolVar(&c.pin, "pin", c.pin, "pin jingled to CPU 0 and confload to CPU 1 (taskset)")
	fs.BoolVar(&c.mux, "mux", c.mux, "put every participant's call on one UDP port of jingled's ([ice] udp_port, as docs/DEPLOY.md advises for a focus); -mux=false: a port per call")
	fs.BoolVar(&c.loadMux, "load-mux", c.loadMux, "put every participant's call on one UDP port of the load's, read in batches (for -all-video, where the load receives every forwarded packet; no gain measured so far); ignored with -mux")
	fs.BoolVar(&c.probeProcess, "probe-process", c.probeProcess, "audio runs of several rooms: the rooms of the -probes (one probe each, whole: talkers, listeners and the probe) in a second confload, on the same CPU, so the load's own queue of work does not delay the timed bursts; -probe-process=false: every room in one confload, as before 2026-12-07")
	fs.IntVar(&c.loadNice, "load-nice", c.loadNice, "with -probe-process: run the other rooms' confload at this nice value (nice -n), so that on the load's one CPU it yields to the probes' process: the participants it stands in for are other machines, whose work delays nobody's bursts; 0: same priority")
	fs.IntVar(&c.overloadComplexity, "overload-complexity", c.overloadComplexity, "jingled's [conference] overload_complexity: the Opus complexity its mixers fall back to while their ticks keep starting late (5: no fallback, as before 2026-12-07 04:00)")
	fs.BoolVar(&c.keepGoing, "keep-going", false, "run every size even after one lost more than 1%")
	fs.StringVar(&c.out, "o", "", "also write the table to this file")
	fs.BoolVar(&c.video, "video", false, "video runs: every participant also sends VP8 and receives the forwarded speaker's video (-talkers defaults to 1, -big to 0)")
	fs.BoolVar(&c.allVideo, "all-video", false, "multi-stream video runs (implies -video): every participant also advertises the room's all-video feature and receives every other participant's video as a content of its own; -baseline defaults to false, -participants to 20,30,40,50")
	fs.DurationVar(&c.contentsWait, "contents-wait", c.contentsWait, "with -all-video: how long the load waits after the last join for every added content to carry media, before the warmup (the row then reports how many did)")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "save a CPU profile of jingled over each window into this directory (jingled's http.pprof), for go tool pprof; with the allocations over the window (NAME.allocs.pprof) and the live heap at its end (NAME.heap.pprof)")
	fs.StringVar(&c.trace, "trace", "", "save an execution trace of jingled over the first 5 s of each window into this directory (jingled's http.pprof), for go tool trace (-pprof=sched: where goroutines waited for the CPU)")
	fs.StringVar(&c.loadProfile, "load-cpuprofile", "", "save a CPU profile of the load generator (confload) over each window into this directory")
	fs.BoolVar(&c.baseline, "baseline", c.baseline, "with -video: run each size audio-only first, the same rooms, to tell the video's share of the focus CPU")
}

// row is one run's measurements.
type row struct {
	name                string
	rooms, asked        int
	res                 loadwire.Result  // every load process's, added up
	probeRes            *loadwire.Result // the probes' process alone, with -probe-process
	upLoss, downLoss    float64
	focusCores          float64 // jingled process CPU / window
	mixerCores          float64 // mixer metric / window
	sendCores           float64 // mixer send metric / window
	decodes, encodes    float64 // mixer codec calls / window (per second)
	overloadShare       float64 // of the rooms' frames, those encoded at the overload complexity
	prosodyCores        float64
	gcPerSec, allocMBps float64 // the focus's Go GC cycles and allocation, per second
	rssIdle, rssLoaded  float64 // bytes
	p50, p95, p99, pmax float64 // ms
	participantsInRooms float64 // jingled_conference_participants
	scaling             bool    // a run of rooms of -room-size
	video               bool    // a -video run
	allVideo            bool    // a -all-video run
	base                *row    // its audio-only baseline (same rooms)
	talkers             int
}

func (r row) held() bool {
	return r.res.Joined == r.asked && r.upLoss < 0.01 && r.downLoss < 0.01 && r.res.Ended == 0 && (!r.video || r.videoHeld())
}

// videoHeld says the forwarded video held: everyone joined and got its
// streams (one; with -all-video one more per other participant of its
// room, every added content carrying media when the window opened),
// under 1% video loss, no call ended, nothing misrouted. The audio's
// losses are judged apart (held).
func (r row) videoHeld() bool {
	v := r.res.Video
	return r.res.Joined == r.asked && r.res.Ended == 0 && v != nil && v.Streams == r.wantStreams() &&
		r.videoLoss() < 0.01 && v.Self == 0 && v.Unknown == 0 &&
		v.Contents == v.ContentsExpected && v.Misrouted == 0 && v.Missing == 0
}

// wantStreams is how many forwarded streams the receivers should get
// when everyone joined: one each, or with -all-video one per participant
// of their room (the view and one per other).
func (r row) wantStreams() int {
	if r.allVideo {
		return r.asked * (r.asked / max(r.rooms, 1))
	}
	return r.asked
}

func run(ctx context.Context, cfg config, stdout io.Writer) ([]row, error) {
	dir, err := os.MkdirTemp("", "bench-conference-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// The profiles' directories, made here so that a run does not end
	// with "no such file or directory" after its window.
	for _, d := range []string{cfg.cpuprofile, cfg.loadProfile, cfg.trace} {
		if d == "" {
			continue
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if cfg.jingled == "" || cfg.confload == "" {
		if err := build(ctx, dir, &cfg); err != nil {
			return nil, err
		}
	}
	if cfg.pin {
		if err := benchproc.CheckPin(); err != nil {
			return nil, err
		}
	}
	const secret = "bench-conference-secret"
	srv, err := prosodytest.Start(ctx, filepath.Join(dir, "prosody"), prosodytest.WithComponent("call", secret))
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	// A few accounts; each participant is a resource of one of them, with
	// its own c2s connection.
	const password = "bench-load"
	var accounts []string
	for i := range 8 {
		a, err := srv.CreateAccount(ctx, fmt.Sprintf("load%d", i+1), password)
		if err != nil {
			return nil, err
		}
		accounts = append(accounts, a.JID)
	}
	fmt.Fprintf(stdout, "bench/conference: Prosody %s, component %s at %s; %d CPUs; pinned: %v; window %v; probes' own process: %v, the other load's nice: %d\n",
		srv.Addr, srv.ComponentJID, srv.ComponentAddr, runtime.NumCPU(), cfg.pin, cfg.window, cfg.probeProcess, cfg.loadNice)
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(stdout, "load average before: %s", la)
	}

	type spec struct {
		name             string
		rooms, size, tlk int
		scaling          bool
		video, baseline  bool
		allVideo         bool
	}
	var specs []spec
	for _, n := range cfg.small {
		rooms := max(1, (n+cfg.roomSize-1)/cfg.roomSize)
		name := fmt.Sprintf("%dx%d", rooms, cfg.roomSize)
		if cfg.video && cfg.baseline {
			specs = append(specs, spec{name: name + " audio", rooms: rooms, size: cfg.roomSize, tlk: cfg.talkers, scaling: true, baseline: true})
		}
		specs = append(specs, spec{name: name, rooms: rooms, size: cfg.roomSize, tlk: cfg.talkers, scaling: true, video: cfg.video, allVideo: cfg.allVideo})
	}
	if cfg.big > 0 {
		name := fmt.Sprintf("1x%d", cfg.big)
		if cfg.video && cfg.baseline {
			specs = append(specs, spec{name: name + " audio", rooms: 1, size: cfg.big, tlk: cfg.talkers, baseline: true})
		}
		specs = append(specs, spec{name: name, rooms: 1, size: cfg.big, tlk: cfg.talkers, video: cfg.video, allVideo: cfg.allVideo})
	}
	var rows []row
	var base *row
	failed := false
	for i, s := range specs {
		if failed && s.scaling && !cfg.keepGoing {
			continue
		}
		what := ""
		if s.video {
			what = ", all sending VP8"
		}
		if s.allVideo {
			what += ", each receiving every other's"
		}
		fmt.Fprintf(stdout, "run %s: %d rooms of %d, %d talking%s...\n", s.name, s.rooms, s.size, s.tlk, what)
		r, err := runOne(ctx, cfg, dir, srv, accounts, password, fmt.Sprintf("run%d", i), s.rooms, s.size, s.tlk, s.video, s.allVideo)
		if err != nil {
			return rows, fmt.Errorf("run %s: %w", s.name, err)
		}
		r.name, r.scaling, r.video, r.allVideo, r.talkers = s.name, s.scaling, s.video, s.allVideo, s.tlk
		if s.baseline {
			b := r
			base = &b
			fmt.Fprintf(stdout, "  %s\n", r.line())
			continue
		}
		if s.video {
			r.base, base = base, nil
		}
		rows = append(rows, r)
		fmt.Fprintf(stdout, "  %s\n", r.line())
		if r.video {
			fmt.Fprintf(stdout, "  %s\n", r.videoLine())
		}
		if s.scaling && (r.video && !r.videoHeld() || !r.video && !r.held()) {
			failed = true
		}
	}
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(stdout, "load average after: %s", la)
	}
	table := render(rows, cfg)
	if cfg.video {
		table = renderVideo(rows, cfg)
	}
	fmt.Fprint(stdout, table)
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, []byte(table), 0o644); err != nil {
			return rows, err
		}
	}
	return rows, nil
}

func build(ctx context.Context, dir string, cfg *config) error {
	for _, b := range []struct {
		dst *string
		pkg string
	}{{&cfg.jingled, "./cmd/jingled"}, {&cfg.confload, "./bench/conference/confload"}} {
		if *b.dst != "" {
			continue
		}
		out, err := benchproc.Build(ctx, dir, b.pkg)
		if err != nil {
			return err
		}
		*b.dst = out
	}
	return nil
}

func runOne(ctx context.Context, cfg config, dir string, srv *prosodytest.Server, accounts []string, password, prefix string, rooms, size, talkers int, video, allVideo bool) (row, error) {
	r := row{rooms: rooms, asked: rooms * size}
	j, err := startJingled(ctx, cfg, dir, srv, max(size, 32))
	if err != nil {
		return r, err
	}
	defer j.Stop()
	time.Sleep(time.Second)
	m, err := j.Scrape()
	if err != nil {
		return r, err
	}
	r.rssIdle = m["process_resident_memory_bytes"]

	// The load: one confload with every room, or with -probe-process
	// two: the probes' rooms whole (talkers, listeners and the probe) in
	// a process of their own, so that the bursts are sent and timed
	// where no queue of the other 20-300 participants' work delays them,
	// and the rest in the other. The focus serves both alike.
	base := []string{
		"-addr", srv.Addr, "-ca", srv.CAFile, "-domain", srv.ComponentJID,
		"-accounts", strings.Join(accounts, ","), "-password", password,
		"-size", strconv.Itoa(size), "-talkers", strconv.Itoa(talkers),
		"-warmup", cfg.warmup.String(),
	}
	if video {
		base = append(base, "-video")
	}
	if allVideo {
		base = append(base, "-all-video", "-contents-wait", cfg.contentsWait.String())
	}
	if cfg.loadMux && !cfg.mux {
		base = append(base, "-mux")
	}
	type part struct {
		name, prefix  string
		rooms, probes int
		nice          int
	}
	parts := []part{{"confload", prefix, rooms, cfg.probes, 0}}
	if probeRooms := min(cfg.probes, rooms-1); cfg.probeProcess && !video && probeRooms > 0 {
		parts = []part{{"confload", prefix, rooms - probeRooms, 0, cfg.loadNice}, {"confload (probes)", prefix + "p", probeRooms, cfg.probes, 0}}
	}
	var loads []*loadProc
	defer func() { stopLoads(loads) }()
	for i, pt := range parts {
		args := append(slices.Clone(base), "-prefix", pt.prefix, "-rooms", strconv.Itoa(pt.rooms), "-probes", strconv.Itoa(pt.probes))
		if cfg.loadProfile != "" {
			args = append(args, "-cpuprofile", filepath.Join(cfg.loadProfile, fmt.Sprintf("%s%dx%d-load%d.pprof", prefix, rooms, size, i)))
		}
		p, err := startLoad(pt.name, cfg.confload, cfg.pin, pt.nice, args)
		if err != nil {
			return r, err
		}
		loads = append(loads, p)
	}
	for _, p := range loads {
		if _, err := p.expect(loadwire.Ready, 10*time.Minute); err != nil {
			return r, err
		}
	}
	prosody0 := benchproc.ProsodyCPU(srv)
	m0, err := j.Scrape()
	if err != nil {
		return r, err
	}
	for _, p := range loads {
		p.send(loadwire.Start)
	}
	for _, p := range loads {
		if _, err := p.expect(loadwire.Started, time.Minute); err != nil {
			return r, err
		}
	}
	t0 := time.Now()
	if cfg.cpuprofile != "" {
		go j.SaveProfile(filepath.Join(cfg.cpuprofile, fmt.Sprintf("%s%dx%d.pprof", prefix, rooms, size)), cfg.window)
		go j.SaveAllocs(filepath.Join(cfg.cpuprofile, fmt.Sprintf("%s%dx%d.allocs.pprof", prefix, rooms, size)), cfg.window)
		defer j.SaveHeap(filepath.Join(cfg.cpuprofile, fmt.Sprintf("%s%dx%d.heap.pprof", prefix, rooms, size)))
	}
	if cfg.trace != "" {
		go j.SaveTrace(filepath.Join(cfg.trace, fmt.Sprintf("%s%dx%d.trace", prefix, rooms, size)), min(cfg.window, 5*time.Second))
	}
	time.Sleep(cfg.window)
	m1, err := j.Scrape()
	if err != nil {
		return r, err
	}
	wall := time.Since(t0).Seconds()
	prosody1 := benchproc.ProsodyCPU(srv)
	for _, p := range loads {
		p.send(loadwire.Stop)
	}
	for i, p := range loads {
		res, err := p.result()
		if err != nil {
			return r, err
		}
		if i > 0 {
			pr := res
			r.probeRes = &pr
		}
		r.res.Add(res)
	}
	d := func(k string) float64 { return m1[k] - m0[k] }
	r.focusCores = d("process_cpu_seconds_total") / wall
	r.mixerCores = d("jingled_conference_mixer_cpu_seconds_total") / wall
	r.sendCores = d("jingled_conference_mixer_send_cpu_seconds_total") / wall
	r.decodes = d(`jingled_conference_mixer_codec_calls_total{op="decode"}`) / wall
	r.encodes = d(`jingled_conference_mixer_codec_calls_total{op="encode"}`) / wall
	if frames := float64(rooms) * wall / 0.020; frames > 0 {
		r.overloadShare = d("jingled_conference_mixer_overload_frames_total") / frames
	}
	r.prosodyCores = (prosody1 - prosody0) / wall
	r.gcPerSec = d("go_gc_duration_seconds_count") / wall
	r.allocMBps = d("go_memstats_alloc_bytes_total") / wall / 1e6
	r.rssLoaded = m1["process_resident_memory_bytes"]
	r.participantsInRooms = m1["jingled_conference_participants"]
	recv, lost := d(`jingled_conference_packets_total{outcome="received"}`), d(`jingled_conference_packets_total{outcome="lost"}`)
	if recv+lost > 0 {
		r.upLoss = lost / (recv + lost)
	}
	if r.res.ExpectedRate > 0 {
		// The stricter of the two: packets missing from the sequence, or
		// fewer packets than 50/s (a mixer that skips ticks sends no gap).
		seq := 1 - float64(r.res.Received)/float64(max(r.res.ExpectedSeq, 1))
		rate := 1 - float64(r.res.Received)/float64(r.res.ExpectedRate)
		r.downLoss = max(0, seq, rate)
	}
	if len(r.res.LatencyMS) > 0 {
		s := slices.Clone(r.res.LatencyMS)
		slices.Sort(s)
		r.p50, r.p95, r.p99, r.pmax = pct(s, 50), pct(s, 95), pct(s, 99), s[len(s)-1]
	}
	return r, nil
}

func pct(s []float64, p int) float64 {
	i := (len(s)*p + 99) / 100
	return s[max(i, 1)-1]
}

// startJingled starts the focus: jingled in component mode, pinned to
// CPU 0 with -pin.
func startJingled(ctx context.Context, cfg config, dir string, srv *prosodytest.Server, maxParticipants int) (*benchproc.Jingled, error) {
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
	conf := fmt.Sprintf(`# bench/conference: jingled as the focus, component mode
[log]
level = "warn"

[http]
listen = %q
pprof = true

[ice]
loopback_only = true
discover = false
udp_port = %d

[conference]
enabled = true
domain = %q
secret = %q
server = %q
max_rooms = 1000
max_participants = %d
announce = false
max_speakers = 3
overload_complexity = %d
`, httpAddr, udpPort, srv.ComponentJID, srv.ComponentSecret, srv.ComponentAddr, maxParticipants, cfg.overloadComplexity)
	return benchproc.StartJingled(ctx, cfg.jingled, dir, httpAddr, conf, cfg.pin)
}
