// Package loadwire is what bench/conference and its load generator,
// bench/conference/confload, say to each other: confload prints Ready
// once every call carries media, the bench answers Start when it has
// read the focus's metrics, confload answers Started, and Stop ends the
// window; confload then prints one JSON Result line and hangs up.
package loadwire

// Lines of the protocol (one per line on stdin/stdout; anything else on
// confload's stdout is a log line).
const (
	Ready   = "READY"
	Start   = "START"
	Started = "STARTED"
	Stop    = "STOP"
	// ResultPrefix starts the line that holds the JSON Result.
	ResultPrefix = "RESULT "
)

// Result is what the load generator measured over the window.
type Result struct {
	// Participants were asked for; Joined carried media at Ready.
	Participants int `json:"participants"`
	Joined       int `json:"joined"`
	Rooms        int `json:"rooms"`
	// SetupSeconds is from the first login to Ready.
	SetupSeconds  float64 `json:"setup_seconds"`
	WindowSeconds float64 `json:"window_seconds"`
	// Sent counts the packets written by the participants in the window.
	Sent uint64 `json:"sent"`
	// Received counts the mix packets the participants got; ExpectedSeq
	// is what their sequence numbers span (so ExpectedSeq-Received were
	// lost on the way), ExpectedRate is 50 packets/s for the window (so a
	// mixer that skips ticks shows too).
	Received     uint64 `json:"received"`
	ExpectedSeq  uint64 `json:"expected_seq"`
	ExpectedRate uint64 `json:"expected_rate"`
	// WorstLoss is the highest loss of one participant (rate-based).
	WorstLoss float64 `json:"worst_loss"`
	// Ended counts calls that ended during the window.
	Ended int `json:"ended"`
	// LatencyMS are the added latencies of the tone-burst onsets the
	// probes detected, sender to receiver, in milliseconds.
	LatencyMS []float64 `json:"latency_ms"`
	// Probes is the number of decoding receivers; Unmatched counts onsets
	// that matched no burst sent (should be 0).
	Probes    int `json:"probes"`
	Unmatched int `json:"unmatched"`
	// CPUSeconds is the load process's CPU time in the window; LateTicks
	// counts pacer ticks that started more than 5 ms late (the load
	// generator falling behind).
	CPUSeconds float64 `json:"cpu_seconds"`
	LateTicks  int     `json:"late_ticks"`
	Ticks      int     `json:"ticks"`

	// Video, with -video only: Video is the forwarded video received.
	Video *VideoResult `json:"video,omitempty"`
}

// VideoResult is the forwarded video over the window: every participant
// sends one VP8 stream and receives one (the speaker it is shown), or,
// in the multi-stream mode, that one and one per other participant.
type VideoResult struct {
	// ClipKbps is the bitrate of the clip every participant sends.
	ClipKbps float64 `json:"clip_kbps"`
	// Sent counts the video packets the participants wrote.
	Sent uint64 `json:"sent"`
	// Streams counts the receivers that got forwarded video in the
	// window; Received their packets; ExpectedSeq what their (rewritten,
	// continuous) sequence numbers span. ExpectedSent is what the
	// senders they were shown at the end of the window sent in it (by
	// the packet numbers of the load's trailer), ReceivedSent how many
	// of those packets arrived, in the window or within a second after.
	Streams      int    `json:"streams"`
	Received     uint64 `json:"received"`
	ExpectedSeq  uint64 `json:"expected_seq"`
	ExpectedSent uint64 `json:"expected_sent"`
	ReceivedSent uint64 `json:"received_sent"`
	// WorstLoss is the highest loss of one receiver (by sequence).
	WorstLoss float64 `json:"worst_loss"`
	// Switches counts changes of the sender a receiver was shown, Self
	// packets of a receiver's own video, Unknown packets without the
	// load's trailer (both 0 unless the focus misroutes).
	Switches int `json:"switches"`
	Self     int `json:"self"`
	Unknown  int `json:"unknown"`
	// The multi-stream mode (-all-video) only, where every receiver also
	// gets one content per other participant of its room who sends
	// video (conference/streams.go). Extra counts the streams (among
	// Streams, which also counts each receiver's active-speaker view)
	// that are such added contents. Contents is how many of them had
	// media when the window opened (at most ContentsExpected per
	// receiver), ContentsExpected how many there should be (for each
	// participant, the other participants of its room), and
	// ContentsWaitSeconds how long the load waited for them after the
	// last join. Misrouted counts added contents that, in the window,
	// carried a different sender than before, a sender of another room,
	// or a sender that another content of the same receiver carries too;
	// Missing counts the (receiver, other participant of its room) pairs
	// that no added content carried in the window.
	AllVideo            bool    `json:"all_video,omitempty"`
	Extra               int     `json:"extra,omitempty"`
	Contents            int     `json:"contents,omitempty"`
	ContentsExpected    int     `json:"contents_expected,omitempty"`
	ContentsWaitSeconds float64 `json:"contents_wait_seconds,omitempty"`
	Misrouted           int     `json:"misrouted,omitempty"`
	// Misrouted's parts: contents whose sender changed in the window,
	// contents carrying another room's sender, and the second contents
	// of a receiver carrying the same sender (as when a content the
	// room removed still delivers queued packets beside its successor).
	Switched  int `json:"switched,omitempty"`
	Foreign   int `json:"foreign,omitempty"`
	Duplicate int `json:"duplicate,omitempty"`
	Missing   int `json:"missing,omitempty"`
	// Latency of the forwarded packets, sender's write to pion to the
	// receiver's sink, ms: percentiles over Timed packets.
	Timed      int     `json:"timed"`
	LatencyP50 float64 `json:"latency_p50"`
	LatencyP95 float64 `json:"latency_p95"`
	LatencyP99 float64 `json:"latency_p99"`
	LatencyMax float64 `json:"latency_max"`
}

// Add adds o, another load process's result over the same window, to r:
// counts add up, the worst loss and the longest times are kept, the
// latencies are joined. Video results are not added (a video run has one
// load process): r keeps its own.
func (r *Result) Add(o Result) {
	r.Participants += o.Participants
	r.Joined += o.Joined
	r.Rooms += o.Rooms
	r.SetupSeconds = max(r.SetupSeconds, o.SetupSeconds)
	r.WindowSeconds = max(r.WindowSeconds, o.WindowSeconds)
	r.Sent += o.Sent
	r.Received += o.Received
	r.ExpectedSeq += o.ExpectedSeq
	r.ExpectedRate += o.ExpectedRate
	r.WorstLoss = max(r.WorstLoss, o.WorstLoss)
	r.Ended += o.Ended
	r.LatencyMS = append(r.LatencyMS, o.LatencyMS...)
	r.Probes += o.Probes
	r.Unmatched += o.Unmatched
	r.CPUSeconds += o.CPUSeconds
	r.LateTicks += o.LateTicks
	r.Ticks += o.Ticks
	if r.Video == nil {
		r.Video = o.Video
	}
}
