// Package report formats the results of the bench/ftref throughput
// references (piondc, tcpcopy) the same way bench/ftref/libwebrtc-dc.mjs
// does: one human line per run and a final JSON line starting with
// {"ftref": that bench/ftref/table.mjs turns into the side-by-side table.
// MB/s is 10^6 bytes per second, as `go test -bench` counts.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// Run is one measured transfer.
type Run struct {
	// Bytes is what the receiver got and verified.
	Bytes int
	// Transfer runs from the first byte sent to the last byte received.
	Transfer time.Duration
	// Setup is the connection set-up before the transfer (ICE, DTLS and
	// SCTP for a data channel; the TCP handshake for tcpcopy).
	Setup time.Duration
	// CPU is the process's user+system time during the transfer, both
	// ends together: on a shared machine it varies less than the rate.
	CPU time.Duration
}

// CPUPerMB is the CPU milliseconds the run spent per 10^6 bytes.
func (r Run) CPUPerMB() float64 {
	if r.Bytes <= 0 {
		return 0
	}
	return float64(r.CPU.Microseconds()) / 1000 / (float64(r.Bytes) / 1e6)
}

// MBps is the run's rate in 10^6 bytes per second.
func (r Run) MBps() float64 {
	if r.Transfer <= 0 {
		return 0
	}
	return float64(r.Bytes) / 1e6 / r.Transfer.Seconds()
}

// Result is the summary line, field for field the one libwebrtc-dc.mjs
// prints, so table.mjs reads both alike.
type Result struct {
	FTRef        string    `json:"ftref"`
	Name         string    `json:"name"`
	Impl         string    `json:"impl"`
	Bytes        int       `json:"bytes"`
	Chunk        int       `json:"chunk"`
	Backpressure string    `json:"backpressure"`
	Runs         int       `json:"runs"`
	MBps         []float64 `json:"mbps"`
	MedianMBps   float64   `json:"median_mbps"`
	SetupMS      float64   `json:"setup_ms"`
	CPUmsPerMB   []float64 `json:"cpu_ms_per_mb"`
	SHA256       string    `json:"sha256"`
}

// Summarize builds the result of runs, all verified by sha-256.
func Summarize(name, impl string, chunk int, backpressure string, runs []Run) Result {
	r := Result{FTRef: "result", Name: name, Impl: impl, Chunk: chunk, Backpressure: backpressure, Runs: len(runs), SHA256: "ok"}
	setups := make([]float64, 0, len(runs))
	for _, run := range runs {
		r.Bytes = run.Bytes
		r.MBps = append(r.MBps, round(run.MBps()))
		setups = append(setups, round(float64(run.Setup.Microseconds())/1000))
		r.CPUmsPerMB = append(r.CPUmsPerMB, round2(run.CPUPerMB()))
	}
	r.MedianMBps = round(Median(r.MBps))
	r.SetupMS = round(Median(setups))
	return r
}

// Median is the middle value of xs (the mean of the two middle ones for
// an even count), 0 for none. xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

func round(x float64) float64 { return math.Round(x*10) / 10 }

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// PrintRun writes the human line for run i (from 1) of n; check says what
// verified the bytes ("sha-256 ok").
func PrintRun(w io.Writer, name string, i, n int, r Run, check string) error {
	_, err := fmt.Fprintf(w, "%s run %d/%d: %d bytes in %.1f ms = %.1f MB/s, %.2f CPU ms/MB (set-up %.1f ms, %s)\n",
		name, i, n, r.Bytes, float64(r.Transfer.Microseconds())/1000, r.MBps(), r.CPUPerMB(), float64(r.Setup.Microseconds())/1000, check)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// Print writes the result as one JSON line.
func (r Result) Print(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
