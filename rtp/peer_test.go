package rtp

import (
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// pion logs a new remote track with %+v, reading its fields without the
// lock; pionArgs must replace it with what the locking accessors say.
func TestPionArgsDescribesTracks(t *testing.T) {
	args := pionArgs([]any{&webrtc.TrackRemote{}, 3})
	if s, ok := args[0].(string); !ok || !strings.HasPrefix(s, "track{") {
		t.Fatalf("track argument became %#v", args[0])
	}
	if args[1] != 3 {
		t.Fatalf("other argument changed: %#v", args[1])
	}
}
