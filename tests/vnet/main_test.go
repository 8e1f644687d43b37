package vnet

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine of the calls, transfers,
// relay or virtual routers outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
