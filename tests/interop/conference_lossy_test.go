package interop

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
)

// iptables runs iptables in this test binary's own network namespace
// (TestMain re-runs it in one), so the rule touches nothing else.
func iptables(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("iptables", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("iptables %s: %v\n%s (install iptables, or run make deps)", strings.Join(args, " "), err, out)
	}
}

// loss is the share of RTP packets a CLI participant lost receiving.
func loss(r *cliRun) (float64, float64, float64) {
	st, _ := r.summary()["stats"].(map[string]any)
	recv, _ := st["packets_received"].(float64)
	lost, _ := st["packets_lost"].(float64)
	if recv+lost == 0 {
		return 0, 0, 0
	}
	return lost / (recv + lost), recv, lost
}

// TestConferenceLossyReceiver: one video participant's downlink drops 5%
// of its packets at random (iptables -m statistic on its ICE ports); the
// two others, sending and receiving through the same room, stay under 1%
// loss: the room terminates each participant's RTCP, so a poor receiver's
// losses, NACKs and key-frame requests do not degrade anyone else.
func TestConferenceLossyReceiver(t *testing.T) {
	srv := sharedServer(t)
	if !onlyLoopback() {
		t.Fatal("the loss rule needs the test's own network namespace")
	}
	startJingled(t, componentConfig(srv, ""))
	room := "lossy@" + confDomain
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ports = "46000:46020"
	iptables(t, "-A", "INPUT", "-p", "udp", "--dport", ports, "-m", "statistic", "--mode", "random", "--probability", "0.05", "-j", "DROP")
	t.Cleanup(func() {
		_ = exec.Command("iptables", "-D", "INPUT", "-p", "udp", "--dport", ports, "-m", "statistic", "--mode", "random", "--probability", "0.05", "-j", "DROP").Run()
	})
	parts := []struct{ name, colour, volume, extra string }{
		{"a", "red", "1", ""},
		{"b", "blue", "0.3", ""},
		{"lossy", "green", "0.1", "46000-46020"},
	}
	runs := map[string]*cliRun{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, p := range parts {
		acc := srv.NewAccount(t, "loss-"+p.name)
		audio, video := filepath.Join(dir, p.name+".ogg"), filepath.Join(dir, p.name+".ivf")
		if err := mediatest.SineEnvelopeOpus(ctx, audio, float64(440+220*i), 16, p.volume); err != nil {
			t.Fatal(err)
		}
		if err := mediatest.ColourVP8(ctx, video, p.colour, 16, 15); err != nil {
			t.Fatal(err)
		}
		args := []string{"call", room, "--audio", audio, "--video", video, "--record", filepath.Join(dir, "seen-by-"+p.name), "--duration", "12s"}
		if p.extra != "" {
			args = append(args, "--ice-ports", p.extra)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := runCLI(t, ctx, srv, acc, args...)
			mu.Lock()
			runs[p.name] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, p := range parts {
		r := runs[p.name]
		if r.code != 0 || r.summary()["reason"] != "success" {
			t.Fatalf("%s: %s", p.name, r)
		}
		l, recv, lost := loss(r)
		t.Logf("%s lost %.2f%% (%v of %v packets)", p.name, 100*l, lost, recv+lost)
		switch {
		case p.name == "lossy" && l < 0.01:
			t.Errorf("the lossy receiver lost only %.2f%%: the loss rule did not apply", 100*l)
		case p.name != "lossy" && l >= 0.01:
			t.Errorf("%s lost %.2f%% beside a lossy receiver, want under 1%%", p.name, 100*l)
		}
		if p.name != "lossy" {
			if _, err := mediatest.DecodeVideo(ctx, filepath.Join(dir, "seen-by-"+p.name+".ivf")); err != nil {
				t.Errorf("%s's recording: %v", p.name, err)
			}
		}
	}
}
