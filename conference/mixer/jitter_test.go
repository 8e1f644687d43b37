package mixer

import (
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestJitterBuffer pushes packets by sequence number (20 ms each, delay
// 40 ms) and pops them all, checking what comes out.
func TestJitterBuffer(t *testing.T) {
	const ssrc = 7
	type push struct {
		seq  uint16
		ssrc uint32
	}
	tests := []struct {
		name    string
		pushes  []push
		want    []string // pops until empty: "p<seq>", "lost", "empty"
		results []pushResult
	}{
		{
			name:    "in order",
			pushes:  []push{{1, ssrc}, {2, ssrc}, {3, ssrc}},
			want:    []string{"p1", "p2", "p3", "empty"},
			results: []pushResult{pushed, pushed, pushed},
		},
		{
			name:    "reordered",
			pushes:  []push{{1, ssrc}, {3, ssrc}, {2, ssrc}},
			want:    []string{"p1", "p2", "p3", "empty"},
			results: []pushResult{pushed, pushed, pushed},
		},
		{
			name:    "earlier first packet while buffering",
			pushes:  []push{{5, ssrc}, {4, ssrc}},
			want:    []string{"p4", "p5", "empty"},
			results: []pushResult{pushed, pushed},
		},
		{
			name:    "gap is lost",
			pushes:  []push{{1, ssrc}, {2, ssrc}, {4, ssrc}},
			want:    []string{"p1", "p2", "lost", "p4", "empty"},
			results: []pushResult{pushed, pushed, pushed},
		},
		{
			name:    "duplicate",
			pushes:  []push{{1, ssrc}, {2, ssrc}, {2, ssrc}},
			want:    []string{"p1", "p2", "empty"},
			results: []pushResult{pushed, pushed, pushDup},
		},
		{
			name:    "wrap-around",
			pushes:  []push{{65534, ssrc}, {65535, ssrc}, {0, ssrc}, {1, ssrc}},
			want:    []string{"p65534", "p65535", "p0", "p1", "empty"},
			results: []pushResult{pushed, pushed, pushed, pushed},
		},
		{
			name:    "huge jump restarts",
			pushes:  []push{{1, ssrc}, {2, ssrc}, {30000, ssrc}, {30001, ssrc}},
			want:    []string{"p30000", "p30001", "empty"},
			results: []pushResult{pushed, pushed, pushReset, pushed},
		},
		{
			name:    "new ssrc restarts",
			pushes:  []push{{1, ssrc}, {2, ssrc}, {9, 8}, {10, 8}},
			want:    []string{"p9", "p10", "empty"},
			results: []pushResult{pushed, pushed, pushReset, pushed},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := jitterBuffer{delay: 1920}
			var results []pushResult
			for _, p := range tt.pushes {
				results = append(results, j.push(p.seq, p.ssrc, 960, -1, []byte{byte(p.seq)}))
			}
			if !slices.Equal(results, tt.results) {
				t.Errorf("push results %v, want %v", results, tt.results)
			}
			if !j.ready(time.Time{}, 960) {
				t.Fatal("not ready with 40 ms buffered")
			}
			var got []string
			for range 10 {
				s, k := j.pop()
				switch k {
				case popPacket:
					if s.payload[0] != byte(s.seq) {
						t.Errorf("payload of %d is %d", s.seq, s.payload[0])
					}
					got = append(got, "p"+strconv.Itoa(int(s.seq)))
				case popLost:
					got = append(got, "lost")
				case popEmpty:
					got = append(got, "empty")
				}
				if k == popEmpty {
					break
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("popped %v, want %v", got, tt.want)
			}
		})
	}
}

func TestJitterBufferPlayout(t *testing.T) {
	j := jitterBuffer{delay: 1920}
	j.push(1, 1, 960, -1, nil)
	if j.ready(time.Time{}, 960) {
		t.Error("ready with 20 ms buffered, delay 40 ms")
	}
	j.push(2, 1, 960, -1, nil)
	if !j.ready(time.Time{}, 960) {
		t.Error("not ready with 40 ms buffered")
	}
	j.pop()
	if r := j.push(1, 1, 960, -1, nil); r != pushLate {
		t.Errorf("replayed packet: %v, want late", r)
	}
	for seq := uint16(3); seq < 20; seq++ {
		j.push(seq, 1, 960, -1, nil)
	}
	if n := j.trim(20*960, 1920); n != 0 {
		t.Errorf("trim under the high mark dropped %d", n)
	}
	if n := j.trim(4*960, 1920); n != 16 || j.buffered != 1920 || j.head != 18 {
		t.Errorf("trim dropped %d, left %d samples from %d; want 16, 1920 from 18", n, j.buffered, j.head)
	}
}

func TestOpusPacketSamples(t *testing.T) {
	tests := []struct {
		name string
		p    []byte
		want int
		err  bool
	}{
		{"empty", nil, 0, true},
		{"SILK NB 10 ms", []byte{0 << 3}, 480, false},
		{"SILK WB 60 ms", []byte{11 << 3}, 2880, false},
		{"Hybrid FB 20 ms", []byte{15 << 3}, 960, false},
		{"CELT 2.5 ms", []byte{16 << 3}, 120, false},
		{"CELT FB 20 ms", []byte{31 << 3}, 960, false},
		{"two frames (code 1)", []byte{31<<3 | 1}, 1920, false},
		{"two frames (code 2)", []byte{1<<3 | 2, 0}, 1920, false},
		{"code 3, three 20 ms frames", []byte{31<<3 | 3, 3}, 2880, false},
		{"code 3, no count", []byte{31<<3 | 3}, 0, true},
		{"code 3, zero frames", []byte{31<<3 | 3, 0}, 0, true},
		{"code 3, 120 ms", []byte{3<<3 | 3, 2}, 5760, false},
		{"code 3, too long", []byte{3<<3 | 3, 3}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := opusPacketSamples(tt.p)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("opusPacketSamples = %d, %v; want %d, error %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestFifo(t *testing.T) {
	var f fifo
	f.push([]float32{1, 2, 3})
	f.count(2) // decoding stops: 5 samples counted, none kept
	if f.len() != 5 || len(f.pcm) != 0 {
		t.Fatalf("len %d (%d decoded), want 5 (0)", f.len(), len(f.pcm))
	}
	f.push([]float32{7, 8}) // decoding resumes after 5 samples of silence
	dst := make([]float32, 4)
	f.take(dst)
	if !slices.Equal(dst, []float32{0, 0, 0, 0}) {
		t.Errorf("take = %v, want silence", dst)
	}
	f.take(dst)
	if !slices.Equal(dst, []float32{0, 7, 8, 0}) {
		t.Errorf("take = %v, want 0 7 8 then padding", dst)
	}
	f.count(10)
	f.drop(4)
	if f.len() != 6 {
		t.Errorf("len %d after drop, want 6", f.len())
	}
}
