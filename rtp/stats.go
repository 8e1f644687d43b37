// A call's statistics, from pion's stats report and the ICE transport's
// selected candidate pair.

package rtp

import (
	"fmt"
	"github.com/jingled/jingled/ice"
	"time"

	"github.com/pion/webrtc/v4"
)

// Stats summarise a call for the CLI's final report and for scripts
// (--json). They are taken from pion's W3C-style stats report (which the
// stats and RTCP report interceptors fill) and from the ICE transport's
// selected pair. Times are in seconds, as in the W3C stats.
type Stats struct {
	// PacketsSent, BytesSent, PacketsReceived and BytesReceived are the
	// RTP totals over every stream of the call (payload bytes).
	PacketsSent     uint64 `json:"packets_sent"`
	BytesSent       uint64 `json:"bytes_sent"`
	PacketsReceived uint64 `json:"packets_received"`
	BytesReceived   uint64 `json:"bytes_received"`
	// PacketsLost is what we lost receiving (from sequence gaps).
	PacketsLost int64 `json:"packets_lost"`
	// RemotePacketsLost is what the peer reported lost of ours (RTCP RR).
	RemotePacketsLost int64 `json:"remote_packets_lost"`
	// Jitter is the largest receive jitter of the streams, in seconds.
	Jitter float64 `json:"jitter"`
	// RTT is the round-trip time in seconds: from RTCP receiver reports
	// when the peer sent some, else the ICE consent checks.
	RTT float64 `json:"rtt"`
	// Pair is the selected candidate pair of the first transport.
	Pair CandidatePair `json:"candidate_pair"`
	// Streams are the per-content details.
	Streams []StreamStats `json:"streams"`
}

// CandidatePair describes the ICE candidate pair carrying a transport
// (the same type file transfers report).
type CandidatePair = ice.Pair

// StreamStats are one content's RTP counters.
type StreamStats struct {
	Content string `json:"content"`
	Kind    string `json:"kind"`
	// Codec is the MIME type of what we send on the content (of what we
	// receive when we send nothing); CodecParameters are its format
	// parameters (the a=fmtp value: H.264's profile-level-id, say).
	Codec           string `json:"codec,omitempty"`
	CodecParameters string `json:"codec_parameters,omitempty"`
	PacketsSent     uint64 `json:"packets_sent"`
	BytesSent       uint64 `json:"bytes_sent"`
	PacketsReceived uint64 `json:"packets_received"`
	BytesReceived   uint64 `json:"bytes_received"`
	PacketsLost     int64  `json:"packets_lost"`
	// RemotePacketsLost is what the peer reported lost of ours.
	RemotePacketsLost int64   `json:"remote_packets_lost"`
	Jitter            float64 `json:"jitter"`
	RTT               float64 `json:"rtt"`
	// Pair is this content's candidate pair (differs per content only
	// with a peer that does not bundle).
	Pair CandidatePair `json:"candidate_pair"`
}

// String is a one-line human summary.
func (s Stats) String() string {
	return fmt.Sprintf("sent %d packets (%d bytes), received %d packets (%d bytes), lost %d, jitter %v, rtt %v, pair %s/%s",
		s.PacketsSent, s.BytesSent, s.PacketsReceived, s.BytesReceived, s.PacketsLost,
		secondsDuration(s.Jitter), secondsDuration(s.RTT), s.Pair.LocalType, s.Pair.RemoteType)
}

func secondsDuration(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(100 * time.Microsecond)
}

