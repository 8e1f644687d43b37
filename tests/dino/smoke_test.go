package dino

import "testing"

// TestDinoOnline starts the lab (Prosody, Xvfb, Dino) and prints Dino's
// version; every scenario needs it.
func TestDinoOnline(t *testing.T) {
	l := getLab(t)
	t.Logf("peer: %s", l.dino.version)
}
