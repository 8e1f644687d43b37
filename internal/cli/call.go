package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
)

// callSummary is the final JSON object of call and answer.
type callSummary struct {
	Event    string    `json:"event"`
	Peer     string    `json:"peer"`
	SID      string    `json:"sid"`
	Reason   string    `json:"reason"`
	SetupMS  float64   `json:"setup_ms,omitempty"`
	Duration float64   `json:"duration_s"`
	Stats    rtp.Stats `json:"stats"`
	Record   string    `json:"record,omitempty"`
}

func newCall(g *globals) *cobra.Command {
	var (
		acct     accountFlags
		ice      iceFlags
		media    rtp.MediaOptions
		ring     time.Duration
		noBundle bool
		noAudio  bool
		allVideo bool
		// receiveVideo offers video without sending any.
		receiveVideo bool
		rio          rtpFlags
	)
	cmd := &cobra.Command{
		Use:   "call JID",
		Short: "Place an audio/video call and send files as its media",
		Long: `Calls JID. A bare JID rings, through Jingle Message Initiation
(XEP-0353), every device of the peer that advertises it; when none does
but one takes calls (StanzaJS), that device (the highest presence
priority) gets the session-initiate directly, as does a full JID. Without
the peer's presence, the ring goes out through JMI anyway. Media comes from files:
--audio (Ogg/Opus, or WAV encoded to G.722/G.711 as negotiated) and
--video (IVF VP8/VP9, or H.264 Annex-B); what the peer sends is recorded
with --record PREFIX (PREFIX.ogg, .wav, .ivf or .h264 by codec).
--codecs lists the codecs the call may use, in order of preference.
--rtp-out HOST:PORT forwards what the peer sends as RTP to local tools
(ffmpeg, GStreamer) with an SDP file describing it, --rtp-in HOST:PORT
sends the Opus RTP a tool streams there (see docs/CALLS.md).
While it runs, lines on standard input control it: video on [FILE],
video off, hold, unhold, mute, unmute, stats, hangup, help (see
docs/CALLS.md). The call ends after --duration, when the peer hangs up,
on hangup or on Ctrl-C, and prints its statistics.`,
		Example: `  JINGLE_PASSWORD=... jingle call --jid alice@example.org echo@example.org \
      --audio tone.ogg --record back --duration 10s
  jingle call --jid alice@example.org bob@example.org/phone --video cam.ivf --json
  jingle call --jid alice@example.org bob@example.org --rtp-out 127.0.0.1:5004 --rtp-sdp call.sdp
      (then: ffmpeg -protocol_whitelist file,udp,rtp -i call.sdp call.wav)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			peer := args[0]
			if err := rio.check(media.Audio); err != nil {
				return err
			}
			if err := checkCodecs(media.Codecs); err != nil {
				return err
			}
			ep, servers, err := g.loginICE(ctx, &acct, &ice)
			if err != nil {
				return err
			}
			defer ep.close()
			peerOpts, err := ice.peerOptions(servers, g.logger())
			if err != nil {
				return err
			}
			peerOpts.ICEServerSource = ep.iceSource(&ice, servers)
			if err := peerOpts.CheckAddresses(); err != nil {
				// Before ringing anyone: the call could only time out.
				return noAddressError(err)
			}
			app := rtp.NewApplication(rtp.ApplicationOptions{Peer: peerOpts})
			ep.serve(jingle.WithApplication(dialOnly{app}), jingle.WithTransport(rtp.ICEUDP{}))
			if allVideo {
				// A conference room asks our disco#info for it before
				// sending every participant's video as its own content.
				ep.client.AddFeatures(rtp.FeatureAllVideo)
			}
			// The ring (JMI) proposes exactly the media the
			// session-initiate will offer: Dino declines a session that
			// adds a content the proposal did not announce.
			wantVideo := media.Video != "" || receiveVideo
			descs := []jingle.Element{jingle.MustElement(&rtpDescription{Media: "audio"})}
			if wantVideo {
				descs = append(descs, jingle.MustElement(&rtpDescription{Media: "video"}))
			}
			ringCtx, cancelRing := context.WithTimeout(ctx, ring)
			full, sid, err := ep.resolvePeer(ringCtx, peer, rtp.NS, descs, g.out)
			cancelRing()
			if err != nil {
				return err
			}
			if err := rio.apply(&media, g.out); err != nil {
				return err
			}
			opts := rtp.CallOptions{
				MediaOptions: media,
				Peer:         peerOpts,
				NoAudio:      noAudio,
				ReceiveVideo: wantVideo,
				NoBundle:     noBundle,
				SID:          sid,
			}
			start := time.Now()
			call, err := app.Dial(ctx, ep.mgr, full, opts)
			if err != nil {
				return dialError(full, err)
			}
			g.out.Event("initiated", fmt.Sprintf("Calling %s (session %s)…", full, call.Session().SID()), map[string]any{"peer": full, "sid": call.Session().SID()})
			return g.follow(ctx, call, start, media.Record, readLines(cmd.InOrStdin()))
		},
	}
	acct.register(cmd)
	// A call outlives a lost connection (its media never went through
	// XMPP, and XEP-0198 carries its signalling over): say so as it
	// happens, as the listeners do.
	acct.reportReconnect = true
	ice.register(cmd)
	rio.register(cmd)
	registerCodecs(cmd, &media.Codecs)
	f := cmd.Flags()
	f.StringVar(&media.Audio, "audio", "", "Ogg/Opus file, or WAV (PCM, A-law, mu-law: encoded to G.722, PCMU or PCMA as negotiated), to send as audio")
	f.StringVar(&media.Video, "video", "", "IVF (VP8/VP9) or .h264 (Baseline, Main or High profile) file to send as video")
	f.StringVar(&media.Record, "record", "", "record what the peer sends to PREFIX.ogg (Opus), PREFIX.wav (G.711, G.722), PREFIX.ivf (VP8/VP9), PREFIX.h264")
	f.DurationVar(&media.Duration, "duration", 0, "hang up this long after the media connected (0: until the peer hangs up or Ctrl-C)")
	f.DurationVar(&ring, "ring-timeout", 45*time.Second, "give up when nobody answers within this time")
	f.BoolVar(&noBundle, "no-bundle", false, "one transport per content, no BUNDLE group (as Dino does)")
	f.BoolVar(&noAudio, "no-audio", false, "video only")
	f.BoolVar(&receiveVideo, "receive-video", false, "offer video without sending any, to see (and with --record, record) the peer's")
	f.BoolVar(&allVideo, "all-video", false, "in a conference room, receive every participant's video as a content of its own (recorded as PREFIX-CONTENT.ivf), not only the active speaker's")
	return cmd
}

// dialOnly is the call application of a resource that places one call
// and takes none: it advertises no RTP feature (a caller choosing a
// device of our account must not pick this one) and ends an incoming
// session-initiate, which can only come to this very resource, with
// <unsupported-applications/>.
type dialOnly struct{ *rtp.Application }

func (dialOnly) Features() []string { return nil }

func (dialOnly) HandleInitiate(context.Context, *jingle.Session, *jingle.Jingle) (jingle.SessionHandler, error) {
	return nil, &jingle.TerminateError{Reason: jingle.NewReason(jingle.ReasonUnsupportedApplications, "this resource only places a call")}
}

// rtpDescription is the XEP-0353 <description/> of a proposed call.
type rtpDescription struct {
	XMLName struct{} `xml:"urn:xmpp:jingle:apps:rtp:1 description"`
	Media   string   `xml:"media,attr"`
}

func dialError(peer string, err error) error {
	if errors.Is(err, rtp.ErrNoAddress) {
		return noAddressError(err)
	}
	var je *jingle.Error
	if errors.As(err, &je) {
		switch je.Condition {
		case jingle.CondServiceUnavailable, jingle.CondItemNotFound, jingle.CondRecipientUnavailable:
			return exitf(ExitNoAnswer, "%s is not available: %v", peer, err)
		case jingle.CondForbidden, jingle.CondNotAllowed:
			return exitf(ExitDeclined, "%s refused the call: %v", peer, err)
		}
	}
	return exitf(ExitFailure, "calling %s: %v", peer, err)
}

// follow prints a call's events until it ends, hangs up on Ctrl-C, and
// prints the summary. It returns the exit error for how it ended.
// Meanwhile it runs the commands that arrive on lines (standard input:
// hold, video on…, see commands.go); nil or closed lines change nothing.
func (g *globals) follow(ctx context.Context, call *rtp.Call, start time.Time, record string, lines <-chan string) error {
	var connected time.Time
	ctl := make(chan struct{})
	go func() {
		defer close(ctl)
		(&callControl{g: g, call: call}).run(lines)
	}()
	for {
		select {
		case ev, ok := <-call.Events():
			if !ok {
				return g.callEnded(call, start, connected, record, ctl)
			}
			if ev.Type == rtp.EventConnected && connected.IsZero() {
				connected = ev.Time
			}
			g.out.Event(string(ev.Type), describeEvent(ev), map[string]any{"type": ev.Type, "content": ev.Content, "reason": ev.Reason, "text": ev.Text})
			if ev.Type == rtp.EventConnected {
				// What we offered, for scripts checking the addresses
				// used (JSON only: no human line).
				g.out.Event("local-candidates", "", map[string]any{"candidates": call.LocalCandidates()})
			}
		case <-call.Done():
			// Drain the remaining events first.
			for ev := range call.Events() {
				g.out.Event(string(ev.Type), describeEvent(ev), map[string]any{"type": ev.Type, "content": ev.Content, "reason": ev.Reason, "text": ev.Text})
			}
			return g.callEnded(call, start, connected, record, ctl)
		case <-ctx.Done():
			hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = call.Hangup(hctx)
			cancel()
			_ = g.callEnded(call, start, connected, record, ctl)
			return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("interrupted: hung up")}
		}
	}
}

func (g *globals) callEnded(call *rtp.Call, start, connected time.Time, record string, ctl <-chan struct{}) error {
	// The outcome of a command that ended the call (hangup, video off of
	// the last content) comes before the summary.
	select {
	case <-ctl:
	case <-time.After(5 * time.Second):
	}
	st := call.Stats()
	r := call.Reason()
	sum := callSummary{Event: "summary", Peer: call.Peer(), Reason: r.String(), Stats: st, Record: record}
	if s := call.Session(); s != nil {
		sum.SID = s.SID()
	}
	if fm := call.FirstMedia(); !fm.IsZero() {
		sum.SetupMS = float64(fm.Sub(start).Microseconds()) / 1000
	}
	if !connected.IsZero() {
		sum.Duration = time.Since(connected).Seconds()
	}
	var human strings.Builder
	fmt.Fprintf(&human, "Call with %s ended: %s\n", call.Peer(), r)
	if sum.SetupMS > 0 {
		fmt.Fprintf(&human, "  set-up:   %.0f ms to the first media packet\n", sum.SetupMS)
	}
	fmt.Fprintf(&human, "  sent:     %d packets, %d bytes\n", st.PacketsSent, st.BytesSent)
	fmt.Fprintf(&human, "  received: %d packets, %d bytes, %d lost, jitter %.1f ms\n", st.PacketsReceived, st.BytesReceived, st.PacketsLost, st.Jitter*1000)
	fmt.Fprintf(&human, "  rtt:      %.1f ms\n", st.RTT*1000)
	if st.Pair.LocalType != "" {
		fmt.Fprintf(&human, "  path:     %s %s -> %s %s (%s)\n", st.Pair.LocalType, st.Pair.Local, st.Pair.RemoteType, st.Pair.Remote, st.Pair.Protocol)
	}
	if record != "" {
		fmt.Fprintf(&human, "  recorded: %s.*\n", record)
	}
	if err := g.out.Result(strings.TrimRight(human.String(), "\n"), sum); err != nil {
		return err
	}
	if r == nil {
		return exitf(ExitFailure, "the call ended without a reason")
	}
	return reasonError(call.Peer(), r)
}

func describeEvent(ev rtp.Event) string {
	switch ev.Type {
	case rtp.EventRinging:
		return "Ringing…"
	case rtp.EventAccepted:
		return "Accepted."
	case rtp.EventConnected:
		return "Connected (ICE and DTLS up)."
	case rtp.EventMedia:
		return "Media flowing (" + ev.Content + ")."
	case rtp.EventHold:
		return "The peer put the call on hold (media stopped both ways)."
	case rtp.EventUnhold:
		return "The peer resumed the call."
	case rtp.EventContentAdd:
		return "Content " + ev.Content + " added."
	case rtp.EventContentRemove:
		if ev.Text != "" {
			return "Content " + ev.Content + " removed (" + ev.Text + ")."
		}
		return "Content " + ev.Content + " removed."
	case rtp.EventPathBroken:
		return "The connection broke (ICE disconnected or failed)."
	case rtp.EventRestarting:
		return "Restarting ICE (" + ev.Text + ")."
	case rtp.EventRestart:
		return "ICE restarted."
	case rtp.EventPathRestored:
		return "The connection is back (" + ev.Text + ")."
	case rtp.EventEnded:
		s := "Ended: " + ev.Reason
		if ev.Text != "" {
			s += " (" + ev.Text + ")"
		}
		return s
	}
	s := string(ev.Type)
	if ev.Content != "" {
		s += " " + ev.Content
	}
	return s
}
