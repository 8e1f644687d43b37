// Key frame requests (RTCP PLI, FIR) passed on to the sources that
// produce video.

package rtp

import (
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// KeyFrameRequestHandler is a Source told when the peer asks for a key
// frame on its track (RTCP PLI or FIR): a forwarder passes the request on
// to whoever produces the video (a conference focus asks the participant
// it forwards).
type KeyFrameRequestHandler interface {
	Source
	OnKeyFrameRequest()
}

// wantsKeyFrame reports whether an RTCP compound packet asks for a key
// frame.
func wantsKeyFrame(pkts []rtcp.Packet) bool {
	for _, pk := range pkts {
		switch pk.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			return true
		}
	}
	return false
}

// RequestKeyFrame asks the peer for a key frame (RTCP PLI) on every video
// track it sends, e.g. when a conference switches the video it forwards
// to this participant's. It does nothing before the tracks exist or after
// the call ended.
func (c *Call) RequestKeyFrame() {
	c.q.post(func() {
		for _, p := range c.peers {
			for _, tr := range p.pc.GetTransceivers() {
				if tr.Kind() != webrtc.RTPCodecTypeVideo || tr.Receiver() == nil {
					continue
				}
				for _, t := range tr.Receiver().Tracks() {
					_ = p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
				}
			}
		}
	})
}
