package jingle_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind:
// every session loop, sender and router worker must be stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
