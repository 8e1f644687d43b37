package rtp

import (
	"log/slog"
	"testing"

	pionrtp "github.com/pion/rtp"
)

type countingSink struct{ closed int }

func (s *countingSink) WriteRTP(*pionrtp.Packet) error { return nil }
func (s *countingSink) Close() error                   { s.closed++; return nil }

// TestHeldSink: a content's second track gets the sink of the first (one
// recording across pion's receiver replacement); the sink closes once no
// track uses it and the content has left the call, or at the call's end,
// and exactly once.
func TestHeldSink(t *testing.T) {
	c := &Call{log: slog.New(slog.DiscardHandler), sinks: map[string]*heldSink{}, byContent: map[string]*peer{}}
	p := &peer{}
	c.byContent["audio"], c.byContent["video"] = p, p
	made := 0
	sinks := map[string]*countingSink{}
	get := func(content string) Sink {
		t.Helper()
		s, err := c.acquireSink(content, func() (Sink, error) {
			made++
			sinks[content] = &countingSink{}
			return sinks[content], nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	first := get("audio")
	c.releaseSink("audio") // pion stopped the first track's receiver
	if sinks["audio"].closed != 0 {
		t.Fatal("the sink closed while its content is still in the call")
	}
	if second := get("audio"); second != first || made != 1 {
		t.Fatalf("the new track got another sink (%d made)", made)
	}

	get("video")
	delete(c.byContent, "video") // content-remove
	c.releaseSink("video")
	if sinks["video"].closed != 1 {
		t.Fatalf("a removed content's sink closed %d times, want once", sinks["video"].closed)
	}

	c.closeSinks() // the call ended
	c.releaseSink("audio")
	if sinks["audio"].closed != 1 || sinks["video"].closed != 1 {
		t.Fatalf("closed audio %d, video %d times, want once each", sinks["audio"].closed, sinks["video"].closed)
	}

	// A factory that makes nothing (no recording) holds nothing.
	if s, err := c.acquireSink("data", func() (Sink, error) { return nil, nil }); s != nil || err != nil || c.sinks["data"] != nil {
		t.Fatalf("got %v, %v and held %v for no sink", s, err, c.sinks["data"])
	}
}
