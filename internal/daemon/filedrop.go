package daemon

import (
	"context"
	"fmt"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/filetransfer/stack"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/xmpp"
)

// filedropRole accepts files from allowed JIDs into Dir and serves
// ServeDir on request (XEP-0234 pull).
type filedropRole struct {
	a   *account
	ft  *stack.Stack
	dir *filetransfer.Dir
}

func newFiledropRole(a *account, peer rtp.PeerOptions, c *xmpp.Client) (roleHandler, error) {
	r := &filedropRole{a: a}
	var appOpts []filetransfer.Option
	if a.cfg.Dir != "" {
		if err := ensureDir(a.cfg.Dir); err != nil {
			return nil, fmt.Errorf("filedrop dir: %w", err)
		}
		d, err := filetransfer.OpenDir(a.cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("filedrop dir: %w", err)
		}
		r.dir = d
		// What a crash or a kill left: old partial files go, younger
		// ones wait for their senders to resume, held ones are never
		// touched.
		maxAge := a.cfg.PartialMaxAgeValue(filetransfer.DefaultPartialMaxAge)
		removed, err := d.CleanPartials(maxAge)
		if err != nil {
			a.log.Warn("filedrop: cleaning partial files", "dir", a.cfg.Dir, "err", err)
		}
		if len(removed) > 0 {
			a.log.Info("filedrop: removed stale partial files", "dir", a.cfg.Dir, "count", len(removed), "max_age", maxAge)
		}
		appOpts = append(appOpts, filetransfer.WithReceiveDir(d),
			// Who may send is decided by the guard (allow-list with
			// domains and "*"); here only the size matters.
			filetransfer.WithAutoAccept(filetransfer.AcceptPolicy{MaxSize: a.cfg.MaxFileSize}))
	}
	if a.cfg.ServeDir != "" {
		appOpts = append(appOpts, filetransfer.WithServeDir(a.cfg.ServeDir))
	}
	appOpts = append(appOpts, filetransfer.WithResults(r.result))
	ft, err := stack.New(a.ctx, c, stack.Config{
		ICEServerSource: peer.ICEServerSource, RelayOnly: peer.RelayOnly, Loopback: peer.Loopback,
		Logger: a.log, App: appOpts, Allowed: a.allowed,
	})
	if err != nil {
		return nil, err
	}
	r.ft = ft
	return r, nil
}

func (r *filedropRole) options() []jingle.Option { return r.ft.Options }

// served registers the IBB handlers once the manager is served.
func (r *filedropRole) served() { r.ft.Serve() }

func (r *filedropRole) result(res *filetransfer.Result) {
	a := r.a
	dir, outcome := "in", "success"
	if res.Sent {
		dir = "out"
	}
	if res.Err != nil {
		outcome = "failed"
		if res.Reason != nil {
			outcome = string(res.Reason.Condition)
		}
	}
	a.m.transfers.WithLabelValues(dir, outcome).Inc()
	a.m.fileBytes.WithLabelValues(dir).Add(float64(res.Transferred))
	a.log.Info("file transfer ended", "peer", res.Peer, "direction", dir, "name", res.Name, "path", res.Path,
		"bytes", res.Transferred, "transport", filetransfer.Family(res.Transport), "outcome", outcome, "err", res.Err)
}

func (r *filedropRole) close(context.Context) {
	_ = r.ft.Close()
	if r.dir != nil {
		_ = r.dir.Close()
	}
}
