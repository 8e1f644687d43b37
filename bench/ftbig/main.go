// Command ftbig sends one large file with the project's CLI, `jingle send`
// to `jingle receive`, each its own process, through a throwaway Prosody
// on loopback, and watches both processes' memory while it flows: issue
// 14's "a 1 GiB file over the datachannel completes, sha-256 verified,
// with the receiver's RSS under 100 MiB throughout".
//
// "Throughout" is the kernel's high-water mark of the receiver's resident
// set over its whole life (ru_maxrss from wait4, the process's exit
// accounting), not a sampled maximum that could miss a peak; RSS sampled
// every 100 ms from /proc is printed beside it as a check. The file is random bytes written
// to disk first (not cached in either process), and its sha-256 is checked
// again on the received copy, apart from the CLI's own check.
//
//	make bench-ft-big                                   # 1 GiB, datachannel
//	make bench-ft-big FTBIG_FLAGS='-size 256MiB -transport s5b'
package main

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jingled/jingled/bench/internal/benchproc"
	"github.com/jingled/jingled/internal/prosodytest"
)

// rssTarget is issue 14's bound on the receiver's resident set.
const rssTarget = 100 << 20

type config struct {
	size      int64
	transport string
	jingle    string // prebuilt CLI; empty: go build ./cmd/jingle
	keep      bool
}

func main() {
	cfg := config{size: 1 << 30, transport: "datachannel"}
	flag.Func("size", "file size in bytes, or with a KiB/MiB/GiB suffix (default 1GiB)", func(s string) (err error) {
		cfg.size, err = parseSize(s)
		return err
	})
	flag.StringVar(&cfg.transport, "transport", cfg.transport, "datachannel, s5b or ibb (jingle send --transport)")
	flag.StringVar(&cfg.jingle, "jingle", "", "jingle binary (default: go build ./cmd/jingle)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the work directory (files, Prosody log)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	res, err := run(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ftbig:", err)
		os.Exit(1)
	}
	res.print(os.Stdout)
}

// parseSize reads "1073741824", "512MiB", "1GiB".
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suf, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suf) {
			s, mult = strings.TrimSuffix(s, suf), m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes, optionally with KiB, MiB or GiB", s)
	}
	return n * mult, nil
}

// result is one transfer's outcome.
type result struct {
	size             int64
	transport        string // what the summary says carried it
	elapsed          time.Duration
	recvHWM, sendHWM int64 // ru_maxrss of each process, bytes
	recvSampledMax   int64 // largest RSS of the 100 ms samples
	samples          int
	verified         bool
}

