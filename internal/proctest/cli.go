package proctest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
)

// RunCLI runs the binary bin (the jingle CLI) with args until it exits or
// ctx ends. It returns stdout's lines, stderr, the exit code (-1 if it did
// not start or was killed) and exec's error.
func RunCLI(ctx context.Context, bin string, args ...string) (stdout []string, stderr string, code int, err error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		stdout = append(stdout, sc.Text())
	}
	return stdout, errb.String(), cmd.ProcessState.ExitCode(), err
}

// JSONLines decodes the lines of a --json run that are JSON objects, in
// order. Any other line is kept as {"text": line} if keepText, else
// dropped.
func JSONLines(lines []string, keepText bool) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		} else if keepText {
			out = append(out, map[string]any{"text": l})
		}
	}
	return out
}

// Last is the last of lines (a --json run's summary), or an empty map.
func Last(lines []map[string]any) map[string]any {
	if len(lines) == 0 {
		return map[string]any{}
	}
	return lines[len(lines)-1]
}
