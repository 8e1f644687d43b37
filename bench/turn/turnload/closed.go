package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/jingled/jingled/bench/internal/benchproc"
	"github.com/jingled/jingled/internal/proccpu"
)

// The closed-loop flood (-window): every client keeps a window of
// ChannelData messages in flight through the relay to the echo peer and
// sends a new one for each that comes back, as a file transfer or a video
// call through a relay does when its sender is faster than the path. The
// relay's rate is then what it can turn around, not what the load offers,
// and its latency shows in the rate: clients x window / RTT. Unlike the
// open-loop rates, this needs no CPU quota to make the server the limit,
// so it measures the relay as an operator runs it, sharing the machine's
// cores with everything else.
//
// Each message carries its send time (nanoseconds since the run started)
// in its first 8 bytes; the echo comes back unchanged, so every round trip
// is timed. A client that hears nothing for closedRefill assumes its
// window was lost (a full socket buffer drops datagrams) and sends a fresh
// one, counting the missing messages as lost.

// closedRefill is how long a client waits for any echo before it refills
// its window.
const closedRefill = 100 * time.Millisecond

// rttBuckets is the round-trip histogram: 10 µs buckets up to 100 ms.
const (
	rttBucket  = 10 * time.Microsecond
	rttBuckets = 10000
)

// closedClient is one allocation's side of the closed loop, owned by its
// goroutine.
type closedClient struct {
	c      *client
	srv    *net.UDPAddr
	window int
	size   int
	start  time.Time

	counting *atomic.Bool // inside the measured window
	echoed   int64        // round trips completed while counting
	sent     int64        // messages sent while counting
	lost     int64        // messages given up while counting
	rtt      [rttBuckets + 1]uint32
}

// closedResult is one window size's totals.
type closedResult struct {
	echoed, sent, lost int64
	rtt                [rttBuckets + 1]uint64
	serverCPU          time.Duration // the -pid process's CPU over the window
	loadCPU            time.Duration // this process's
	softirq            time.Duration // the machine's, where the kernel delivers loopback datagrams
}

// runClosed drives every client's loop for warmup and then d, and prints
// one line per window size.
func runClosed(cs []*client, srv *net.UDPAddr, size int, windows []int, pid int, warmup, d time.Duration) error {
	if size < 8 {
		return errors.New("closed loop: -size must be at least 8 (the send time)")
	}
	for _, w := range windows {
		res, err := closedRound(cs, srv, size, w, pid, warmup, d)
		if err != nil {
			return err
		}
		secs := d.Seconds()
		loss := 0.0
		if res.sent > 0 {
			loss = 100 * float64(res.lost) / float64(res.sent)
		}
		perEcho := 0.0
		if res.echoed > 0 {
			perEcho = float64(res.serverCPU.Nanoseconds()) / 1e3 / float64(res.echoed)
		}
		fmt.Printf("window=%d clients=%d echoed=%d echo_per_s=%.0f relayed_per_s=%.0f loss_pct=%.3f rtt_p50_us=%d rtt_p95_us=%d rtt_p99_us=%d server_cores=%.2f server_us_per_echo=%.2f load_cores=%.2f softirq_cores=%.2f\n",
			w, len(cs), res.echoed, float64(res.echoed)/secs, 2*float64(res.echoed)/secs, loss,
			res.quantile(0.50).Microseconds(), res.quantile(0.95).Microseconds(), res.quantile(0.99).Microseconds(),
			res.serverCPU.Seconds()/secs, perEcho, res.loadCPU.Seconds()/secs, res.softirq.Seconds()/secs)
	}

	return nil
}

// closedRound runs one window size on every client.
func closedRound(cs []*client, srv *net.UDPAddr, size, window, pid int, warmup, d time.Duration) (*closedResult, error) {
	var counting, stop atomic.Bool
	start := time.Now()
	ccs := make([]*closedClient, len(cs))
	var wg sync.WaitGroup
	errs := make([]error, len(cs))
	for i, c := range cs {
		ccs[i] = &closedClient{c: c, srv: srv, window: window, size: size, start: start, counting: &counting}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = ccs[i].run(&stop)
		}()
	}
	time.Sleep(warmup)
	srv0, load0, irq0 := serverCPU(pid), proccpu.Used(), softirqTime()
	counting.Store(true)
	time.Sleep(d)
	counting.Store(false)
	srv1, load1, irq1 := serverCPU(pid), proccpu.Used(), softirqTime()
	stop.Store(true)
	wg.Wait()
	// Let the last round's echoes land before the next window starts.
	time.Sleep(200 * time.Millisecond)
	for _, c := range cs {
		drainNow(c)
	}
	res := &closedResult{serverCPU: srv1 - srv0, loadCPU: load1 - load0, softirq: irq1 - irq0}
	for _, cc := range ccs {
		res.echoed += cc.echoed
		res.sent += cc.sent
		res.lost += cc.lost
		for i, n := range cc.rtt {
			res.rtt[i] += uint64(n)
		}
	}

	return res, errors.Join(errs...)
}

