package rtp

import (
	"slices"
	"testing"
)

func TestSDPCandidates(t *testing.T) {
	sdp := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=candidate:1 1 udp 2130706431 127.0.0.1 4000 typ host\r\n" +
		"a=candidate:2 1 udp 2130706431 127.0.0.2 4001 typ host\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n" +
		"a=candidate:1 1 udp 2130706431 127.0.0.1 4000 typ host\r\na=end-of-candidates\r\n"
	want := []string{"candidate:1 1 udp 2130706431 127.0.0.1 4000 typ host", "candidate:2 1 udp 2130706431 127.0.0.2 4001 typ host"}
	if got := sdpCandidates(sdp); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
