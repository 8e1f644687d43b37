package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/proctest"
)

// TestEmbedOutsideTheModule builds testdata/embedder in a module of its
// own that requires this one (replaced by the checkout), as a project
// that imports the library does, so nothing under internal/ is within
// reach. It then runs it on the test's Prosody: one account calls the
// other, hears its tone echoed and sends it a file.
func TestEmbedOutsideTheModule(t *testing.T) {
	e, ctx := newEnv(t, 3*time.Minute)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	mod := filepath.Join(e.dir, "embedder")
	if err := os.MkdirAll(mod, 0o750); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("testdata/embedder/main.go")
	if err != nil {
		t.Fatal(err)
	}
	// go.sum: the module's own, which holds every dependency's hash, so
	// the build needs nothing from the network (GOPROXY is left as the
	// environment sets it; the module cache has the dependencies).
	sums, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	goMod := "module example.com/embedder\n\ngo 1.26\n\nrequire github.com/jingled/jingled v0.0.0\n\nreplace github.com/jingled/jingled => " + root + "\n"
	for name, data := range map[string][]byte{"go.mod": []byte(goMod), "go.sum": sums, "main.go": src} {
		if err := os.WriteFile(filepath.Join(mod, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	exe := filepath.Join(e.dir, "embedder-bin")
	build := exec.CommandContext(ctx, "go", "build", "-o", exe, ".")
	build.Dir = mod
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building a program outside the module: %v\n%s", err, out)
	}

	caller, _ := e.account(t, "caller")
	callee, _ := e.account(t, "callee")
	file := filepath.Join(e.dir, "payload.bin")
	sum := proctest.RandomFile(t, file, 1<<20)
	rec := filepath.Join(e.dir, "heard")
	run := exec.CommandContext(ctx, exe, "-server", e.srv.Addr, "-ca", e.srv.CAFile, "-caller", caller.JID, "-callee", callee.JID,
		"-tone", e.tone(t, ctx, 4*time.Second), "-record", rec, "-file", file, "-dir", e.dir)
	run.Env = append(os.Environ(), "CALLER_PASSWORD="+caller.Password, "CALLEE_PASSWORD="+callee.Password)
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("the embedder: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "call ended: success") {
		t.Fatalf("the call did not end with success:\n%s", out)
	}
	checkTone(t, ctx, rec+".ogg", 1500*time.Millisecond)
	if h := proctest.FileSHA256(t, filepath.Join(e.dir, "callee", "payload.bin")); h != sum {
		t.Fatalf("the callee received sha-256 %s, the caller sent %s\n%s", h, sum, out)
	}
}
