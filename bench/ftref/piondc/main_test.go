package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunBothModes sends a small payload in each mode, through main's own
// entry point, and checks the result line: every byte arrived and its
// sha-256 matched (run fails otherwise). Rates are not asserted.
func TestRunBothModes(t *testing.T) {
	for _, tc := range []struct {
		mode, rcvbuf, rtomax, name string
	}{
		{"flow", "0", "0", "pion-dc"},
		{"detached", "0", "0", "pion-dc-detached"},
		{"flow", "262144", "0", "pion-dc-rcvbuf256k"},
		{"detached", "0", "200ms", "pion-dc-detached-rtomax200ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			// Odd size: the last message is short; -high 64 KiB makes
			// flow mode wait for OnBufferedAmountLow many times.
			args := []string{"-mode", tc.mode, "-rcvbuf", tc.rcvbuf, "-rtomax", tc.rtomax, "-size", "1000003", "-runs", "2", "-high", "65536", "-low", "16384"}
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
				Chunk  int       `json:"chunk"`
				Runs   int       `json:"runs"`
				MBps   []float64 `json:"mbps"`
				SHA256 string    `json:"sha256"`
			}
			if err := json.Unmarshal([]byte(lines[2]), &r); err != nil {
				t.Fatalf("result line %q: %v", lines[2], err)
			}
			wantChunk := flowChunk
			if tc.mode == "detached" {
				wantChunk = detachedChunk
			}
			if r.Name != tc.name || r.Bytes != 1000003 || r.Chunk != wantChunk || r.Runs != 2 || len(r.MBps) != 2 || r.SHA256 != "ok" {
				t.Errorf("result = %+v", r)
			}
		})
	}
}

// TestReceiverVerifies feeds the receiver directly: the hash check, the
// overrun check and the short-read report must each fire.
func TestReceiverVerifies(t *testing.T) {
	data := []byte("0123456789")
	want := sha256.Sum256(data)

	r := newReceiver(len(data), want)
	if r.add(data[:4]) {
		t.Fatal("reported after 4 of 10 bytes")
	}
	if !r.add(data[4:]) {
		t.Fatal("no report after all bytes")
	}
	if err := <-r.done; err != nil {
		t.Fatalf("right bytes: %v", err)
	}

	r = newReceiver(len(data), want)
	r.add([]byte("0123456780"))
	if err := <-r.done; !errors.Is(err, errHash) {
		t.Fatalf("one byte changed: err = %v, want errHash", err)
	}

	r = newReceiver(len(data), want)
	r.add([]byte("01234567890"))
	if err := <-r.done; !errors.Is(err, errTooLarge) {
		t.Fatalf("one byte too many: err = %v, want errTooLarge", err)
	}

	r = newReceiver(len(data), want)
	r.add(data[:3])
	r.fail(errClosed)
	r.fail(errClosed) // a second report must not block
	if err := <-r.done; !errors.Is(err, errShort) || !errors.Is(err, errClosed) {
		t.Fatalf("closed early: err = %v, want errShort wrapping errClosed", err)
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want error
	}{
		{"defaults", nil, nil},
		{"unknown mode", []string{"-mode", "fast"}, errMode},
		{"low not below high", []string{"-low", "10", "-high", "10"}, errArgs},
		{"zero size", []string{"-size", "0"}, errArgs},
		{"stray argument", []string{"x"}, errArgs},
		{"unknown flag", []string{"-nope"}, errArgs},
		{"negative rcvbuf", []string{"-rcvbuf", "-1"}, errArgs},
		{"negative rtomax", []string{"-rtomax", "-1s"}, errArgs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags(tc.args)
			if !errors.Is(err, tc.want) {
				t.Errorf("parseFlags(%q) = %v, want %v", tc.args, err, tc.want)
			}
		})
	}
}
