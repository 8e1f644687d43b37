package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/proctest"
	"github.com/jingled/jingled/internal/prosodytest"
)

// Issue 18: `jingle fetch` requests files from jingled's file drop.

// fetchEnv runs a filedrop account serving serveDir to alice.
func fetchEnv(t *testing.T) (e *env, drop prosodytest.Account, serveDir string) {
	t.Helper()
	e = newEnv(t)
	serveDir = filepath.Join(e.dir, "served")
	if err := os.MkdirAll(serveDir, 0o700); err != nil {
		t.Fatal(err)
	}
	drop, acct := e.account(t, "filedrop", fmt.Sprintf("serve_dir = %q", serveDir))
	acct = strings.Replace(acct, `allow = ["*"]`, fmt.Sprintf(`allow = [%q]`, e.alice.JID), 1)
	e.loopbackDaemon(t, acct)
	return e, drop, serveDir
}

// partials lists the partial files in dir with their sizes.
func partials(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	es, _ := os.ReadDir(dir)
	for _, de := range es {
		if strings.HasSuffix(de.Name(), ".part") {
			if fi, err := de.Info(); err == nil {
				out[de.Name()] = fi.Size()
			}
		}
	}
	return out
}

// TestFetchFromFiledrop: `jingle fetch` gets a file the file drop
// serves, verified by sha-256; a hostile NAME is sanitized on both sides
// (nothing lands outside --out); an unknown NAME is declined with the
// Jingle condition in the message and exit code 5, leaving nothing.
func TestFetchFromFiledrop(t *testing.T) {
	e, drop, serveDir := fetchEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	const size = 4 << 20
	sum := randomFile(t, filepath.Join(serveDir, "report.bin"), size)

	out := filepath.Join(e.dir, "out")
	lines, stderr, code := jingle(t, ctx, e.cli("fetch", drop.JID, "report.bin", "--out", out, "--loopback", "--no-discover", "--json")...)
	if code != 0 {
		t.Fatalf("fetch: exit %d: %s %v", code, stderr, lines)
	}
	s := proctest.Last(lines)
	if s["sha256"] != sum || s["size"] != float64(size) || s["transferred"] != float64(size) || s["path"] != filepath.Join(out, "report.bin") {
		t.Fatalf("summary %v, want sha256 %s and %s", s, sum, filepath.Join(out, "report.bin"))
	}
	if got := randomFileSum(t, filepath.Join(out, "report.bin")); got != sum {
		t.Fatal("fetched file differs")
	}

	hostile := filepath.Join(e.dir, "deep", "er", "out")
	lines, stderr, code = jingle(t, ctx, e.cli("fetch", drop.JID+"/jingled", "../../report.bin", "--out", hostile, "--loopback", "--no-discover", "--json")...)
	if code != 0 || proctest.Last(lines)["path"] != filepath.Join(hostile, "report.bin") || proctest.Last(lines)["sha256"] != sum {
		t.Fatalf("fetch of ../../report.bin: exit %d %s %v", code, stderr, proctest.Last(lines))
	}
	if _, err := os.Stat(filepath.Join(e.dir, "deep", "report.bin")); !os.IsNotExist(err) {
		t.Fatalf("a hostile name wrote outside --out: %v", err)
	}

	empty := filepath.Join(e.dir, "empty")
	_, stderr, code = jingle(t, ctx, e.cli("fetch", drop.JID+"/jingled", "missing.bin", "--out", empty, "--loopback", "--no-discover")...)
	if code != 5 || !strings.Contains(stderr, "<decline/>") || !strings.Contains(stderr, "missing.bin") {
		t.Fatalf("unknown file: exit %d, stderr %q; want 5 with the decline condition and the name", code, stderr)
	}
	t.Logf("unknown file: exit %d, %s", code, strings.TrimSpace(stderr))
	if es, _ := os.ReadDir(empty); len(es) != 0 {
		t.Fatalf("a declined fetch left %v", es)
	}
}

func randomFileSum(t *testing.T, path string) string {
	t.Helper()
	got, err := exec.Command("sha256sum", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	h, _, _ := strings.Cut(string(got), " ")
	return h
}

// TestFetchResumesAfterKill: a fetch killed (SIGKILL) after part of the
// file arrived leaves its partial file; the next fetch of the same name
// asks only for the rest (the summary's offset is the partial file's
// size, fewer bytes cross the wire than the file has) and the sha-256 of
// the whole file matches.
func TestFetchResumesAfterKill(t *testing.T) {
	e, drop, serveDir := fetchEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	const size = 16 << 20
	sum := randomFile(t, filepath.Join(serveDir, "big.bin"), size)
	out := filepath.Join(e.dir, "out")

	// IBB is slow enough to be cut part-way.
	cut := exec.CommandContext(ctx, bin("jingle"), e.cli("fetch", drop.JID+"/jingled", "big.bin", "--out", out, "--transport", "ibb", "--loopback", "--no-discover", "--json")...)
	cutOut := &proctest.SyncBuffer{}
	cut.Stdout, cut.Stderr = cutOut, cutOut
	if err := cut.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cut.Wait() }()
	killed := false
	for !killed {
		select {
		case err := <-done:
			t.Fatalf("fetch ended before the cut (%v): %s", err, cutOut.String())
		case <-ctx.Done():
			t.Fatalf("no partial file grew: %s", cutOut.String())
		case <-time.After(20 * time.Millisecond):
		}
		for _, n := range partials(t, out) {
			if n >= 1<<20 {
				_ = cut.Process.Signal(syscall.SIGKILL)
				<-done
				killed = true
			}
		}
	}
	left := partials(t, out)
	if len(left) != 1 {
		t.Fatalf("partial files after the kill: %v", left)
	}
	var have int64
	for _, n := range left {
		have = n
	}
	if have >= size {
		t.Fatalf("the partial file holds all %d bytes: nothing left to resume", have)
	}

	lines, stderr, code := jingle(t, ctx, e.cli("fetch", drop.JID+"/jingled", "big.bin", "--out", out, "--loopback", "--no-discover", "--json")...)
	if code != 0 {
		t.Fatalf("second fetch: exit %d: %s %v", code, stderr, lines)
	}
	s := proctest.Last(lines)
	if s["offset"] != float64(have) || s["transferred"] != float64(size-have) || s["sha256"] != sum {
		t.Fatalf("second fetch: %v; want offset %d, %d bytes transferred, sha256 %s", s, have, size-have, sum)
	}
	if got := randomFileSum(t, filepath.Join(out, "big.bin")); got != sum {
		t.Fatal("resumed file differs")
	}
	if p := partials(t, out); len(p) != 0 {
		t.Fatalf("partial files left after the resume: %v", p)
	}
	t.Logf("resumed at byte %d of %d", have, size)
}
