//go:build unix

package cli

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// eioOnce fails its first read with EIO, as a terminal read in the
// background of a shell does with SIGTTIN ignored, then reads r.
type eioOnce struct {
	failed bool
	r      *strings.Reader
}

func (e *eioOnce) Read(b []byte) (int, error) {
	if !e.failed {
		e.failed = true
		return 0, syscall.EIO
	}
	return e.r.Read(b)
}

// TestReadLinesInBackground: a read that fails because we are in the
// background is tried again, and the lines typed later arrive.
func TestReadLinesInBackground(t *testing.T) {
	defer func(d time.Duration) { backgroundRetry = d }(backgroundRetry)
	backgroundRetry = time.Millisecond
	var got []string
	for l := range readLines(&eioOnce{r: strings.NewReader("hold\nunhold\n")}) {
		got = append(got, l)
	}
	if strings.Join(got, "|") != "hold|unhold" {
		t.Errorf("lines %q, want hold and unhold", got)
	}
}
