package cli

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pion/webrtc/v4"
	"github.com/spf13/cobra"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
)

func newSDP(g *globals) *cobra.Command {
	var (
		action string
		sid    string
		author string
		answer bool
	)
	cmd := &cobra.Command{
		Use:   "sdp [FILE]",
		Short: "Translate a Jingle stanza to SDP, or SDP to a Jingle stanza",
		Long: `Reads a Jingle element (or an <iq/> holding one) and prints the SDP pion
would be given for it; or reads SDP and prints the Jingle element jingled
would send. The direction is chosen from the input: XML starts with '<'.
Reads standard input when FILE is - or absent. For debugging interop.`,
		Example: `  jingle sdp session-initiate.xml
  jingle sdp --answer --author responder accept.xml
  jingle sdp --action session-accept --sid abc offer.sdp`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := readInput(args, cmd.InOrStdin())
			if err != nil {
				return err
			}
			opts := rtp.Options{Author: jingle.Creator(author)}
			if answer {
				opts.Type = webrtc.SDPTypeAnswer
			}
			trimmed := bytes.TrimSpace(in)
			if len(trimmed) == 0 {
				return exitf(ExitUsage, "empty input")
			}
			if trimmed[0] == '<' {
				j, err := jingleFrom(trimmed)
				if err != nil {
					return exitf(ExitFailure, "reading Jingle: %v", err)
				}
				if author == "" && j.Action == jingle.ActionSessionAccept {
					opts.Author = jingle.CreatorResponder
					opts.Type = webrtc.SDPTypeAnswer
				}
				s, err := rtp.JingleToSDP(j, opts)
				if err != nil {
					return exitf(ExitFailure, "translating to SDP: %v", err)
				}
				return g.out.Result(strings.TrimRight(s, "\r\n"), map[string]any{"sdp": s, "action": j.Action, "sid": j.SID})
			}
			contents, payloads, err := rtp.SDPToJingle(crlf(trimmed), opts)
			if err != nil {
				return exitf(ExitFailure, "translating to Jingle: %v", err)
			}
			j := &jingle.Jingle{Action: jingle.Action(action), SID: sid, Contents: contents, Payloads: payloads}
			if !j.Action.Valid() {
				return exitf(ExitUsage, "--action %q is not a Jingle action", action)
			}
			b, err := xml.MarshalIndent(j, "", "  ")
			if err != nil {
				return exitf(ExitFailure, "encoding Jingle: %v", err)
			}
			return g.out.Result(string(b), map[string]any{"jingle": string(b)})
		},
	}
	cmd.Flags().StringVar(&action, "action", string(jingle.ActionSessionInitiate), "Jingle action of the output, for SDP input")
	cmd.Flags().StringVar(&sid, "sid", "sdp", "session id of the output, for SDP input")
	cmd.Flags().StringVar(&author, "author", "", "who wrote the input: initiator (default) or responder")
	cmd.Flags().BoolVar(&answer, "answer", false, "the input is an answer (session-accept)")
	return cmd
}

func readInput(args []string, stdin io.Reader) ([]byte, error) {
	if len(args) == 0 || args[0] == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, 16<<20))
		if err != nil {
			return nil, exitf(ExitFailure, "reading standard input: %v", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return nil, exitf(ExitUsage, "%v", err)
	}
	return b, nil
}

// jingleFrom accepts a bare <jingle/> or an <iq/> that holds one.
func jingleFrom(b []byte) (*jingle.Jingle, error) {
	var probe struct{ XMLName xml.Name }
	if err := xml.Unmarshal(b, &probe); err != nil {
		return nil, err
	}
	if probe.XMLName.Local == "iq" {
		var iq jingle.IQ
		if err := xml.Unmarshal(b, &iq); err != nil {
			return nil, err
		}
		if len(iq.Payload) == 0 {
			return nil, fmt.Errorf("the iq has no payload")
		}
		b = iq.Payload
	}
	return jingle.Parse(b)
}

// crlf normalizes line endings to the CRLF SDP requires (RFC 8866 §5),
// with the final one, since SDP pasted or piped on a terminal has \n.
func crlf(b []byte) string {
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	return strings.Join(lines, "\r\n") + "\r\n"
}
