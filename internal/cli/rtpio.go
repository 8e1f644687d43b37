package cli

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/jingled/jingled/rtp"
)

// rtpFlags connect a call's media to local tools over plain RTP/UDP:
// --rtp-out forwards what the peer sends (with an SDP file for ffmpeg or
// GStreamer), --rtp-in sends what a tool streams to us.
type rtpFlags struct {
	out         string
	sdp         string
	in          string
	allowRemote bool
}

func (f *rtpFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.out, "rtp-out", "", "forward the peer's media as RTP to HOST:PORT (audio on PORT, video on PORT+2), described in --rtp-sdp")
	fl.StringVar(&f.sdp, "rtp-sdp", "", "SDP file describing the --rtp-out streams, for ffmpeg -i FILE (default: PREFIX.sdp with --record, else jingle-rtp-PORT.sdp)")
	fl.StringVar(&f.in, "rtp-in", "", "send the Opus RTP a tool streams to HOST:PORT as our audio (ffmpeg -f rtp, GStreamer rtpopuspay ! udpsink)")
	fl.BoolVar(&f.allowRemote, "rtp-allow-remote", false, "let --rtp-out/--rtp-in use an address that is not loopback (plain RTP: unencrypted, unauthenticated)")
}

// check refuses what cannot work before anyone is called.
func (f *rtpFlags) check(audio string) error {
	if f.in != "" && audio != "" {
		return exitf(ExitUsage, "--rtp-in and --audio both say what to send as audio: pick one")
	}
	if f.sdp != "" && f.out == "" {
		return exitf(ExitUsage, "--rtp-sdp describes --rtp-out streams: pass --rtp-out HOST:PORT too")
	}
	for flag, addr := range map[string]string{"--rtp-out": f.out, "--rtp-in": f.in} {
		if addr == "" {
			continue
		}
		if _, err := rtp.LoopbackAddr(addr); err != nil {
			if errors.Is(err, rtp.ErrNotLoopback) {
				if f.allowRemote {
					continue
				}
				return exitf(ExitUsage, "%s %s is not a loopback address: plain RTP is neither encrypted nor authenticated, so the call's media would cross the network in the clear (or anyone could inject media into it); pass --rtp-allow-remote if that is what you want", flag, addr)
			}
			return exitf(ExitUsage, "%s: %v", flag, err)
		}
	}
	return nil
}

// apply sets what a call does with --rtp-out and --rtp-in: called for
// each call, since the forward's ports and the input socket belong to one
// call.
func (f *rtpFlags) apply(m *rtp.MediaOptions, out *output) error {
	sinks, err := f.sinks(m.Record, out)
	if err != nil {
		return err
	}
	src, err := f.source(out)
	if err != nil {
		return err
	}
	if sinks != nil {
		m.Sinks = sinks
	}
	if src != nil {
		m.AudioSource = src
	}
	return nil
}

// source opens the --rtp-in socket, or returns nil without --rtp-in. A
// socket feeds one call: answer opens it anew for each.
func (f *rtpFlags) source(out *output) (rtp.Source, error) {
	if f.in == "" {
		return nil, nil
	}
	src, err := rtp.ListenUDP(f.in, rtp.CodecOpus, "audio")
	if err != nil {
		return nil, exitf(ExitMedia, "--rtp-in: %v", err)
	}
	out.Event("rtp-in", fmt.Sprintf("Sending the Opus RTP that arrives on %s as our audio.", src.Addr()), map[string]any{"addr": src.Addr().String(), "codec": "opus"})
	return src, nil
}

// sinks is what a call does with the peer's media: record to PREFIX.*
// and/or forward (--rtp-out), printing an rtp-out event as each stream
// starts. It is made anew for each call.
func (f *rtpFlags) sinks(record string, out *output) (rtp.SinkFactory, error) {
	if f.out == "" {
		return nil, nil
	}
	sdp := f.sdp
	if sdp == "" {
		if record != "" {
			sdp = record + ".sdp"
		} else {
			_, port, _ := net.SplitHostPort(f.out)
			sdp = "jingle-rtp-" + port + ".sdp"
		}
	}
	fwd, err := rtp.Forward(rtp.ForwardOptions{Addr: f.out, AllowRemote: f.allowRemote, SDP: sdp,
		OnStream: func(s rtp.ForwardStream, _ []rtp.ForwardStream) {
			codec := s.Codec + "/" + strconv.FormatUint(uint64(s.ClockRate), 10)
			if s.Channels > 1 {
				codec += "/" + strconv.FormatUint(uint64(s.Channels), 10)
			}
			out.Event("rtp-out", fmt.Sprintf("Forwarding %s (%s, payload type %d) to %s; SDP in %s.", s.Content, codec, s.PayloadType, s.Addr, sdp),
				map[string]any{"content": s.Content, "media": s.Media, "addr": s.Addr, "payload_type": s.PayloadType,
					"codec": s.Codec, "clock_rate": s.ClockRate, "channels": s.Channels, "fmtp": s.Fmtp, "sdp": sdp})
		}})
	if err != nil {
		return nil, exitf(ExitUsage, "--rtp-out: %v", err)
	}
	var rec rtp.SinkFactory
	if record != "" {
		rec = rtp.Recorder(record)
	}
	return rtp.Tee(rec, fwd), nil
}
