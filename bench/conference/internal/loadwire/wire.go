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
}
