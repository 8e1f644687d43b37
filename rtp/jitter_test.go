package rtp

import (
	"math"
	"testing"
	"time"

	"github.com/pion/interceptor"
	pionrtp "github.com/pion/rtp"
)

// TestJitterMeter: the RFC 3550 interarrival jitter of known arrivals
// (packets every 20 ms, 960 units of 48 kHz apart, timestamps wrapping).
func TestJitterMeter(t *testing.T) {
	const ssrc, rate = 7, 48000
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name  string
		delay func(i int) time.Duration // of packet i
		want  time.Duration
	}{
		// Perfectly spaced arrivals, however late: no jitter.
		{"constant", func(int) time.Duration { return 30 * time.Millisecond }, 0},
		// Delays alternating 0 and 20 ms: |D| = 20 ms on every packet,
		// so J converges to 20 ms. (pion's stats interceptor reports
		// about 40 ms here: it averages |D(i-1,i) - D(i-2,i-1)|.)
		{"alternating", func(i int) time.Duration { return time.Duration(i%2) * 20 * time.Millisecond }, 20 * time.Millisecond},
		// One step of 10 ms long ago: J decays back to 0.
		{"step", func(i int) time.Duration {
			if i > 5 {
				return 10 * time.Millisecond
			}
			return 0
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newJitterMeter()
			if _, err := m.NewInterceptor(""); err != nil {
				t.Fatal(err)
			}
			m.streams[ssrc] = &jitterState{clockRate: rate}
			for i := range 500 {
				ts := uint32(math.MaxUint32 - 100*960 + i*960)
				m.arrived(ssrc, ts, t0.Add(time.Duration(i)*20*time.Millisecond+tc.delay(i)))
			}
			got := time.Duration(m.jitter(ssrc) * float64(time.Second))
			if d := got - tc.want; d < -100*time.Microsecond || d > 100*time.Microsecond {
				t.Errorf("jitter %v, want %v", got, tc.want)
			}
		})
	}
}

// TestJitterInterceptor: a bound remote stream's reader records each
// packet it reads; unknown SSRCs and the nil meter read as 0.
func TestJitterInterceptor(t *testing.T) {
	const ssrc = 9
	m := newJitterMeter()
	it, err := m.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	var next []byte
	r := it.BindRemoteStream(&interceptor.StreamInfo{SSRC: ssrc, ClockRate: 48000},
		interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			return copy(b, next), a, nil
		}))
	buf := make([]byte, 1500)
	for i := range 3 {
		// Timestamps 1 s apart, read back to back: |D| is about 1 s.
		p := pionrtp.Packet{Header: pionrtp.Header{Version: 2, SSRC: ssrc, SequenceNumber: uint16(i), Timestamp: uint32(i * 48000)}}
		if next, err = p.Marshal(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
	}
	if j := m.jitter(ssrc); j < 0.1 || j > 0.2 {
		t.Errorf("jitter %v s after two 1 s gaps read at once, want about 0.12 s (1/16, then 1/16 of the rest)", j)
	}
	if j := m.jitter(ssrc + 1); j != 0 {
		t.Errorf("unknown SSRC's jitter %v", j)
	}
	var nilMeter *jitterMeter
	if j := nilMeter.jitter(ssrc); j != 0 {
		t.Errorf("nil meter's jitter %v", j)
	}
}
