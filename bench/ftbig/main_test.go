package main

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestSmoke runs the benchmark tiny (2 MiB over the datachannel) so it
// cannot rot: the CLI built, both processes up, the file verified and
// both peaks read. Never its speed or memory: those are make bench-ft-big
// (docs/BENCHMARKS.md).
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Prosody and builds the CLI; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log bytes.Buffer
	res, err := run(ctx, config{size: 2 << 20, transport: "datachannel"}, &log)
	t.Log(log.String())
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	res.print(&table)
	t.Log(table.String())
	switch {
	case !res.verified:
		t.Error("not verified")
	case res.transport != "datachannel":
		t.Errorf("carried by %q, want datachannel", res.transport)
	case res.recvHWM <= 0 || res.sendHWM <= 0:
		t.Errorf("peak RSS not read: receiver %d, sender %d", res.recvHWM, res.sendHWM)
	case res.samples == 0:
		t.Error("no RSS sample of the receiver")
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"1073741824", 1 << 30, false},
		{"1GiB", 1 << 30, false},
		{"512MiB", 512 << 20, false},
		{"64KiB", 64 << 10, false},
		{"0", 0, true},
		{"1GB", 0, true},
		{"-5MiB", 0, true},
	} {
		got, err := parseSize(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}
