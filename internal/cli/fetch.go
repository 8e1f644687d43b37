package cli

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/jingled/jingled/filetransfer"
)

func newFetch(g *globals) *cobra.Command {
	var (
		acct    accountFlags
		ice     iceFlags
		dir     string
		pf      peerFlags
		partAge time.Duration
	)
	cmd := &cobra.Command{
		Use:   "fetch JID NAME",
		Short: "Request a file by name from a peer (XEP-0234 pull) and save it to a directory",
		Long: `Asks JID for the file NAME (XEP-0234 §6.2 request, as jingled's file drop
serves from its serve_dir) and saves it in --out, the way receive saves
what is pushed: the name is sanitized (no path separators, no "..", no
control characters, collisions renamed), the data goes to a partial file
that appears under its name only after its size and the sha-256 the peer
announced verified, and a mismatch deletes it (exit 7).

A fetch that was cut (Ctrl-C, a lost connection, a killed process) leaves
its partial file; fetching the same NAME from the same account again
asks only for the rest (the summary's "offset" says from where) and
checks the whole file. Partial files not written for --partial-max-age
are removed at start, as receive does. The transport is chosen as for
send (datachannel, SOCKS5, IBB, with fallback); --transport forces one.
A bare JID is resolved through presence, as send does.`,
		Example: `  JINGLE_PASSWORD=... jingle fetch --jid alice@example.org drop@example.org report.pdf --out ~/Downloads
  jingle fetch --jid alice@example.org drop@example.org/jingled movie.mkv --transport s5b --json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			peer, name := args[0], args[1]
			transport, err := pf.only()
			if err != nil {
				return err
			}
			if strings.TrimSpace(name) == "" {
				return exitf(ExitUsage, "NAME is empty: say which file to fetch")
			}
			d, reportCleaned, err := openReceiveDir("--out", dir, partAge)
			if err != nil {
				return err
			}
			defer d.Close()
			ep, servers, err := g.loginICE(ctx, &acct, &ice)
			if err != nil {
				return err
			}
			defer ep.close()
			ft, err := g.serveFiles(ctx, ep, &ice, servers, filetransfer.WithReceiveDir(d))
			if err != nil {
				return err
			}
			defer ft.Close()
			full, err := findResource(ctx, ep.client, peer, filetransfer.NS, pf.presence)
			if err != nil {
				return err
			}
			g.out.Event("request", fmt.Sprintf("Requesting %s from %s…", name, full), map[string]any{"peer": full, "name": name, "dir": dir})
			reportCleaned(g.out)
			// The size is known once the peer accepted: the bar starts
			// with the first bytes.
			var (
				once sync.Once
				b    *bar
			)
			res, err := ft.App.Request(ctx, ep.mgr, full, filetransfer.File{Name: name, Size: -1}, filetransfer.RequestOptions{
				Transport: transport,
				Progress: func(done, total int64) {
					once.Do(func() { b = g.progress(total, "fetching "+name) })
					b.set(done)
				},
			})
			if b != nil {
				b.finish()
			}
			derr := g.transferDone(res, err)
			if errors.Is(err, filetransfer.ErrDeclined) && res != nil && res.Reason != nil {
				// The peer's own words: no such file, or not for us.
				return exitf(ExitDeclined, "%s refused the request for %q: Jingle reason <%s/>, %q", full, name, res.Reason.Condition, res.Reason.Text)
			}
			return derr
		},
	}
	acct.register(cmd)
	ice.register(cmd)
	f := cmd.Flags()
	f.StringVar(&dir, "out", ".", "directory to save the file in")
	pf.register(cmd)
	registerPartialMaxAge(cmd, &partAge)
	return cmd
}
