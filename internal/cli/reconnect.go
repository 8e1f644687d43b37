package cli

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/jingled/jingled/xmpp"
)

// defaultReconnectFor is how long a lost connection is retried: long
// enough for a server restart or upgrade, short enough that a listener
// whose server is gone for good says so the same hour. Commands without
// --reconnect-for use it too; they end with their call or transfer.
const defaultReconnectFor = 5 * time.Minute

// registerReconnect adds --reconnect-for to a long-running mode (answer,
// receive) and has its reconnection reported as events. Such a mode must
// end when it can no longer work (it watches endpoint.lost): a listener
// that lives on without a connection looks alive and hears nothing.
func registerReconnect(cmd *cobra.Command, acct *accountFlags) {
	acct.reportReconnect = true
	cmd.Flags().DurationVar(&acct.reconnectFor, "reconnect-for", defaultReconnectFor,
		"when the XMPP connection is lost, keep reconnecting (exponential backoff with jitter, at most a minute apart) this long, then exit 4; 0: never give up")
}

// reconnectEvents reports the reconnection of a long-running mode or a
// call: each loss, each failed attempt with the wait before the next,
// and the return, saying whether the XEP-0198 session was resumed. Events before the first loss (the login's own attempts) are
// left to the login's error, so "ready" stays the first event.
func reconnectEvents(out *output, server string, bound time.Duration) func(xmpp.Event) {
	var lost atomic.Bool
	return func(e xmpp.Event) {
		switch e.Kind {
		case xmpp.EventDisconnected:
			lost.Store(true)
			how := fmt.Sprintf("for up to %v", bound)
			if bound == 0 {
				how = "until it is back"
			}
			out.Event("disconnected", fmt.Sprintf("Lost the connection to %s (%v); reconnecting %s…", server, e.Err, how),
				map[string]any{"server": server, "error": errText(e.Err), "reconnect_for": bound.String()})
		case xmpp.EventRetry:
			if lost.Load() {
				out.Event("reconnecting", fmt.Sprintf("Reconnection attempt %d failed (%v); next in %v.", e.Attempt, e.Err, e.Delay.Round(time.Millisecond)),
					map[string]any{"attempt": e.Attempt, "error": errText(e.Err), "next_in_ms": e.Delay.Milliseconds()})
			}
		case xmpp.EventConnected:
			if lost.Load() {
				// resumed: the XEP-0198 session went on, nothing
				// lost; else a new session, and resume_refused says
				// why the server would not resume (empty when it
				// offers no resumption).
				how := "resumed the session"
				if !e.Resumed {
					how = "new session"
					if e.Err != nil {
						how += ", the server refused to resume: " + e.Err.Error()
					}
				}
				out.Event("reconnected", fmt.Sprintf("Reconnected as %s (attempt %d, %s).", e.JID, e.Attempt, how),
					map[string]any{"jid": e.JID, "attempt": e.Attempt, "resumed": e.Resumed, "resume_refused": errText(e.Err)})
			}
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// lost is closed when the account's client has stopped for good (see
// lostError); until then it reconnects by itself.
func (e *endpoint) lost() <-chan struct{} { return e.client.Done() }

// lostError is the exit error of a long-running mode whose connection
// is gone for good (see lostConnection).
func (e *endpoint) lostError(acct *accountFlags) error {
	where := acct.server
	if where == "" {
		where = "the server of " + e.client.Bare()
	}
	return lostConnection(where, e.client.Bare(), e.client.Err())
}

// lostConnection maps why the client stopped (xmpp.Client.Err) to an
// exit: 4 with when the connection was lost, how long reconnection went
// on and the last attempt's error; 3 when the server now refuses the
// credentials.
func lostConnection(where, jid string, err error) error {
	var gu *xmpp.GaveUpError
	switch {
	case errors.As(err, &gu):
		return exitf(ExitConnect, "lost the connection to %s at %s and could not reconnect for %v: %v; is the server up? (--reconnect-for to wait longer)",
			where, gu.Lost.Local().Format(time.RFC3339), gu.For, gu.Err)
	case errors.Is(err, xmpp.ErrAuth):
		return exitf(ExitAuth, "lost the connection to %s and the server now refuses the credentials of %s", where, jid)
	case err == nil:
		return exitf(ExitConnect, "the connection to %s ended", where)
	}
	return exitf(ExitConnect, "lost the connection to %s and stopped reconnecting: %v", where, err)
}

// onReconnect is the client's event hook for acct: reconnectEvents where
// the mode reports reconnection, else nil.
func (g *globals) onReconnect(acct *accountFlags) func(xmpp.Event) {
	if !acct.reportReconnect {
		return nil
	}
	server := acct.server
	if server == "" {
		server = "the XMPP server"
	}
	return reconnectEvents(g.out, server, acct.reconnectFor)
}
