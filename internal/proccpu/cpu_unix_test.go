//go:build unix

package proccpu

import (
	"testing"
	"time"
)

// TestUsed: burning CPU must move the counter forwards.
func TestUsed(t *testing.T) {
	before := Used()
	x := 0
	for i := 0; Used()-before < 10*time.Millisecond; i++ {
		x ^= i
	}
	if after := Used(); after <= before {
		t.Errorf("CPU time went from %v to %v", before, after)
	}
	_ = x
}
