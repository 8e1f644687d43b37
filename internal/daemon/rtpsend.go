package daemon

import (
	"fmt"

	"github.com/jingled/jingled/rtp"
)

// rtpSend adds the rtp_send forward to a call's media: what the caller
// sends goes, as RTP, to the configured local port (audio there, video
// two above), described in an SDP file for ffmpeg or GStreamer, beside
// any recording. The role takes one call at a time when it forwards (see
// newCallRole), since two calls on one port would mix.
func (a *account) rtpSend(m *rtp.MediaOptions, peer string) error {
	if a.cfg.RTPSend == "" {
		return nil
	}
	sdp := a.cfg.RTPSDP
	if sdp == "" {
		// Validation allows no rtp_sdp only for record: beside the
		// recording, one per call.
		sdp = m.Record + ".sdp"
	}
	fwd, err := rtp.Forward(rtp.ForwardOptions{Addr: a.cfg.RTPSend, AllowRemote: a.cfg.RTPAllowRemote, SDP: sdp,
		OnStream: func(s rtp.ForwardStream, _ []rtp.ForwardStream) {
			a.log.Info("forwarding RTP", "peer", peer, "content", s.Content, "addr", s.Addr, "codec", s.Codec,
				"payload_type", s.PayloadType, "sdp", sdp)
		}})
	if err != nil {
		return fmt.Errorf("rtp_send: %w", err)
	}
	var rec rtp.SinkFactory
	if m.Record != "" {
		rec = rtp.Recorder(m.Record)
	}
	m.Sinks = rtp.Tee(rec, fwd)
	return nil
}
