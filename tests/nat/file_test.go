package nat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/internal/netnstest"
)

// fileSize is issue 7's file: 20 MiB.
const fileSize = 20 << 20

// TestFileAcrossNAT is issue 7's file acceptance: in each NAT variant
// `jingle send` in LAN A sends a 20 MiB file to `jingle receive` in LAN B
// over the datachannel transport only (signalled through Prosody); it
// arrives with the right SHA-256 and took the path the variant allows.
// The path is asserted from the selected candidate pair both CLIs report
// (as for calls) and read again where it cannot lie: the relay's byte
// counters (the whole file through it, or almost nothing) and router B's
// counters of its TURN-over-TCP/TLS stream.
func TestFileAcrossNAT(t *testing.T) {
	payload := make([]byte, fileSize)
	_, _ = rand.Read(payload)
	src := filepath.Join(t.TempDir(), "payload.bin")
	if err := os.WriteFile(src, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(payload)
	want := hex.EncodeToString(sum[:])
	for _, c := range callCases {
		t.Run(c.name, func(t *testing.T) {
			topo := netnstest.New(t, c.variant)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if c.stream != "" {
				accountTURNStreams(ctx, t, topo)
			}
			pub := startPublic(t, topo, []string{"alice", "bob"}, false)
			sent, got := sendFile(t, topo, pub, c, src)
			if sent.Error != "" || got.Error != "" || condition(got.Reason) != "success" {
				t.Fatalf("transfer failed: sender %q (%s), receiver %q (%s)", sent.Error, sent.Reason, got.Error, got.Reason)
			}
			if filetransfer.Family(got.Transport) != filetransfer.FamilyDataChannel {
				t.Errorf("transport %q, want the datachannel", got.Transport)
			}
			if got.Transferred != fileSize {
				t.Fatalf("received %d bytes, want %d", got.Transferred, fileSize)
			}
			if h, err := fileSHA256(got.Path); err != nil || h != want {
				t.Fatalf("received file hashes to %s (%v), want %s", h, err, want)
			}
			// The selected pair from the transfers' own stats, as for
			// calls; the byte counters below confirm it independently.
			a, b := sent.Pair, got.Pair
			switch c.variant {
			case netnstest.Symmetric:
				if !a.Relayed() || !b.Relayed() {
					t.Errorf("symmetric: pairs %s/%s and %s/%s, want a relay on each pair", a.LocalType, a.RemoteType, b.LocalType, b.RemoteType)
				}
			case netnstest.Cone:
				if a.LocalType == "" || a.Relayed() || b.Relayed() {
					t.Errorf("cone: pairs %s/%s and %s/%s, want no relay", a.LocalType, a.RemoteType, b.LocalType, b.RemoteType)
				}
			}
			relayed := pub.relayedBytes(t)
			t.Logf("%d bytes in %.2f s (%.1f MB/s); the relay carried %.0f bytes (both directions)",
				got.Transferred, sent.Seconds, sent.Rate/1e6, relayed)
			switch c.variant {
			case netnstest.Symmetric, netnstest.UDPBlocked, netnstest.Only443:
				if relayed < fileSize {
					t.Errorf("%s: only %.0f bytes went through the relay, want the whole file", c.variant, relayed)
				}
			case netnstest.Cone:
				if relayed > fileSize/10 {
					t.Errorf("cone: %.0f bytes went through the relay, want a direct path", relayed)
				}
			}
			if c.stream != "" {
				checkBlocked(ctx, t, topo, pub, c, [2]ice.Pair{a, b}, fileSize)
			}
		})
	}
}

func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}
