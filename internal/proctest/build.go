package proctest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Build compiles the jingled and jingle binaries, and the main packages
// extra (import paths, e.g. the examples), into a new temporary
// directory and returns it; the caller removes it. For TestMain of the
// packages that run the binaries (go test has no build step of its
// own for other main packages). The build's output goes to stderr.
func Build(extra ...string) (string, error) {
	dir, err := os.MkdirTemp("", "jingled-bin-")
	if err != nil {
		return "", fmt.Errorf("proctest: %w", err)
	}
	pkgs := append([]string{"github.com/jingled/jingled/cmd/jingled", "github.com/jingled/jingled/cmd/jingle"}, extra...)
	build := exec.Command("go", append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("proctest: building the binaries: %w", err)
	}
	return dir, nil
}
