// Package proctest holds what the end-to-end test packages (tests/e2e,
// tests/interop, tests/nat) need to run our built binaries as separate
// processes: start jingled with a config and wait until /healthz says it
// is up, read its Prometheus metrics, run the jingle CLI and decode its
// --json lines, collect a process's output safely, pick a free port.
//
// It is test support, not part of jingled: only _test.go files import it.
// It lives in non-test files so that several test packages can share it.
package proctest

import (
	"bytes"
	"sync"
)

// SyncBuffer collects a process's output (written from exec's copying
// goroutines) for failure messages; it is safe for concurrent use.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
