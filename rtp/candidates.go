package rtp

import (
	"strings"
)

// LocalCandidates returns the ICE candidates this side gathered so far
// on every PeerConnection of the call, as SDP candidate values
// ("candidate:1 1 udp 2130706431 127.0.0.2 40001 typ host"): what was
// offered to the peer, for a person (or test) checking which addresses a
// call used. Nil once the call's loop ended.
func (c *Call) LocalCandidates() []string {
	ch := make(chan []string, 1)
	if !c.q.post(func() {
		var out []string
		for _, p := range c.peers {
			ld := p.pc.LocalDescription()
			if ld == nil {
				continue
			}
			out = append(out, sdpCandidates(ld.SDP)...)
		}
		ch <- out
	}) {
		return nil
	}
	select {
	case out := <-ch:
		return out
	case <-c.loopEnd:
		return nil
	}
}

// sdpCandidates returns the a=candidate values of an SDP, without
// duplicates (a bundled candidate is listed once per m-line).
func sdpCandidates(sdp string) []string {
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(sdp, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=candidate:")
		if !ok || seen[v] {
			continue
		}
		seen[v] = true
		out = append(out, "candidate:"+v)
	}
	return out
}
