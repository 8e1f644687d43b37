// Package soak runs jingled for a long time under a steady cycle of
// calls and file transfers and checks that nothing fails and nothing
// accumulates (issue 17): after every cycle jingled's goroutines and file
// descriptors come back to their baseline, its relay allocations and
// sessions to zero, and its RSS stays within 10% of where it settled.
//
// `make test` runs it for 2 minutes (the flag's default); `make soak
// SOAK_DURATION=60m` for as long as asked (docs/BENCHMARKS.md, "Soak").
package soak

import (
	"flag"
	"os"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/proctest"
)

var (
	duration = flag.Duration("soak.duration", 2*time.Minute,
		"how long to keep cycling (a cycle that starts before the end runs to its end)")
	settle = flag.Duration("soak.settle", 30*time.Second,
		"how long after a cycle jingled may take to come back to its baseline (sessions ending on its side, pion's goroutines winding down)")
)

func TestMain(m *testing.M) { os.Exit(proctest.MainWithBinaries(m)) }