// peerStats gathers the streams of one PeerConnection from our stats
// interceptor: sent counters and the peer's receiver reports (loss, RTT)
// per sender SSRC, received counters per remote track. contents are the
// Jingle contents the PeerConnection carries, in order; a transceiver
// without mid (an undeclared SSRC on a one-content PeerConnection)
// counts for its only content.
func peerStats(pc *webrtc.PeerConnection, h *statsHolder, contents []string) []StreamStats {
	// pc.GetStats is avoided: it races with pion's own Close (it reads
	// the PeerConnection's stats getter unlocked), and our interceptor
	// has the RTP counters anyway.
	it := iceTransport(pc)
	pair := ice.SelectedPair(it)
	pairRTT := ice.SelectedRTT(it).Seconds()
	by := map[string]*StreamStats{}
	for _, t := range pc.GetTransceivers() {
		name := t.Mid()
		if name == "" && len(contents) == 1 {
			name = contents[0]
		}
		if name == "" {
			continue
		}
		st := by[name]
		if st == nil {
			st = &StreamStats{Content: name, Kind: t.Kind().String(), Pair: pair}
			by[name] = st
		}
		if s := t.Sender(); s != nil {
			if tr := s.Track(); tr != nil && st.Codec == "" {
				c := codecOfSender(s)
				st.Codec, st.CodecParameters = c.MimeType, c.SDPFmtpLine
			}
			for _, e := range s.GetParameters().Encodings {
				x := h.get(e.SSRC)
				if x == nil {
					continue
				}
				// Packets sent direct (direct_send.go) pass pion's
				// stats by.
				dp, db := h.directTx.counts(uint32(e.SSRC))
				st.PacketsSent += x.OutboundRTPStreamStats.PacketsSent + dp
				st.BytesSent += x.OutboundRTPStreamStats.BytesSent + db
				if rtt := x.RemoteInboundRTPStreamStats.RoundTripTime; rtt > 0 {
					st.RTT = rtt.Seconds()
				}
				st.RemotePacketsLost += cumulativeLost(x.RemoteInboundRTPStreamStats.PacketsLost)
			}
		}
		if r := t.Receiver(); r != nil {
			for _, tr := range r.Tracks() {
				if st.Codec == "" {
					st.Codec, st.CodecParameters = tr.Codec().MimeType, tr.Codec().SDPFmtpLine
				}
				x := h.get(tr.SSRC())
				if x == nil {
					continue
				}
				st.PacketsReceived += x.InboundRTPStreamStats.PacketsReceived
				st.BytesReceived += x.InboundRTPStreamStats.BytesReceived
				st.PacketsLost += x.InboundRTPStreamStats.PacketsLost
				st.Jitter = max(st.Jitter, h.jitter.jitter(uint32(tr.SSRC())))
			}
		}
	}
	for name, st := range by {
		// Packets of the direct path (direct.go) never reach pion's
		// stats, which stop where the stream was armed.
		d := h.direct.counts(name)
		st.PacketsReceived += d.packets
		st.BytesReceived += d.bytes
		st.PacketsLost += int64(d.lost)
	}
	var out []StreamStats
	for _, n := range contents {
		if st := by[n]; st != nil {
			if st.RTT == 0 {
				st.RTT = pairRTT
			}
			out = append(out, *st)
		}
	}
	return out
}

// codecOfSender is the codec s sends in.
func codecOfSender(s *webrtc.RTPSender) webrtc.RTPCodecCapability {
	switch t := s.Track().(type) {
	case *codecTrack:
		// A track that encodes knows the codec it was bound to.
		if c := t.boundCodec(); c.MimeType != "" {
			return c
		}
	case interface {
		Codec() webrtc.RTPCodecCapability
	}:
		// pion's static tracks send in their one codec; the sender's
		// parameters list every negotiated codec of the kind.
		return t.Codec()
	}
	if p := s.GetParameters(); len(p.Codecs) > 0 {
		return p.Codecs[0].RTPCodecCapability
	}
	return webrtc.RTPCodecCapability{}
}

// iceTransport returns the PeerConnection's ICE transport.
func iceTransport(pc *webrtc.PeerConnection) *webrtc.ICETransport {
	sctp := pc.SCTP()
	var it *webrtc.ICETransport
	for _, t := range pc.GetTransceivers() {
		if s := t.Sender(); s != nil && s.Transport() != nil {
			it = s.Transport().ICETransport()
			break
		}
		if r := t.Receiver(); r != nil && r.Transport() != nil {
			it = r.Transport().ICETransport()
			break
		}
	}
	if it == nil && sctp != nil && sctp.Transport() != nil {
		it = sctp.Transport().ICETransport()
	}
	return it
}

// total sums streams into call totals.
func total(streams []StreamStats) Stats {
	s := Stats{Streams: streams}
	for i, st := range streams {
		if i == 0 {
			s.Pair = st.Pair
			s.RTT = st.RTT
		}
		s.PacketsSent += st.PacketsSent
		s.BytesSent += st.BytesSent
		s.PacketsReceived += st.PacketsReceived
		s.BytesReceived += st.BytesReceived
		s.PacketsLost += st.PacketsLost
		s.RemotePacketsLost += st.RemotePacketsLost
		s.Jitter = max(s.Jitter, st.Jitter)
		if s.RTT == 0 {
			s.RTT = st.RTT
		}
	}
	return s
}