func (r *result) print(w io.Writer) {
	met := "met"
	if r.recvHWM >= rssTarget {
		met = "**not met**"
	}
	fmt.Fprintf(w, "\n| file | transport | time | MB/s | receiver peak RSS (ru_maxrss; target < 100 MiB) | receiver RSS, largest of %d samples | sender peak RSS | sha-256 |\n", r.samples)
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- |")
	ok := "verified"
	if !r.verified {
		ok = "**differs**"
	}
	fmt.Fprintf(w, "| %s | %s | %.1f s | %.1f | %.1f MiB: %s | %.1f MiB | %.1f MiB | %s |\n",
		human(r.size), r.transport, r.elapsed.Seconds(), float64(r.size)/1e6/r.elapsed.Seconds(),
		mib(r.recvHWM), met, mib(r.recvSampledMax), mib(r.sendHWM), ok)
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func human(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d B", n)
}

func run(ctx context.Context, cfg config, log io.Writer) (*result, error) {
	dir, err := os.MkdirTemp("", "jingled-ftbig-")
	if err != nil {
		return nil, err
	}
	if cfg.keep {
		fmt.Fprintln(log, "ftbig: keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if cfg.jingle == "" {
		if cfg.jingle, err = benchproc.Build(ctx, dir, "./cmd/jingle"); err != nil {
			return nil, err
		}
	}
	srv, err := prosodytest.Start(ctx, filepath.Join(dir, "prosody"))
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	alice, err := srv.CreateAccount(ctx, "alice", "alice-pw")
	if err != nil {
		return nil, err
	}
	bob, err := srv.CreateAccount(ctx, "bob", "bob-pw")
	if err != nil {
		return nil, err
	}
	src := filepath.Join(dir, "big.bin")
	t0 := time.Now()
	sum, err := randomFile(src, cfg.size)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "ftbig: %s of random bytes written in %.1f s; Prosody %s; load average %s\n",
		human(cfg.size), time.Since(t0).Seconds(), srv.Addr, benchproc.LoadAverage())

	common := func(a prosodytest.Account) []string {
		pw := filepath.Join(dir, a.Local+".pw")
		_ = os.WriteFile(pw, []byte(a.Password), 0o600)
		return []string{"--jid", a.JID, "--password-file", pw, "--server", srv.Addr, "--ca", srv.CAFile,
			"--loopback", "--no-discover", "--json"}
	}
	inbox := filepath.Join(dir, "inbox")
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		return nil, err
	}
	recv := exec.CommandContext(ctx, cfg.jingle, append([]string{"receive", "--resource", "rx", "--dir", inbox,
		"--count", "1", "--max-size", strconv.FormatInt(cfg.size, 10)}, common(bob)...)...)
	rout, err := recv.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var rerr lockedBuffer
	recv.Stderr = &rerr
	if err := recv.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = recv.Process.Kill(); _ = recv.Wait() }()
	rsc := bufio.NewScanner(rout)
	rsc.Buffer(make([]byte, 64<<10), 1<<20)
	if !rsc.Scan() || !strings.Contains(rsc.Text(), `"event":"ready"`) {
		return nil, fmt.Errorf("jingle receive not ready: %q %s", rsc.Text(), rerr.String())
	}

	send := exec.CommandContext(ctx, cfg.jingle, append([]string{"send", bob.JID + "/rx", src, "--transport", cfg.transport}, common(alice)...)...)
	var sout, serr lockedBuffer
	send.Stdout, send.Stderr = &sout, &serr
	start := time.Now()
	if err := send.Start(); err != nil {
		return nil, err
	}
	res := &result{size: cfg.size, transport: cfg.transport}
	// Sample the receiver's RSS while it runs; the peaks come from the
	// exit accounting below.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if rss, err := procRSS(recv.Process.Pid); err == nil {
				res.recvSampledMax = max(res.recvSampledMax, rss)
				res.samples++
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	var summary map[string]any
	for rsc.Scan() {
		var ev map[string]any
		if json.Unmarshal(rsc.Bytes(), &ev) == nil {
			if _, ok := ev["sha256"]; ok {
				summary = ev
			}
		}
	}
	res.elapsed = time.Since(start)
	close(stop)
	wg.Wait()
	rwait := recv.Wait()
	swait := send.Wait()
	if rwait != nil || swait != nil {
		return nil, fmt.Errorf("transfer failed: receive: %v %s; send: %v %s %s", rwait, tail(rerr.String()), swait, tail(serr.String()), tail(sout.String()))
	}
	res.recvHWM, res.sendHWM = maxRSS(recv.ProcessState), maxRSS(send.ProcessState)
	if summary == nil {
		return nil, errors.New("jingle receive printed no summary")
	}
	// What carried it is in the sender's summary (a forced transport
	// that failed would have ended the send, but say what was used).
	for _, line := range strings.Split(sout.String(), "\n") {
		var ev map[string]any
		if json.Unmarshal([]byte(line), &ev) == nil {
			if t, ok := ev["transport"].(string); ok && t != "" {
				res.transport = t
			}
		}
	}
	path, _ := summary["path"].(string)
	got, err := fileSum(path)
	if err != nil {
		return nil, err
	}
	res.verified = got == sum && summary["sha256"] == sum
	if !res.verified {
		return res, fmt.Errorf("received file's sha-256 %s (summary %v), sent %s", got, summary["sha256"], sum)
	}
	return res, nil
}

// procRSS returns a running process's resident set (VmRSS) in bytes.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("pid %d: no VmRSS (exited?)", pid)
}

// maxRSS is an exited process's peak resident set in bytes: Linux's
// ru_maxrss, in KiB.
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10
	}
	return 0
}

// randomFile writes n pseudo-random bytes (ChaCha8: fast, incompressible)
// to path and returns their sha-256.
func randomFile(path string, n int64) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	rng := rand.NewChaCha8(seed)
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	if _, err := io.CopyN(w, rng, n); err != nil {
		f.Close()
		return "", err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("received file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}

// lockedBuffer is an io.Writer exec's copier goroutine writes while we
// read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
