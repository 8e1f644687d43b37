package soak

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/proctest"
)

// sample is jingled's state at one moment: from its /metrics (the Go and
// process collectors and its own counters) and from /proc/<pid>.
type sample struct {
	goroutines float64
	fds        int     // entries of /proc/<pid>/fd
	rss        float64 // bytes, VmRSS of /proc/<pid>/status
	relayOpen  float64 // jingled_turn_allocations_open
	relayTotal float64 // jingled_turn_allocations_total
	sessions   float64 // jingled_sessions, every state
	calls      float64 // jingled_calls_total{outcome="success"}
	transfers  float64 // jingled_file_transfers_total{outcome="success"}
	// udpDrops are the namespace's UDP datagrams dropped for a full
	// receive buffer (RcvbufErrors of /proc/net/snmp): jingled, the
	// clients and Prosody share this test's network namespace.
	udpDrops int64
}

func (m sample) String() string {
	return fmt.Sprintf("goroutines %.0f, fds %d, RSS %.1f MiB, relay allocations open %.0f, sessions %.0f",
		m.goroutines, m.fds, m.rss/(1<<20), m.relayOpen, m.sessions)
}

// sample scrapes jingled once; it fails t if jingled cannot be read (it
// died).
func (s *soak) sample(t *testing.T) sample {
	t.Helper()
	text, err := s.d.Metrics()
	if err != nil {
		t.Fatalf("scraping jingled: %v", err)
	}
	pid := s.d.Cmd.Process.Pid
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("jingled's descriptors: %v", err)
	}
	rss, err := vmRSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	drops, err := proctest.UDPRcvbufErrors()
	if err != nil {
		t.Fatal(err)
	}
	v := func(name string, labels ...string) float64 { return proctest.MetricValue(text, name, labels...) }
	return sample{
		goroutines: v("go_goroutines"),
		fds:        len(fds),
		rss:        rss,
		relayOpen:  v("jingled_turn_allocations_open"),
		relayTotal: v("jingled_turn_allocations_total"),
		sessions:   v("jingled_sessions"),
		calls:      v("jingled_calls_total", `outcome="success"`),
		transfers:  v("jingled_file_transfers_total", `outcome="success"`),
		udpDrops:   drops,
	}
}

// vmRSS is the resident set of process pid in bytes.
func vmRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("jingled's RSS: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// waitSettled samples jingled until it has no session, no relay
// allocation open but those whose deletion was lost (lingering) and,
// given a baseline, its goroutines and descriptors are within the slack
// of it; after -soak.settle it returns the last sample as it is (the
// caller judges it). Sessions end on jingled's side
// a moment after the client's exit (the terminate's round trip), pion
// closes its agents and SCTP associations asynchronously, and TURN
// allocations of a closed session are refreshed no more and go at once
// only when the client deletes them (else at their lifetime's end): the
// wait gives all of this time without a fixed sleep.
func (s *soak) waitSettled(t *testing.T, base *sample) sample {
	t.Helper()
	deadline := time.Now().Add(*settle)
	for {
		m := s.sample(t)
		done := m.sessions == 0 && m.relayOpen <= s.lingering.pending(time.Now())
		if base != nil {
			done = done && m.goroutines <= base.goroutines+goroutineSlack && m.fds <= base.fds+fdSlack
		}
		if done || time.Now().After(deadline) {
			return m
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// requireNode returns node and tests/interop's StanzaJS peer; it fails
// (never skips) when either is missing, as tests/interop does.
func requireNode(t *testing.T) (node, script string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("soak: node not found in PATH: install Debian's nodejs (or run `make deps`)")
	}
	dir, err := filepath.Abs(filepath.Join("..", "interop"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "stanza", "package.json")); err != nil {
		t.Fatal("soak: tests/interop's npm packages are missing: run `make interop-deps`")
	}
	return node, filepath.Join(dir, "peer.mjs")
}
