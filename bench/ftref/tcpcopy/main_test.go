package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun copies a small payload with and without the hash check through
// main's own entry point (run fails if bytes are lost or the digest
// differs) and checks the result line. Rates are not asserted.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		hash      string
		name, sha string
	}{
		{"true", "raw-tcp", "ok"},
		{"false", "raw-tcp-nohash", "not checked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			args := []string{"-size", "1000003", "-chunk", "4096", "-runs", "2", "-hash=" + tc.hash}
			if err := run(context.Background(), args, &out); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != 3 {
				t.Fatalf("want 2 run lines and a result line, got:\n%s", out.String())
			}
			var r struct {
				Name   string    `json:"name"`
				Bytes  int       `json:"bytes"`
				MBps   []float64 `json:"mbps"`
				SHA256 string    `json:"sha256"`
			}
			if err := json.Unmarshal([]byte(lines[2]), &r); err != nil {
				t.Fatal(err)
			}
			if r.Name != tc.name || r.Bytes != 1000003 || len(r.MBps) != 2 || r.SHA256 != tc.sha {
				t.Errorf("result = %+v", r)
			}
		})
	}
}

// TestDialFailure: a dial that fails (the context is already cancelled)
// must give an error and not leave the accepting goroutine behind
// (goleak checks at exit).
func TestDialFailure(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := run(ctx, []string{"-size", "10", "-runs", "1"}, &out)
	if err == nil || !strings.Contains(err.Error(), "dial") {
		t.Fatalf("cancelled context: err = %v, want a dial error", err)
	}
}

func TestArgs(t *testing.T) {
	for _, args := range [][]string{{"-size", "0"}, {"-runs", "-1"}, {"extra"}} {
		if err := run(context.Background(), args, &bytes.Buffer{}); !errors.Is(err, errArgs) {
			t.Errorf("run(%q) = %v, want errArgs", args, err)
		}
	}
}
