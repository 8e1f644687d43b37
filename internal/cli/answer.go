package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
)

func newAnswer(g *globals) *cobra.Command {
	var (
		acct    accountFlags
		ice     iceFlags
		media   rtp.MediaOptions
		count   int
		timeout time.Duration
		from    []string
		rio     rtpFlags
	)
	cmd := &cobra.Command{
		Use:   "answer",
		Short: "Wait for calls and answer them (echo, play a file, record)",
		Long: `Logs in and answers incoming calls: --echo sends the caller's audio and
video back (--echo-delay 1s plays it back a second later, as echo-test
services do, so the caller's echo canceller keeps it), --audio/--video play files (Ogg/Opus or WAV; IVF or H.264), --record
PREFIX records the call to PREFIX.ogg / .wav / .ivf / .h264 by codec
(PREFIX-N.* for the Nth when answering several calls), --codecs limits
and orders the codecs; --rtp-out/--rtp-in HOST:PORT connect each call to local RTP tools
(see jingle call --help). Rings are answered through Jingle Message
Initiation (XEP-0353) and plain session-initiate alike. During a call,
lines on standard input control it as for jingle call (hold, video on
FILE, stats, hangup, help…). Stops after --count calls (0: until
Ctrl-C) and prints each call's statistics.`,
		Example: `  JINGLE_PASSWORD=... jingle answer --jid bob@example.org --echo --count 1
  jingle answer --jid echo@example.org --echo --echo-delay 1s
  jingle answer --jid bob@example.org --audio hold-music.ogg --record calls/call --from alice@example.org`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if !media.Echo && media.Audio == "" && media.Video == "" && media.Record == "" && rio.out == "" && rio.in == "" {
				return exitf(ExitUsage, "say what to do with calls: --echo, --audio/--video FILE, --record PREFIX, or --rtp-out/--rtp-in HOST:PORT")
			}
			if err := rio.check(media.Audio); err != nil {
				return err
			}
			if err := checkCodecs(media.Codecs); err != nil {
				return err
			}
			if media.EchoDelay < 0 || media.EchoDelay > rtp.MaxEchoDelay {
				return exitf(ExitUsage, "--echo-delay %v: want 0 to %v", media.EchoDelay, rtp.MaxEchoDelay)
			}
			allowed := allowFunc(from)
			calls := make(chan *rtp.Call, 16)
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
				// Answering would accept calls that can only time out.
				return noAddressError(err)
			}
			app := rtp.NewApplication(rtp.ApplicationOptions{
				Peer: peerOpts,
				OnIncoming: func(c *rtp.Call) {
					select {
					case calls <- c:
					default:
						go func() { _ = c.End(context.Background(), jingle.NewReason(jingle.ReasonBusy, "")) }()
					}
				},
			})
			ep.serve(append(app.Options(), jingle.WithProposalHandler(func(p *jingle.Proposal) {
				go answerProposal(ctx, p, allowed, g.out)
			}))...)
			g.out.Event("ready", fmt.Sprintf("Waiting for calls as %s…", ep.client.JID()), map[string]any{"jid": ep.client.JID()})
			var deadline <-chan time.Time
			if timeout > 0 {
				t := time.NewTimer(timeout)
				defer t.Stop()
				deadline = t.C
			}
			// Commands typed during a call (commands.go); between calls
			// they are told there is none.
			lines := readLines(cmd.InOrStdin())
			var lastErr error
			for n := 1; count == 0 || n <= count; n++ {
				var call *rtp.Call
				for call == nil {
					select {
					case call = <-calls:
					case line, ok := <-lines:
						if !ok {
							lines = nil
							continue
						}
						g.noCallCommand(line)
					case <-deadline:
						return exitf(ExitNoAnswer, "no call within %v", timeout)
					case <-ep.lost():
						return ep.lostError(&acct)
					case <-ctx.Done():
						return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("interrupted")}
					}
				}
				if !allowed(call.Peer()) {
					_ = call.End(ctx, jingle.NewReason(jingle.ReasonDecline, "not allowed"))
					g.out.Event("declined", "Declined a call from "+call.Peer()+" (not in --from).", map[string]any{"peer": call.Peer()})
					n--
					continue
				}
				m := media
				if m.Record != "" && count != 1 {
					m.Record = fmt.Sprintf("%s-%d", media.Record, n)
				}
				g.out.Event("incoming", "Answering "+call.Peer()+"…", map[string]any{"peer": call.Peer()})
				start := time.Now()
				if err := rio.apply(&m, g.out); err != nil {
					_ = call.End(ctx, jingle.NewReason(jingle.ReasonMediaError, "no media input"))
					return err
				}
				if err := call.Answer(ctx, m); err != nil {
					g.out.Event("error", "Answering failed: "+err.Error(), map[string]any{"error": err.Error()})
					lastErr = exitf(ExitMedia, "answering %s: %v", call.Peer(), err)
					continue
				}
				lastErr = g.follow(ctx, call, start, m.Record, lines)
			}
			return lastErr
		},
	}
	acct.register(cmd)
	registerReconnect(cmd, &acct)
	ice.register(cmd)
	rio.register(cmd)
	registerCodecs(cmd, &media.Codecs)
	f := cmd.Flags()
	f.BoolVar(&media.Echo, "echo", false, "send the caller's audio and video back")
	f.DurationVar(&media.EchoDelay, "echo-delay", 0, "with --echo: play the caller back this much later (e.g. 1s, so its echo canceller keeps it; 0: at once)")
	f.StringVar(&media.Audio, "audio", "", "Ogg/Opus or WAV file to play to callers (WAV is encoded to G.722, PCMU or PCMA as negotiated)")
	f.StringVar(&media.Video, "video", "", "IVF (VP8/VP9) or .h264 file to play to callers")
	f.StringVar(&media.Record, "record", "", "record each call to PREFIX[-N].ogg / .wav / .ivf / .h264 (by codec)")
	f.DurationVar(&media.Duration, "duration", 0, "hang up this long after the media connected")
	f.IntVar(&count, "count", 0, "answer this many calls, then exit (0: until Ctrl-C)")
	f.DurationVar(&timeout, "timeout", 0, "give up when no call came within this time")
	f.StringArrayVar(&from, "from", nil, "accept calls only from this JID or domain (repeatable; default: anyone)")
	return cmd
}

// answerProposal rings and proceeds for allowed callers, declines others.
func answerProposal(ctx context.Context, p *jingle.Proposal, allowed func(string) bool, out *output) {
	if !allowed(p.Peer()) {
		_ = p.Reject(ctx, jingle.NewReason(jingle.ReasonDecline, "not allowed"))
		out.Event("declined", "Declined a ring from "+p.Peer()+" (not in --from).", map[string]any{"peer": p.Peer()})
		return
	}
	_ = p.Ring(ctx)
	if err := p.Proceed(ctx); err != nil {
		out.Event("error", "Proceeding failed: "+err.Error(), map[string]any{"peer": p.Peer(), "error": err.Error()})
	}
}
