package conference

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
	"github.com/jingled/jingled/rtp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testLogger() *slog.Logger {
	if os.Getenv("CONFERENCE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// notices records the room's chat messages.
type notices struct {
	mu   sync.Mutex
	msgs []*jingle.Message
}

func (n *notices) SendMessage(_ context.Context, m *jingle.Message) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.msgs = append(n.msgs, m)
	return nil
}

func (n *notices) texts() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, m := range n.msgs {
		out = append(out, m.To+": "+string(m.Payload))
	}
	return out
}

const roomJID = "room@localhost"

// newTestRoom serves a room at room@localhost/focus on an in-memory
// router and closes both at the end of the test.
func newTestRoom(t *testing.T, cfg RoomConfig) (*jingletest.Router, *Room) {
	t.Helper()
	cfg.JID = roomJID
	cfg.Peer.Loopback = true
	cfg.Peer.Logger = testLogger()
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	r := jingletest.NewRouter()
	if cfg.IQ == nil {
		cfg.IQ = r.Endpoint(roomJID + "/focus")
	}
	room := NewRoom(cfg)
	mgr := r.Manager(roomJID+"/focus", room.Options()...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := room.Close(ctx); err != nil {
			t.Errorf("room close: %v", err)
		}
		_ = mgr.Close(ctx)
		r.Close()
	})
	return r, room
}

// tone makes an Ogg/Opus sine file.
func tone(t *testing.T, dir string, freq float64, d time.Duration) string {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("tone-%v.ogg", freq))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := mediatest.SineOpus(ctx, p, freq, d); err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	return p
}

// colourMedia writes a participant's 30 s of media: a tone at freq and
// amplitude volume (an ffmpeg volume expression) and solid-colour video.
func colourMedia(t *testing.T, ctx context.Context, dir, colour string, freq float64, volume string) (audio, video string) {
	t.Helper()
	audio, video = filepath.Join(dir, colour+".ogg"), filepath.Join(dir, colour+".ivf")
	if err := mediatest.SineEnvelopeOpus(ctx, audio, freq, 30, volume); err != nil {
		t.Fatal(err)
	}
	if err := mediatest.ColourVP8(ctx, video, colour, 30, 15); err != nil {
		t.Fatal(err)
	}
	return audio, video
}

// dial calls the room from jid, sending audio and recording to prefix.
func dial(t *testing.T, r *jingletest.Router, jid, audio, record string, d time.Duration) (*rtp.Call, error) {
	t.Helper()
	return dialMedia(t, r, jid, rtp.MediaOptions{Audio: audio, Record: record, Duration: d})
}

// dialMedia calls the room from a manager at jid on r with media m; the
// manager is closed at the end of the test.
func dialMedia(t *testing.T, r *jingletest.Router, jid string, m rtp.MediaOptions) (*rtp.Call, error) {
	t.Helper()
	mgr := r.Manager(jid, rtp.NewApplication(rtp.ApplicationOptions{}).Options()...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = mgr.Close(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return rtp.Dial(ctx, mgr, roomJID+"/focus", rtp.CallOptions{MediaOptions: m, Peer: rtp.PeerOptions{Loopback: true, Logger: testLogger()}})
}

// mustDial is dialMedia failing the test on error.
func mustDial(t *testing.T, r *jingletest.Router, jid string, m rtp.MediaOptions) *rtp.Call {
	t.Helper()
	c, err := dialMedia(t, r, jid, m)
	if err != nil {
		t.Fatalf("%s calling the room: %v", jid, err)
	}
	return c
}

func wait(t *testing.T, c *rtp.Call) *jingle.Reason {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := c.Wait(ctx)
	if err != nil {
		t.Fatalf("call to the room: %v", err)
	}
	return r
}

// TestRoomMixesTheOthers: three callers send 440, 660 and 880 Hz; each
// hears the other two, and its own tone at least 20 dB below them.
func TestRoomMixesTheOthers(t *testing.T) {
	if testing.Short() {
		t.Skip("real calls with ffmpeg-made media")
	}
	dir := t.TempDir()
	n := &notices{}
	r, room := newTestRoom(t, RoomConfig{Messages: n, Announce: true})
	freqs := []float64{440, 660, 880}
	calls := make([]*rtp.Call, len(freqs))
	for i, f := range freqs {
		c, err := dial(t, r, fmt.Sprintf("p%d@localhost/test", i), tone(t, dir, f, 10*time.Second), filepath.Join(dir, fmt.Sprintf("rec%d", i)), 7*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		calls[i] = c
	}
	for i, c := range calls {
		if rr := wait(t, c); rr == nil || rr.Condition != jingle.ReasonSuccess {
			t.Errorf("participant %d ended with %v, want success", i, rr)
		}
	}
	for i, own := range freqs {
		s, err := mediatest.PCM(context.Background(), filepath.Join(dir, fmt.Sprintf("rec%d.ogg", i)))
		if err != nil {
			t.Fatal(err)
		}
		// The middle of the call: everybody is in.
		s = s[len(s)/4 : 3*len(s)/4]
		self := mediatest.ToneLevel(s, mediatest.AnalysisRate, own)
		for _, other := range freqs {
			if other == own {
				continue
			}
			lvl := mediatest.ToneLevel(s, mediatest.AnalysisRate, other)
			t.Logf("participant %d (%v Hz): %v Hz at %.1f dB, own at %.1f dB", i, own, other, lvl, self)
			if lvl < -40 {
				t.Errorf("participant %d hears %v Hz at %.1f dB: missing from its mix", i, other, lvl)
			}
			if self > lvl-20 {
				t.Errorf("participant %d hears its own %v Hz at %.1f dB, not 20 dB below %v Hz at %.1f dB", i, own, self, other, lvl)
			}
		}
	}
	if room.Len() != 0 {
		t.Errorf("room has %d participants after everybody left", room.Len())
	}
	joined := 0
	for _, m := range n.texts() {
		if strings.Contains(m, "joined, 3 in the call") {
			joined++
		}
	}
	if joined != 3 {
		t.Errorf("the third join was announced to %d participants, want 3; notices: %q", joined, n.texts())
	}
}

// TestRoomRefuses: a full room answers busy, a stranger is declined, with
// a text a person can read.
func TestRoomRefuses(t *testing.T) {
	if testing.Short() {
		t.Skip("real calls")
	}
	dir := t.TempDir()
	audio := tone(t, dir, 440, 3*time.Second)
	var mu sync.Mutex
	var refused []Event
	r, _ := newTestRoom(t, RoomConfig{
		MaxParticipants: 1,
		MayJoin:         func(peer string) bool { return !strings.HasPrefix(peer, "stranger@") },
		OnEvent: func(e Event) {
			if e.Kind == EventRefused {
				mu.Lock()
				refused = append(refused, e)
				mu.Unlock()
			}
		},
	})
	first, err := dial(t, r, "p1@localhost/test", audio, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		jid  string
		want jingle.ReasonCondition
	}{
		{"p2@localhost/test", jingle.ReasonBusy},
		{"stranger@elsewhere/test", jingle.ReasonDecline},
	}
	for _, c := range cases {
		call, err := dial(t, r, c.jid, audio, "", 0)
		if err != nil {
			t.Fatalf("%s: %v", c.jid, err)
		}
		rr := wait(t, call)
		if rr == nil || rr.Condition != c.want || rr.Text == "" {
			t.Errorf("%s: ended with %v, want %s with a text", c.jid, rr, c.want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := first.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(refused) != 2 {
		t.Errorf("refused events: %+v, want 2", refused)
	}
}
