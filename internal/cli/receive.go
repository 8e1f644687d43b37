package cli

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/jingled/jingled/filetransfer"
)

func newReceive(g *globals) *cobra.Command {
	var (
		acct    accountFlags
		ice     iceFlags
		dir     string
		from    []string
		maxSize int64
		count   int
		timeout time.Duration
		partAge time.Duration
	)
	cmd := &cobra.Command{
		Use:   "receive",
		Short: "Wait for files (XEP-0234) and save them to a directory",
		Long: `Logs in and accepts file offers from --from senders (default: anyone)
up to --max-size, saving them in --dir. Names are sanitized (no path
separators, no "..", no control characters, collisions renamed), data is
written to a temporary file and appears under its name only after its size
and hash verified; a mismatch deletes it and ends the session with
media-error. Stops after --count files (0: until Ctrl-C).`,
		Example: `  JINGLE_PASSWORD=... jingle receive --jid bob@example.org --dir ~/Downloads --count 1
  jingle receive --jid bob@example.org --from alice@example.org --max-size 1073741824 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			d, reportCleaned, err := openReceiveDir("--dir", dir, partAge)
			if err != nil {
				return err
			}
			defer d.Close()
			ep, servers, err := g.loginICE(ctx, &acct, &ice)
			if err != nil {
				return err
			}
			defer ep.close()
			results := make(chan *filetransfer.Result, 16)
			var mu sync.Mutex
			bars := map[string]*bar{}
			ft, err := g.serveFiles(ctx, ep, &ice, servers,
				filetransfer.WithReceiveDir(d),
				filetransfer.WithAutoAccept(filetransfer.AcceptPolicy{MaxSize: maxSize, Senders: from}),
				filetransfer.WithResults(func(r *filetransfer.Result) {
					if !r.Sent {
						results <- r
					}
				}),
				filetransfer.WithProgress(func(sid string, done, total int64) {
					mu.Lock()
					b, ok := bars[sid]
					if !ok {
						b = g.progress(total, "receiving")
						bars[sid] = b
					}
					mu.Unlock()
					b.set(done)
				}),
			)
			if err != nil {
				return err
			}
			defer ft.Close()
			g.out.Event("ready", fmt.Sprintf("Waiting for files as %s, saving to %s…", ep.client.JID(), dir), map[string]any{"jid": ep.client.JID(), "dir": dir})
			reportCleaned(g.out)
			var deadline <-chan time.Time
			if timeout > 0 {
				t := time.NewTimer(timeout)
				defer t.Stop()
				deadline = t.C
			}
			var lastErr error
			for n := 0; count == 0 || n < count; n++ {
				select {
				case r := <-results:
					mu.Lock()
					if b := bars[r.SID]; b != nil {
						b.finish()
					}
					mu.Unlock()
					if errors.Is(r.Err, filetransfer.ErrSuperseded) {
						// Not a file of its own: the sender lost this
						// session and resumes it in a new one, whose
						// result counts.
						g.out.Event("superseded", fmt.Sprintf("%s offered %s again (its connection broke); resuming from byte %d in the new session.", r.Peer, r.Name, r.Offset+r.Transferred),
							map[string]any{"peer": r.Peer, "sid": r.SID, "name": r.Name, "received": r.Offset + r.Transferred})
						n--
						continue
					}
					lastErr = g.transferDone(r, nil)
				case <-deadline:
					return exitf(ExitNoAnswer, "no file within %v", timeout)
				case <-ep.lost():
					return ep.lostError(&acct)
				case <-ctx.Done():
					return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("interrupted")}
				}
			}
			return lastErr
		},
	}
	acct.register(cmd)
	registerReconnect(cmd, &acct)
	registerPartialMaxAge(cmd, &partAge)
	ice.register(cmd)
	f := cmd.Flags()
	f.StringVar(&dir, "dir", ".", "directory to save files in")
	f.StringArrayVar(&from, "from", nil, "accept files only from this JID (repeatable; default: anyone)")
	f.Int64Var(&maxSize, "max-size", 4<<30, "largest file accepted, in bytes")
	f.IntVar(&count, "count", 0, "receive this many files, then exit (0: until Ctrl-C)")
	f.DurationVar(&timeout, "timeout", 0, "give up when no file came within this time")
	return cmd
}
