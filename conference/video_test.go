package conference

import (
	"testing"
	"time"

	pionrtp "github.com/pion/rtp"
)

func TestParseVP8(t *testing.T) {
	cases := []struct {
		name    string
		b       []byte
		ok, key bool
		picLen  int
		picID   uint16
	}{
		{"minimal key frame start", []byte{0x10, 0x00}, true, true, 0, 0},
		{"minimal inter frame", []byte{0x10, 0x01}, true, false, 0, 0},
		{"not a partition start", []byte{0x00, 0x00}, true, false, 0, 0},
		{"7-bit picture id", []byte{0x90, 0x80, 0x05, 0x00}, true, true, 1, 5},
		{"15-bit picture id", []byte{0x90, 0x80, 0x81, 0x02, 0x00}, true, true, 2, 0x102},
		{"15-bit id, TL0PICIDX, TID", []byte{0x90, 0xe0, 0x81, 0x02, 0x07, 0x20, 0x01}, true, false, 2, 0x102},
		{"partition 1 start", []byte{0x11, 0x00}, true, false, 0, 0},
		{"truncated extension", []byte{0x90}, false, false, 0, 0},
		{"truncated picture id", []byte{0x90, 0x80, 0x81}, false, false, 0, 0},
		{"empty", nil, false, false, 0, 0},
	}
	for _, c := range cases {
		d, ok := parseVP8(c.b)
		if ok != c.ok || (ok && (d.keyStart != c.key || d.picLen != c.picLen || d.picID != c.picID)) {
			t.Errorf("%s: %+v ok=%v, want key=%v picLen=%d picID=%d ok=%v", c.name, d, ok, c.key, c.picLen, c.picID, c.ok)
		}
	}
}

func vp8Packet(seq uint16, ts uint32, pic uint16, key bool) *pionrtp.Packet {
	b := []byte{0x90, 0x80, 0x80 | byte(pic>>8), byte(pic), 0x01}
	if key {
		b[4] = 0x00
	}
	return &pionrtp.Packet{Header: pionrtp.Header{SequenceNumber: seq, Timestamp: ts, Extension: true}, Payload: b}
}

// TestRewriterContinues: switching from one source to another with other
// numbering, the output goes on by one sequence number, one picture ID and
// the elapsed time in timestamp units.
func TestRewriterContinues(t *testing.T) {
	var w rewriter
	t0 := time.Unix(1000, 0)
	out := func(p *pionrtp.Packet, now time.Time) *pionrtp.Packet {
		d, _ := parseVP8(p.Payload)
		return w.rewrite(p, d, now)
	}
	first := vp8Packet(100, 9000, 7, true)
	d, _ := parseVP8(first.Payload)
	w.switchTo(first, d, t0)
	a := out(first, t0)
	b := out(vp8Packet(101, 12000, 8, false), t0.Add(33*time.Millisecond))
	if a.SequenceNumber != 100 || b.SequenceNumber != 101 || b.Timestamp != 12000 {
		t.Fatalf("first source rewritten: %+v %+v", a.Header, b.Header)
	}
	if b.Extension || len(b.Extensions) != 0 {
		t.Errorf("header extensions forwarded: %+v", b.Header)
	}
	// The second source: other SSRC numbering, wrapped sequence numbers.
	key := vp8Packet(65530, 5, 32000, true)
	now := t0.Add(133 * time.Millisecond)
	d, _ = parseVP8(key.Payload)
	w.switchTo(key, d, now)
	c := out(key, now)
	e := out(vp8Packet(65531, 3005, 32001, false), now.Add(33*time.Millisecond))
	if c.SequenceNumber != 102 || e.SequenceNumber != 103 {
		t.Errorf("sequence after the switch: %d, %d, want 102, 103", c.SequenceNumber, e.SequenceNumber)
	}
	if c.Timestamp != 12000+9000 || e.Timestamp != 12000+9000+3000 {
		t.Errorf("timestamps after the switch: %d, %d, want %d, %d", c.Timestamp, e.Timestamp, 21000, 24000)
	}
	dc, _ := parseVP8(c.Payload)
	de, _ := parseVP8(e.Payload)
	if dc.picID != 9 || de.picID != 10 {
		t.Errorf("picture IDs after the switch: %d, %d, want 9, 10", dc.picID, de.picID)
	}
	if key.Payload[3] != byte(32000&0xff) {
		t.Error("the source packet's payload was modified in place")
	}
}

func TestSpeakerChoice(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type step struct {
		ms    int
		cands []candidate
		want  string
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"first is the loudest", []step{{0, []candidate{{"a", -40}, {"b", -20}}, "b"}}},
		{"nobody", []step{{0, nil, ""}}},
		{"a cough does not switch", []step{
			{0, []candidate{{"a", -20}, {"b", -40}}, "a"},
			{200, []candidate{{"a", -20}, {"b", -10}}, "a"},
			{400, []candidate{{"a", -20}, {"b", -40}}, "a"},
			{1200, []candidate{{"a", -20}, {"b", -40}}, "a"},
		}},
		{"a new speaker holds", []step{
			{0, []candidate{{"a", -20}, {"b", -40}}, "a"},
			{200, []candidate{{"a", -40}, {"b", -20}}, "a"},
			{600, []candidate{{"a", -40}, {"b", -20}}, "a"},
			{800, []candidate{{"a", -40}, {"b", -20}}, "b"},
		}},
		{"within the margin stays", []step{
			{0, []candidate{{"a", -20}, {"b", -40}}, "a"},
			{200, []candidate{{"a", -20}, {"b", -16}}, "a"},
			{2000, []candidate{{"a", -20}, {"b", -16}}, "a"},
		}},
		{"the shown one leaves", []step{
			{0, []candidate{{"a", -20}, {"b", -40}}, "a"},
			{200, []candidate{{"b", -40}, {"c", -50}}, "b"},
		}},
	}
	for _, c := range cases {
		var s speakerChoice
		for _, st := range c.steps {
			s = s.next(st.cands, at(st.ms))
			if s.current != st.want {
				t.Errorf("%s at %d ms: showing %q, want %q", c.name, st.ms, s.current, st.want)
			}
		}
	}
}
