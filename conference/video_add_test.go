package conference

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
)

// TestRoomFollowsAddedAndDroppedVideo: an audio-only participant (blue)
// turns its camera on mid-call (content-add): the room accepts it with the
// active speaker's video (red) and shows blue's video to red; when blue
// drops its video (content-remove), red is shown nothing more.
func TestRoomFollowsAddedAndDroppedVideo(t *testing.T) {
	if testing.Short() {
		t.Skip("real calls with ffmpeg-made media")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, room := newTestRoom(t, RoomConfig{})
	media := func(colour string, freq float64) (string, string) {
		return colourMedia(t, ctx, dir, colour, freq, "1")
	}
	redA, redV := media("red", 440)
	blueA, blueV := media("blue", 880)
	red := mustDial(t, r, "red@localhost/t", rtp.MediaOptions{Audio: redA, Video: redV, Record: filepath.Join(dir, "seen-by-red")})
	blue := mustDial(t, r, "blue@localhost/t", rtp.MediaOptions{Audio: blueA, Record: filepath.Join(dir, "seen-by-blue")})
	waitJoined(t, room, 2)

	time.Sleep(2 * time.Second)
	cam, err := rtp.OpenIVF(blueV, "video")
	if err != nil {
		t.Fatal(err)
	}
	if err := blue.AddContent(ctx, "video", webrtc.RTPCodecTypeVideo, cam); err != nil {
		t.Fatalf("content-add: %v", err)
	}
	added := time.Now()
	time.Sleep(6 * time.Second)
	if err := blue.RemoveContent(ctx, "video"); err != nil {
		t.Fatalf("content-remove: %v", err)
	}
	removed := time.Now()
	time.Sleep(4 * time.Second)
	for _, c := range []*rtp.Call{red, blue} {
		if err := c.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		if rr := c.Reason(); rr == nil || rr.Condition != jingle.ReasonSuccess {
			t.Errorf("%s ended with %v", c.Peer(), rr)
		}
	}
	// Blue, once its video content exists, is shown red.
	blueSaw, err := mediatest.FrameColours(ctx, filepath.Join(dir, "seen-by-blue.ivf"))
	if err != nil {
		t.Fatal(err)
	}
	if n := countColour(blueSaw, "red"); n < 30 || n*5 < len(blueSaw)*4 {
		t.Errorf("blue was shown red in %d of %d frames after turning its camera on", n, len(blueSaw))
	}
	// Red is shown blue between the content-add and the content-remove,
	// and nothing after: its recording ends with the last blue frame.
	redSaw, err := mediatest.FrameColours(ctx, filepath.Join(dir, "seen-by-red.ivf"))
	if err != nil {
		t.Fatal(err)
	}
	pts, err := mediatest.IVFTimes(filepath.Join(dir, "seen-by-red.ivf"))
	if err != nil {
		t.Fatal(err)
	}
	if n := countColour(redSaw, "blue"); n < 30 || n != len(redSaw) {
		t.Errorf("red was shown blue in %d of %d frames", n, len(redSaw))
	}
	if len(pts) > 0 {
		shown := pts[len(pts)-1] - pts[0]
		window := removed.Sub(added)
		t.Logf("red was shown blue for %v; blue's camera was on for %v", shown.Round(10*time.Millisecond), window.Round(10*time.Millisecond))
		if shown > window+time.Second {
			t.Errorf("red was shown blue for %v, longer than blue's camera was on (%v)", shown, window)
		}
	}
}

func waitJoined(t *testing.T, room *Room, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ps := room.Participants()
		if len(ps) >= n && allJoined(ps) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("participants: %+v", ps)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func countColour(cs []mediatest.RGB, name string) int {
	n := 0
	for _, c := range cs {
		if c.Name() == name {
			n++
		}
	}
	return n
}
