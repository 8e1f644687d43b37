// Command calls measures jingled's calls through a real Prosody on
// loopback (issue 3's `make bench`):
//
//   - call set-up time, from sending session-initiate to the first RTP
//     packet received by the caller, p50 and p95 over -setup calls;
//   - CPU and memory per active audio echo call at each -concurrency
//     level: callers send Opus, callees echo it back.
//
// Both ends of every call run in this process (two XMPP accounts), so a
// "call" costs two PeerConnections here; the per-call figures say so.
// Run it through `make bench-calls` (inside a network namespace with only
// lo) or directly: go run ./bench/calls.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/prosodytest"
	"github.com/jingled/jingled/internal/xmpp"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/calls:", err)
		os.Exit(1)
	}
}

type peer struct {
	client *xmpp.Client
	mgr    *jingle.Manager
}

func run() error {
	setupN := flag.Int("setup", 20, "calls for the set-up time measurement")
	levels := flag.String("concurrency", "1,10,100", "concurrent echo call counts")
	window := flag.Duration("window", 5*time.Second, "measurement window per concurrency level")
	flag.Parse()
	var counts []int
	for _, f := range strings.Split(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return fmt.Errorf("bad -concurrency %q", *levels)
		}
		counts = append(counts, n)
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "bench-calls-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := prosodytest.Start(ctx, dir)
	if err != nil {
		return err
	}
	defer srv.Close()

	// A tone long enough for the longest window.
	tone := filepath.Join(dir, "tone.ogg")
	if err := mediatest.SineOpus(ctx, tone, 440, *window+20*time.Second); err != nil {
		return err
	}
	peerOpts := rtp.PeerOptions{Loopback: true, Logger: slog.New(slog.DiscardHandler)}
	callee := rtp.NewApplication(rtp.ApplicationOptions{Peer: peerOpts, AutoAnswer: &rtp.MediaOptions{Echo: true}, NoRinging: true})
	// The callee accepts as many pending sessions as we open at once.
	bob, err := login(ctx, srv, "bob", append(callee.Options(), jingle.WithPendingLimits(1000, 1000))...)
	if err != nil {
		return err
	}
	defer bob.close()
	alice, err := login(ctx, srv, "alice", jingle.WithTransport(rtp.ICEUDP{}))
	if err != nil {
		return err
	}
	defer alice.close()
	caller := rtp.NewApplication(rtp.ApplicationOptions{Peer: peerOpts})

	fmt.Printf("calls: Prosody %s, %d cores, GOMAXPROCS %d\n", srv.Addr, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	var setups []time.Duration
	for i := 0; i < *setupN; i++ {
		d, err := setupOnce(ctx, caller, alice, bob.client.JID(), tone)
		if err != nil {
			return fmt.Errorf("set-up call %d: %w", i+1, err)
		}
		setups = append(setups, d)
	}
	slices.Sort(setups)
	fmt.Printf("call set-up (Dial: offer + session-initiate -> first RTP received), %d calls: p50 %v  p95 %v  min %v  max %v\n",
		len(setups), pct(setups, 50), pct(setups, 95), setups[0].Round(100*time.Microsecond), setups[len(setups)-1].Round(100*time.Microsecond))

	for _, n := range counts {
		if err := concurrent(ctx, caller, alice, bob.client.JID(), tone, n, *window); err != nil {
			return fmt.Errorf("%d concurrent calls: %w", n, err)
		}
	}
	return nil
}

func login(ctx context.Context, srv *prosodytest.Server, name string, opts ...jingle.Option) (*peer, error) {
	acct, err := srv.CreateAccount(ctx, name, "bench-"+name)
	if err != nil {
		return nil, err
	}
	c, err := xmpp.New(xmpp.Config{JID: acct.JID, Password: acct.Password, Resource: name, Addr: srv.Addr, CAFile: srv.CAFile})
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.Start(sctx); err != nil {
		return nil, err
	}
	m := jingle.NewManager(c.JID(), c, opts...)
	c.Serve(m)
	return &peer{client: c, mgr: m}, nil
}

func (p *peer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = p.mgr.Close(ctx)
	_ = p.client.Close()
}

func pct(s []time.Duration, p int) time.Duration {
	i := (len(s)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return s[i-1].Round(100 * time.Microsecond)
}

// setupOnce places one call and times session-initiate -> first RTP.
func setupOnce(ctx context.Context, app *rtp.Application, from *peer, to, tone string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	c, err := app.Dial(ctx, from.mgr, to, rtp.CallOptions{MediaOptions: rtp.MediaOptions{Audio: tone}})
	if err != nil {
		return 0, err
	}
	defer c.Hangup(context.Background())
	for e := range c.Events() {
		switch e.Type {
		case rtp.EventMedia:
			return c.FirstMedia().Sub(start), nil
		case rtp.EventEnded:
			return 0, fmt.Errorf("call ended before media: %s %s", e.Reason, e.Text)
		}
	}
	return 0, errors.New("call ended before media")
}

// concurrent keeps n echo calls up and measures CPU time and memory.
func concurrent(ctx context.Context, app *rtp.Application, from *peer, to, tone string, n int, window time.Duration) error {
	runtime.GC()
	rssBefore := rss()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	var calls []*rtp.Call
	defer func() {
		var wg sync.WaitGroup
		for _, c := range calls {
			wg.Add(1)
			go func() { defer wg.Done(); _ = c.Hangup(context.Background()) }()
		}
		wg.Wait()
	}()
	// Dial in batches so set-up does not overlap the measurement.
	const batch = 10
	for i := 0; i < n; i += batch {
		var mu sync.Mutex
		var wg sync.WaitGroup
		var errs []error
		for j := i; j < min(n, i+batch); j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
				defer cancel()
				c, err := app.Dial(dctx, from.mgr, to, rtp.CallOptions{MediaOptions: rtp.MediaOptions{Audio: tone}})
				if err == nil {
					err = waitMedia(dctx, c)
				}
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
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	cpu0, t0 := cpuTime(), time.Now()
	var before uint64
	for _, c := range calls {
		before += c.Stats().PacketsReceived
	}
	time.Sleep(window)
	cpu := cpuTime() - cpu0
	wall := time.Since(t0)
	var after uint64
	for _, c := range calls {
		after += c.Stats().PacketsReceived
	}
	runtime.GC()
	rssAfter := rss()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	drss := int64(rssAfter) - int64(rssBefore)
	dheap := int64(ms.HeapInuse) - int64(ms0.HeapInuse)
	fmt.Printf("%3d concurrent echo calls: CPU %5.1f%% of one core (%.2f%% per call); RSS %+.1f MiB (%.0f KiB per call); Go heap %+.1f MiB (%.0f KiB per call); %d goroutines; echo %.0f packets/s per call\n",
		n, 100*cpu.Seconds()/wall.Seconds(), 100*cpu.Seconds()/wall.Seconds()/float64(n),
		float64(drss)/(1<<20), float64(drss)/1024/float64(n),
		float64(dheap)/(1<<20), float64(dheap)/1024/float64(n),
		runtime.NumGoroutine(), float64(after-before)/wall.Seconds()/float64(n))
	return nil
}

func waitMedia(ctx context.Context, c *rtp.Call) error {
	for {
		select {
		case e, ok := <-c.Events():
			if !ok || e.Type == rtp.EventEnded {
				return fmt.Errorf("call ended before media: %s", c.Reason())
			}
			if e.Type == rtp.EventMedia {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rss reads the resident set size from /proc/self/status.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}
