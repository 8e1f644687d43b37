package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/xmpp"
)

// transferSummary is the final JSON object of send and receive.
type transferSummary struct {
	Event       string    `json:"event"`
	Peer        string    `json:"peer"`
	SID         string    `json:"sid"`
	Name        string    `json:"name"`
	Path        string    `json:"path,omitempty"`
	Size        int64     `json:"size"`
	Offset      int64     `json:"offset,omitempty"`
	Transferred int64     `json:"transferred"`
	SHA256      string    `json:"sha256,omitempty"`
	HashAlgo    string    `json:"hash_algo,omitempty"`
	Hash        string    `json:"hash,omitempty"`
	Transport   string    `json:"transport"`
	Tried       []string  `json:"tried,omitempty"`
	Pair        *ice.Pair `json:"candidate_pair,omitempty"`
	Seconds     float64   `json:"seconds"`
	Rate        float64   `json:"bytes_per_second"`
	Reason      string    `json:"reason"`
	Error       string    `json:"error,omitempty"`
}

var transportFamilies = map[string]bool{"auto": true, "datachannel": true, "s5b": true, "ibb": true}

func newSend(g *globals) *cobra.Command {
	var (
		acct accountFlags
		ice  iceFlags
		pf   peerFlags
		name string
		desc string
	)
	cmd := &cobra.Command{
		Use:   "send JID FILE",
		Short: "Send a file (XEP-0234) over a datachannel, SOCKS5 or IBB",
		Long: `Offers FILE to JID and waits until the receiver verified its sha-256.
The transport is chosen by what the peer supports (datachannel, then SOCKS5
direct or through the server's proxy, then in-band), falling back with
transport-replace when one fails; --transport forces one. A bare JID is
resolved through presence: the command asks for a presence subscription if
it has none and picks the resource that accepts files.`,
		Example: `  JINGLE_PASSWORD=... jingle send --jid alice@example.org drop@example.org report.pdf
  jingle send --jid alice@example.org bob@example.org/laptop movie.mkv --transport s5b --json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			peer, path := args[0], args[1]
			transport, err := pf.only()
			if err != nil {
				return err
			}
			fi, err := os.Stat(path)
			if err != nil {
				return exitf(ExitUsage, "%v", err)
			}
			if !fi.Mode().IsRegular() {
				return exitf(ExitUsage, "%s is not a regular file", path)
			}
			ep, servers, err := g.loginICE(ctx, &acct, &ice)
			if err != nil {
				return err
			}
			defer ep.close()
			ft, err := g.serveFiles(ctx, ep, &ice, servers)
			if err != nil {
				return err
			}
			defer ft.Close()
			full, err := findResource(ctx, ep.client, peer, filetransfer.NS, pf.presence)
			if err != nil {
				return err
			}
			bar := g.progress(fi.Size(), "sending "+fi.Name())
			g.out.Event("offer", fmt.Sprintf("Offering %s (%d bytes) to %s…", fi.Name(), fi.Size(), full), map[string]any{"peer": full, "name": fi.Name(), "size": fi.Size()})
			send := func() (*filetransfer.Result, error) {
				return ft.App.Send(ctx, ep.mgr, full, path, filetransfer.SendOptions{
					Transport: transport, Name: name, Desc: desc,
					Progress: func(done, _ int64) { bar.set(done) },
				})
			}
			res, err := send()
			var lost time.Time // when the connection last broke under the transfer
			for resumes := 0; resumes < maxResumes; {
				switch {
				case errors.Is(err, xmpp.ErrDisconnected) || errors.Is(err, xmpp.ErrNotConnected):
					// The connection broke under the transfer (a server
					// restart, a network blink; a stanza sent between
					// the loss and the reconnection gets ErrNotConnected):
					// once the client is back, the same offer again; the
					// receiver answers with the range its partial file
					// lacks (XEP-0234 §8).
					resumes++
					lost = time.Now()
					if werr := waitReconnected(ctx, ep, &acct); werr != nil {
						bar.finish()
						return werr
					}
					var sent int64
					if res != nil {
						sent = res.Offset + res.Transferred
					}
					g.out.Event("resuming", fmt.Sprintf("The connection to the server broke after %d bytes (%v); reconnected, offering %s again to resume.", sent, err, fi.Name()),
						map[string]any{"peer": full, "name": fi.Name(), "sent": sent, "error": err.Error()})
				case !lost.IsZero() && peerUnavailable(err) && time.Since(lost) < acct.reconnectFor:
					// The same outage took the receiver's connection
					// too, and it is not back yet: it reconnects by
					// itself, as long as we would.
					g.out.Event("waiting", fmt.Sprintf("%s is not back yet (%v); offering %s again in a second.", full, err, fi.Name()),
						map[string]any{"peer": full, "name": fi.Name(), "error": err.Error()})
					sleepCtx(ctx, time.Second)
				default:
					bar.finish()
					return g.transferDone(res, err)
				}
				res, err = send()
			}
			bar.finish()
			return g.transferDone(res, err)
		},
	}
	acct.register(cmd)
	ice.register(cmd)
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "file name to offer (default: FILE's base name)")
	f.StringVar(&desc, "desc", "", "description sent with the file")
	pf.register(cmd)
	return cmd
}

// maxResumes bounds how often send offers a file again after the
// connection broke under it: each time after a reconnection that
// --reconnect-for bounds, so only a connection that keeps breaking
// reaches it.
const maxResumes = 10

// peerUnavailable tells the errors of a peer that is offline: the
// server answers for it (RFC 6120 §8.5.3.2.1, §10.5.3.2).
func peerUnavailable(err error) bool {
	var je *jingle.Error
	return errors.As(err, &je) && (je.Condition == jingle.CondServiceUnavailable || je.Condition == jingle.CondRecipientUnavailable)
}

// waitReconnected waits until ep's client has a stream again after a
// loss. The client reconnects by itself (xmpp.Config.ReconnectFor); when
// it gives up, the error says so (exit 4), as a listener's does.
func waitReconnected(ctx context.Context, ep *endpoint, acct *accountFlags) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !ep.client.Connected() {
		select {
		case <-ep.lost():
			return ep.lostError(acct)
		case <-ctx.Done():
			return &ExitError{Code: ExitInterrupted, Err: errors.New("interrupted while reconnecting")}
		case <-t.C:
		}
	}
	return nil
}

// findResource returns peer if it is a full JID, else the resource of the
// bare JID that announces feature, subscribing to its presence first when
// none is known.
func findResource(ctx context.Context, c *xmpp.Client, peer, feature string, wait time.Duration) (string, error) {
	if strings.Contains(peer, "/") {
		return peer, nil
	}
	if !strings.Contains(peer, "@") {
		return "", exitf(ExitUsage, "peer %q is not a JID", peer)
	}
	deadline := time.Now().Add(wait)
	// Presence of contacts arrives right after login; give it a moment
	// before asking for a subscription (as call does).
	waitPresence(ctx, c, peer, min(wait, time.Second))
	if len(c.Resources(peer)) == 0 {
		if err := c.Subscribe(ctx, peer); err != nil {
			return "", exitf(ExitFailure, "asking %s for its presence: %v", peer, err)
		}
		for len(c.Resources(peer)) == 0 && time.Now().Before(deadline) && ctx.Err() == nil {
			sleepCtx(ctx, 100*time.Millisecond)
		}
	}
	if len(c.Resources(peer)) == 0 {
		return "", exitf(ExitNoAnswer, "%s is not online, or did not share its presence with us (give a full JID, user@domain/resource)", peer)
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	full, err := c.FindResource(fctx, peer, feature)
	if err != nil {
		if errors.Is(err, xmpp.ErrNoResource) {
			return "", exitf(ExitNoAnswer, "no online resource of %s accepts files: %v", peer, err)
		}
		return "", exitf(ExitFailure, "looking up %s: %v", peer, err)
	}
	return full, nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// transferDone prints the final line of a transfer and maps its outcome
// to an exit code.
func (g *globals) transferDone(res *filetransfer.Result, err error) error {
	if res == nil {
		if err == nil {
			err = errors.New("no result")
		}
		return transferError("", err)
	}
	sum := transferSummary{
		Event: "summary", Peer: res.Peer, SID: res.SID, Name: res.Name, Path: res.Path, Size: res.Size,
		Offset: res.Offset, Transferred: res.Transferred, Transport: filetransfer.Family(res.Transport),
		Tried: families(res.Tried), Reason: res.Reason.String(),
	}
	if res.Pair != (ice.Pair{}) {
		p := res.Pair
		sum.Pair = &p
	}
	if res.Hash.Algo != "" {
		sum.HashAlgo = res.Hash.Algo
		sum.Hash = hex.EncodeToString(res.Hash.Value)
		if res.Hash.Algo == "sha-256" {
			sum.SHA256 = sum.Hash
		}
	}
	if !res.Ended.IsZero() && !res.Started.IsZero() {
		sum.Seconds = res.Ended.Sub(res.Started).Seconds()
		if sum.Seconds > 0 {
			sum.Rate = float64(res.Transferred) / sum.Seconds
		}
	}
	if err == nil {
		err = res.Err
	}
	if err != nil {
		sum.Error = err.Error()
	}
	verb := "Received"
	if res.Path == "" {
		verb = "Sent"
	}
	human := fmt.Sprintf("%s %s: %d bytes in %.2f s (%.1f MB/s) over %s, %s %s", verb, res.Name, res.Size, sum.Seconds, sum.Rate/1e6, sum.Transport, sum.HashAlgo, sum.Hash)
	if len(sum.Tried) > 0 {
		human += " (after " + strings.Join(sum.Tried, ", ") + " failed)"
	}
	if sum.Pair != nil {
		human += fmt.Sprintf("\n  path: %s %s -> %s %s (%s)", sum.Pair.LocalType, sum.Pair.Local, sum.Pair.RemoteType, sum.Pair.Remote, sum.Pair.Protocol)
	}
	if res.Path != "" {
		human += "\n  saved as " + res.Path
	}
	if err != nil {
		human = fmt.Sprintf("Transfer of %s failed: %v", res.Name, err)
	}
	if perr := g.out.Result(human, sum); perr != nil {
		return perr
	}
	if err != nil {
		return transferError(res.Peer, err)
	}
	return nil
}

func families(nss []string) []string {
	out := make([]string, 0, len(nss))
	for _, ns := range nss {
		out = append(out, filetransfer.Family(ns))
	}
	return out
}

// transferError maps a failed transfer to an exit code.
func transferError(peer string, err error) error {
	var te *jingle.Error
	switch {
	case errors.As(err, &te):
		return dialError(peer, err)
	case errors.Is(err, filetransfer.ErrDeclined):
		return exitf(ExitDeclined, "%s declined the file: %v", peer, err)
	case errors.Is(err, filetransfer.ErrHashMismatch), errors.Is(err, filetransfer.ErrSizeExceeded):
		return exitf(ExitMedia, "%v", err)
	case errors.Is(err, context.Canceled):
		return &ExitError{Code: ExitInterrupted, Err: err}
	}
	return exitf(ExitMedia, "%v", err)
}

// bar is a progress bar on stderr for people; silent with --json or when
// stderr is not a terminal-like sink we want to draw on.
type bar struct {
	mu sync.Mutex
	pb *progressbar.ProgressBar
}

func (g *globals) progress(total int64, what string) *bar {
	if g.json || os.Getenv("JINGLE_NO_PROGRESS") != "" {
		return &bar{}
	}
	w := g.errw
	if w == nil {
		w = io.Discard
	}
	return &bar{pb: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)}
}

func (b *bar) set(n int64) {
	if b.pb == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.pb.Set64(n)
}

func (b *bar) finish() {
	if b.pb == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.pb.Finish()
}