// run is one client's loop until stop: send the window, then one message
// per echo, refilling after closedRefill of silence.
func (cc *closedClient) run(stop *atomic.Bool) error {
	const batch = 64
	in := make([]ipv4.Message, batch)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, 2048)}
	}
	// One frame buffer per slot of the window, so a batch never shares one.
	frames := make([][]byte, batch)
	out := make([]ipv4.Message, batch)
	for i := range frames {
		f := make([]byte, (4+cc.size+3)&^3)
		f[0], f[1] = 0x40, 0x00
		f[2], f[3] = byte(cc.size>>8), byte(cc.size)
		frames[i] = f
		out[i] = ipv4.Message{Buffers: [][]byte{f}, Addr: cc.srv}
	}
	send := func(n int) error {
		for n > 0 {
			k := min(n, batch)
			now := uint64(time.Since(cc.start)) //nolint:gosec // Positive.
			for i := range k {
				binary.BigEndian.PutUint64(frames[i][4:], now)
			}
			for done := 0; done < k; {
				m, err := cc.c.pc.WriteBatch(out[done:k], 0)
				if err != nil {
					return fmt.Errorf("closed loop: send: %w", err)
				}
				done += m
			}
			if cc.counting.Load() {
				cc.sent += int64(k)
			}
			n -= k
		}

		return nil
	}
	inflight := cc.window
	if err := send(cc.window); err != nil {
		return err
	}
	for !stop.Load() {
		_ = cc.c.conn.SetReadDeadline(time.Now().Add(closedRefill))
		n, err := cc.c.pc.ReadBatch(in, 0)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if cc.counting.Load() {
					cc.lost += int64(inflight)
				}
				inflight = cc.window
				if err := send(cc.window); err != nil {
					return err
				}

				continue
			}

			return fmt.Errorf("closed loop: read: %w", err)
		}
		now := time.Since(cc.start)
		back := 0
		for i := range n {
			b := in[i].Buffers[0][:in[i].N]
			if len(b) < 12 || b[0]&0xC0 != 0x40 {
				continue
			}
			back++
			if cc.counting.Load() {
				cc.echoed++
				rtt := now - time.Duration(binary.BigEndian.Uint64(b[4:])) //nolint:gosec // Our own stamp.
				cc.rtt[min(max(0, int(rtt/rttBucket)), rttBuckets)]++
			}
		}
		inflight -= back
		// Keep the window full: one new message per echo, and top up
		// whatever a refill or a loss left short.
		if want := cc.window - inflight; want > 0 && !stop.Load() {
			if err := send(want); err != nil {
				return err
			}
			inflight += want
		}
	}
	_ = cc.c.conn.SetReadDeadline(time.Time{})

	return nil
}

// drainNow empties a client's socket without waiting.
func drainNow(c *client) {
	buf := make([]byte, 2048)
	_ = c.conn.SetReadDeadline(time.Now())
	for {
		if _, _, err := c.conn.ReadFromUDP(buf); err != nil {
			break
		}
	}
	_ = c.conn.SetReadDeadline(time.Time{})
}

// quantile is the round-trip time below which q of the timed round trips
// fall (the upper edge of its bucket).
func (r *closedResult) quantile(q float64) time.Duration {
	var total uint64
	for _, n := range r.rtt {
		total += n
	}
	if total == 0 {
		return 0
	}
	want := uint64(q * float64(total))
	var acc uint64
	for i, n := range r.rtt {
		acc += n
		if acc > want {
			return time.Duration(i+1) * rttBucket
		}
	}

	return time.Duration(len(r.rtt)) * rttBucket
}

// parseWindows reads -window's comma-separated sizes.
func parseWindows(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		var w int
		if _, err := fmt.Sscan(f, &w); err != nil || w <= 0 {
			return nil, fmt.Errorf("bad window %q", f)
		}
		out = append(out, w)
	}
	if len(out) == 0 {
		return nil, errors.New("no window")
	}
	slices.Sort(out)

	return out, nil
}

// serverCPU is the -pid process's CPU time so far (0 without a pid).
func serverCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	return time.Duration(benchproc.ProcCPU(strconv.Itoa(pid)) * float64(time.Second))
}

// clockTicks is USER_HZ, 100 on Linux: /proc/stat's unit.
const clockTicks = 100

// softirqTime is the machine's time in software interrupts (/proc/stat),
// where, with IRQ time accounting, the kernel's delivery of loopback
// datagrams is counted instead of in the sending process.
func softirqTime() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	v, _ := strconv.ParseInt(f[7], 10, 64)

	return time.Duration(v) * (time.Second / clockTicks)
}
