package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want float64
	}{
		{"none", nil, 0},
		{"one", []float64{3}, 3},
		{"odd unsorted", []float64{9, 1, 5}, 5},
		{"even mean of middle two", []float64{4, 1, 3, 10}, 3.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.in...)
			if got := Median(tc.in); got != tc.want {
				t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
			}
			for i := range in {
				if in[i] != tc.in[i] {
					t.Fatalf("Median reordered its input: %v", tc.in)
				}
			}
		})
	}
}

func TestRunMBps(t *testing.T) {
	r := Run{Bytes: 50_000_000, Transfer: 500 * time.Millisecond}
	if got := r.MBps(); got != 100 {
		t.Errorf("50e6 bytes in 0.5 s = %v MB/s, want 100", got)
	}
	if got := (Run{Bytes: 1}).MBps(); got != 0 {
		t.Errorf("zero duration = %v MB/s, want 0", got)
	}
}

// TestResultLine checks the JSON keys table.mjs reads, the same as
// libwebrtc-dc.mjs prints.
func TestResultLine(t *testing.T) {
	runs := []Run{
		{Bytes: 1e6, Transfer: 20 * time.Millisecond, Setup: 3 * time.Millisecond, CPU: 15 * time.Millisecond},
		{Bytes: 1e6, Transfer: 10 * time.Millisecond, Setup: 5 * time.Millisecond},
		{Bytes: 1e6, Transfer: 40 * time.Millisecond, Setup: 4 * time.Millisecond},
	}
	var buf bytes.Buffer
	if err := Summarize("pion-dc", "pion", 16384, "x", runs).Print(&buf); err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	if !strings.HasPrefix(line, `{"ftref":"result",`) || !strings.HasSuffix(line, "}\n") || strings.Count(line, "\n") != 1 {
		t.Fatalf("not one {\"ftref\": JSON line: %q", line)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"name": "pion-dc", "bytes": 1e6, "chunk": 16384.0, "runs": 3.0,
		"median_mbps": 50.0, "setup_ms": 4.0, "sha256": "ok",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if mbps, _ := got["mbps"].([]any); len(mbps) != 3 || mbps[0] != 50.0 || mbps[1] != 100.0 || mbps[2] != 25.0 {
		t.Errorf("mbps = %v, want [50 100 25] in run order", got["mbps"])
	}
	if cpu, _ := got["cpu_ms_per_mb"].([]any); len(cpu) != 3 || cpu[0] != 15.0 || cpu[1] != 0.0 {
		t.Errorf("cpu_ms_per_mb = %v, want [15 0 0]", got["cpu_ms_per_mb"])
	}
}
