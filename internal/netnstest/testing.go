package netnstest

import (
	"context"
	"testing"
	"time"
)

// New builds a topology for a test and tears it down in tb.Cleanup, also
// when the test fails (after logging the routers' rules and counters).
// Under -short the test is skipped: `make test-unit` runs without root.
// Otherwise a machine that cannot build namespaces fails the test with
// the reason, never skips it silently: the NAT tests are the proof.
func New(tb testing.TB, v Variant) *Topology {
	tb.Helper()
	if testing.Short() {
		tb.Skip("netnstest: namespace topologies are not built under -short")
	}
	if err := Available(); err != nil {
		tb.Fatalf("%v (or pass -short to skip the namespace tests)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t, err := Build(ctx, v)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
			tb.Logf("topology %s:\n%s", v, t.Dump(dctx))
			dcancel()
		}
		if err := t.Close(); err != nil {
			tb.Errorf("tearing down %s topology: %v", v, err)
		}
	})
	return t
}
