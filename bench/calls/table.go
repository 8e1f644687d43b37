package main

import (
	"fmt"
	"os/exec"
	"strings"
	"time"
)

var execLookPath = exec.LookPath

// Targets of issue 14 for the answering side.
const (
	targetCalls    = 1000
	targetLoss     = 0.01
	targetCores    = 1.0
	targetRSS      = 1 << 20 // bytes per call
	targetSetupP50 = 40 * time.Millisecond
	targetSetupP95 = 80 * time.Millisecond
)

func (r row) line() string {
	failed := ""
	if r.setupFailed > 0 {
		failed = fmt.Sprintf(" (%d failed to come up, first: %s)", r.setupFailed, r.firstErr)
	}
	return fmt.Sprintf("%4d calls: held %d, jingled %.2f cores (%.2f ms CPU/s per call), RSS %.0f KiB/call, heap %.0f KiB/call, %.1f goroutines/call, echo loss %.2f%% (dropped at jingled's sockets %.2f%%, at the load's %.2f%%; last echo %v after the window, queued then at jingled's sockets %d KiB, at the load's %d KiB), load sent %.1f pkt/s per call, load %.2f cores, Prosody %.2f cores",
		r.n, r.held, r.jingledCores, 1000*r.jingledCores/float64(max(r.held, 1)), r.rssPerCall/1024, r.heapPerCall/1024,
		r.goroutinesPerCall, 100*r.loss, 100*r.dropJingled, 100*r.dropLoad, r.drain.Round(time.Millisecond), r.queuedJingled>>10, r.queuedLoad>>10, r.sentPerCall, r.loadCores, r.prosodyCores) + failed
}

// loadKeptUp: the load sent its 50 packets/s per call (within 5%); below
// that, the level measured the load's limit, not jingled's.
func (r row) loadKeptUp() bool { return r.sentPerCall >= 0.95*50 }

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// render prints the result beside issue 14's targets, as a Markdown table
// for docs/BENCHMARKS.md.
func render(res *result, cfg config) string {
	var b strings.Builder
	for _, v := range []struct {
		name string
		d    []time.Duration
	}{{"as shipped", res.setupsShipped}, {nagleOff + " (" + prosodyNagleOff + ")", res.setups}} {
		if len(v.d) == 0 {
			continue
		}
		p50, p95 := pctD(v.d, 50), pctD(v.d, 95)
		fmt.Fprintf(&b, "\nCall set-up, Dial -> first echoed RTP, %d calls one after another, Prosody %s: p50 %v (target <= %v: %s), p95 %v (target <= %v: %s)\n",
			len(v.d), v.name, p50, targetSetupP50, yes(p50 <= targetSetupP50), p95, targetSetupP95, yes(p95 <= targetSetupP95))
	}
	fmt.Fprintf(&b, "\n| concurrent echo calls | held | echo loss | dropped at jingled's / the load's sockets | jingled cores | ms CPU/s per call | RSS per call | heap per call | goroutines per call | load sent pkt/s per call | load cores | Prosody cores | target met (< 1%% loss, <= %.0f core, <= 1 MiB/call) |\n", targetCores)
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range res.rows {
		ok := yes(r.loss < targetLoss && r.jingledCores <= targetCores && r.rssPerCall <= targetRSS && r.held == r.n)
		if !r.loadKeptUp() {
			// jingled answered a lighter load than the target's: what it
			// did says nothing about the full rate.
			ok = fmt.Sprintf("**not shown**: the load fell behind (%.0f of 50 packets/s per call)", r.sentPerCall)
		}
		fmt.Fprintf(&b, "| %d | %d | %.2f%% | %.2f%% / %.2f%% | %.2f | %.2f | %.0f KiB | %.0f KiB | %.1f | %.1f | %.2f | %.2f | %s |\n",
			r.n, r.held, 100*r.loss, 100*r.dropJingled, 100*r.dropLoad, r.jingledCores, 1000*r.jingledCores/float64(max(r.held, 1)), r.rssPerCall/1024, r.heapPerCall/1024,
			r.goroutinesPerCall, r.sentPerCall, r.loadCores, r.prosodyCores, ok)
	}
	fmt.Fprintf(&b, "\nTarget (issue 14): %d concurrent echo calls held with < 1%% loss, the answering process at most one core and 1 MiB per call. jingled pinned: %v.\n", targetCalls, cfg.pin)
	return b.String()
}
