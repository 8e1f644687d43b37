package conference

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/xmpp"
)

// TestRoomSendsEveryVideoToWhoAsks: a participant advertising
// FeatureAllVideo gets each other participant's video as a content of
// its own (content-add), each decoding to that participant's colour; when
// one leaves, its content is removed (content-remove).
func TestRoomSendsEveryVideoToWhoAsks(t *testing.T) {
	if testing.Short() {
		t.Skip("real calls with ffmpeg-made media")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, room := newTestRoom(t, RoomConfig{})
	var mu sync.Mutex
	var removes []string
	r.SetFilter(func(from, to string, st any) jingletest.Verdict {
		if iq, ok := st.(*jingle.IQ); ok && to == "green@localhost/t" && strings.Contains(string(iq.Payload), "content-remove") {
			mu.Lock()
			removes = append(removes, string(iq.Payload))
			mu.Unlock()
		}
		return jingletest.Verdict{}
	})
	media := func(colour string, freq float64) (string, string) {
		return colourMedia(t, ctx, dir, colour, freq, "0.5")
	}
	// Green advertises FeatureAllVideo in its disco#info.
	info := xmpp.DiscoInfo{Identities: []xmpp.Identity{{Category: "client", Type: "pc"}}, Features: []string{FeatureAllVideo, rtp.NS}}
	r.Endpoint("green@localhost/t").HandleIQ(xmpp.NSDiscoInfo, "query", func(_ context.Context, iq *jingle.IQ) *jingle.IQ {
		return xmpp.AnswerDiscoInfo(iq, info, "")
	})
	ra, rv := media("red", 440)
	ba, bv := media("blue", 880)
	ga, gv := media("green", 660)
	red := mustDial(t, r, "red@localhost/t", rtp.MediaOptions{Audio: ra, Video: rv})
	blue := mustDial(t, r, "blue@localhost/t", rtp.MediaOptions{Audio: ba, Video: bv})
	green := mustDial(t, r, "green@localhost/t", rtp.MediaOptions{Audio: ga, Video: gv, Record: filepath.Join(dir, "seen-by-green")})
	waitJoined(t, room, 3)
	time.Sleep(6 * time.Second)
	if err := blue.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	for _, c := range []*rtp.Call{red, green} {
		if err := c.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "seen-by-green*.ivf"))
	// Three video tracks: the active-speaker view and one per other
	// participant, each of one colour only (the recorder names them by
	// arrival order, so which is which is not assumed).
	var single []string
	for _, f := range files {
		cs, err := mediatest.FrameColours(ctx, f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		seen := map[string]int{}
		for _, c := range cs {
			seen[c.Name()]++
		}
		t.Logf("%s: %v", filepath.Base(f), seen)
		for c, n := range seen {
			if len(seen) == 1 && n >= 30 {
				single = append(single, c)
			}
		}
	}
	if len(files) != 3 {
		t.Errorf("green recorded %d video tracks, want 3 (the view and one per other participant)", len(files))
	}
	if !slices.Contains(single, "red") || !slices.Contains(single, "blue") {
		t.Errorf("green's single-colour tracks: %v, want red and blue among them", single)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(removes) < 1 {
		t.Errorf("no content-remove reached green when blue left")
	}
}
