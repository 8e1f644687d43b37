// Package cli implements the jingle command: call, answer, send, receive,
// fetch, probe, sdp, turn-credentials and doctor. cmd/jingle only calls Main.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// globals are the flags every subcommand shares.
type globals struct {
	json bool
	out  *output
	errw io.Writer
}

// Main runs the jingle command with args (without the program name) and
// returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g := &globals{errw: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	g.out = &output{w: stdout}
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if ctx.Err() != nil && CodeOf(err) == ExitFailure {
		err = &ExitError{Code: ExitInterrupted, Err: errors.New("interrupted")}
	}
	code := CodeOf(err)
	var ee *ExitError
	if !errors.As(err, &ee) {
		// cobra's own errors (unknown flag, missing argument) are usage
		// errors; it has already printed usage hints.
		code = ExitUsage
	}
	fmt.Fprintf(stderr, "jingle: %v\n", err)
	return code
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "jingle",
		Short: "Jingle calls and file transfer from the command line",
		Long: `jingle places and answers XMPP Jingle calls (XEP-0166/0167, ICE, DTLS-SRTP)
and sends, receives and fetches files (XEP-0234 over datachannel, SOCKS5 or
IBB).

The account comes from --jid; its password from $JINGLE_PASSWORD or
--password-file, never from the command line.

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			g.out.json = g.json
		},
	}
	root.PersistentFlags().BoolVar(&g.json, "json", false, "print one JSON object per event and a final summary")
	root.AddCommand(
		newTurnCredentials(g),
		newSDP(g),
		newDoctor(g),
	)
	addAccountCommands(root, g)
	return root
}
