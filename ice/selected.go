package ice

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// Started reports whether pion has started the ICE transport it, the
// condition for asking it about its selected pair. pion's
// GetSelectedCandidatePair and GetSelectedCandidatePairStats read the
// transport's gatherer without the lock that Start writes it under, and
// Start runs in pion's operations goroutine right after
// SetRemoteDescription: asking while it starts is a data race, which
// failed fresh-clone CI runs twice (a call's stats read as its transport
// started, conference's TestRoomRefuses; TestSelectedWhileStarting
// reproduces it). The state leaves new only after that write, through
// atomics, so once it has the read is ordered after it. Before then
// there is no pair anyway.
func Started(it *webrtc.ICETransport) bool {
	if it == nil {
		return false
	}
	switch it.State() {
	case webrtc.ICETransportStateUnknown, webrtc.ICETransportStateNew:
		return false
	}
	return true
}

// SelectedPair describes the pair ICE selected on it: zero before it
// started or while none is selected.
func SelectedPair(it *webrtc.ICETransport) Pair {
	if !Started(it) {
		return Pair{}
	}
	p, err := it.GetSelectedCandidatePair()
	if err != nil {
		return Pair{}
	}
	return PairOf(p)
}

// SelectedRTT is ICE's current round-trip time on it's selected pair
// (from its connectivity and consent checks), 0 if unknown.
func SelectedRTT(it *webrtc.ICETransport) time.Duration {
	if !Started(it) {
		return 0
	}
	st, ok := it.GetSelectedCandidatePairStats()
	if !ok {
		return 0
	}
	return time.Duration(st.CurrentRoundTripTime * float64(time.Second))
}
