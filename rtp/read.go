// Reading a remote track into packets of their own size.

package rtp

import (
	"fmt"

	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// readMTU is the largest RTP packet a track reader takes (pion's default
// receive MTU).
const readMTU = 1460

// readPacket reads the next packet of t through buf and returns it in
// memory of its own size. pion's TrackRemote.ReadRTP allocates a whole
// receive MTU (1460 bytes) per packet, a 100-byte Opus packet included;
// at 50 packets/s per call that was most of an echo call's garbage.
// The packet is the caller's to keep (sinks and the echo queue do).
func readPacket(t *webrtc.TrackRemote, buf []byte) (*pionrtp.Packet, error) {
	n, _, err := t.Read(buf)
	if err != nil {
		return nil, err
	}
	pkt := &pionrtp.Packet{}
	if err := pkt.Unmarshal(append([]byte(nil), buf[:n]...)); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadPacket, err)
	}
	return pkt, nil
}
