package daemon

import (
	"sync"
	"time"

	"github.com/jingled/jingled/rtp"
)

// callQuality is what an operator asks of a call that ended: how long it
// took to set up, what it lost, and whether it needed the relay. It is
// made from the rtp.Stats the call reports anyway (the same numbers the
// RTP counters add), once, when the call ends.
type callQuality struct {
	Ended    time.Time     `json:"ended"`
	Account  string        `json:"account"`
	Role     string        `json:"role"`
	Peer     string        `json:"peer,omitempty"`
	Kind     string        `json:"kind"`
	Outcome  string        `json:"outcome"`
	Duration time.Duration `json:"duration_ns"`
	// Setup is from the session-initiate to the first RTP packet
	// received; zero when no media ever arrived (see Media).
	Setup time.Duration `json:"setup_ns"`
	Media bool          `json:"media"`
	// LossIn is the share of the peer's packets we lost; LossOut the
	// share of ours the peer reported lost (RTCP receiver reports).
	LossIn     float64 `json:"loss_in"`
	LossOut    float64 `json:"loss_out"`
	LocalType  string  `json:"local_candidate"`
	RemoteType string  `json:"remote_candidate"`
	Relayed    bool    `json:"relayed"`
}

// newCallQuality summarizes a call that started at start (its
// session-initiate), saw its first media at firstMedia (zero: none) and
// ended at end with st as its final stats.
func newCallQuality(start, firstMedia, end time.Time, st rtp.Stats) callQuality {
	q := callQuality{
		Ended:      end,
		Duration:   end.Sub(start),
		LossIn:     share(st.PacketsLost, st.PacketsReceived+uint64(max(st.PacketsLost, 0))),
		LossOut:    share(st.RemotePacketsLost, st.PacketsSent),
		LocalType:  st.Pair.LocalType,
		RemoteType: st.Pair.RemoteType,
		Relayed:    st.Pair.Relayed(),
	}
	if !firstMedia.IsZero() && !firstMedia.Before(start) {
		q.Media = true
		q.Setup = firstMedia.Sub(start)
	}
	return q
}

// share is lost/total, 0 when nothing was lost or counted. The receive
// side's total is what arrived plus what did not; the send side's is what
// was sent (the lost packets are among them).
func share(lost int64, total uint64) float64 {
	if lost <= 0 || total == 0 {
		return 0
	}
	return min(float64(lost)/float64(total), 1)
}

// qualityRing keeps the last calls' quality, newest first, bounded so a
// busy service's page stays short and its memory flat.
type qualityRing struct {
	mu   sync.Mutex
	buf  []callQuality
	next int
	full bool
}

func newQualityRing(n int) *qualityRing { return &qualityRing{buf: make([]callQuality, n)} }

func (r *qualityRing) add(q callQuality) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) == 0 {
		return
	}
	r.buf[r.next] = q
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

// list returns the kept calls, newest first.
func (r *qualityRing) list() []callQuality {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.buf)
	}
	out := make([]callQuality, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, r.buf[(r.next-i+len(r.buf))%len(r.buf)])
	}
	return out
}
