package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/xmpp"
)

func TestLostConnection(t *testing.T) {
	lost := time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC)
	refused := errors.New("dial tcp 127.0.0.1:5222: connect: connection refused")
	for _, tc := range []struct {
		name string
		err  error
		code int
		want []string
	}{
		{"bound passed", &xmpp.GaveUpError{Lost: lost, For: 5 * time.Second, Attempts: 4, Err: refused}, ExitConnect,
			[]string{"lost the connection to 127.0.0.1:5222 at " + lost.Local().Format(time.RFC3339), "could not reconnect for 5s", "connection refused", "is the server up?", "--reconnect-for"}},
		{"credentials refused on reconnect", fmt.Errorf("sasl: %w", xmpp.ErrAuth), ExitAuth, []string{"refuses the credentials of bob@localhost"}},
		{"resource taken over", errors.New("stream error: conflict"), ExitConnect, []string{"stopped reconnecting: stream error: conflict"}},
		{"no reason", nil, ExitConnect, []string{"connection to 127.0.0.1:5222 ended"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := lostConnection("127.0.0.1:5222", "bob@localhost", tc.err)
			if CodeOf(err) != tc.code {
				t.Errorf("exit %d, want %d (%v)", CodeOf(err), tc.code, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}

// TestReconnectEvents: the login's own attempts print nothing (ready
// stays the first event); after a loss every attempt and the return are
// reported.
func TestReconnectEvents(t *testing.T) {
	var buf bytes.Buffer
	on := reconnectEvents(&output{w: &buf, json: true}, "127.0.0.1:5222", 5*time.Second)
	refused := errors.New("connection refused")
	on(xmpp.Event{Kind: xmpp.EventRetry, Attempt: 1, Err: refused, Delay: time.Second}) // during login
	on(xmpp.Event{Kind: xmpp.EventConnected, JID: "bob@localhost/rx", Attempt: 2})      // login
	on(xmpp.Event{Kind: xmpp.EventDisconnected, Err: errors.New("EOF")})
	on(xmpp.Event{Kind: xmpp.EventConnectFailed, Attempt: 1, Err: refused})
	on(xmpp.Event{Kind: xmpp.EventRetry, Attempt: 1, Err: refused, Delay: 500 * time.Millisecond})
	on(xmpp.Event{Kind: xmpp.EventConnected, JID: "bob@localhost/rx", Attempt: 2, Err: xmpp.ErrResumeRefused})
	on(xmpp.Event{Kind: xmpp.EventDisconnected, Err: errors.New("EOF")})
	on(xmpp.Event{Kind: xmpp.EventConnected, JID: "bob@localhost/rx", Attempt: 1, Resumed: true})
	var got []string
	var back []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprint(m["event"]))
		if m["event"] == "reconnected" {
			back = append(back, m)
		}
	}
	if want := []string{"disconnected", "reconnecting", "reconnected", "disconnected", "reconnected"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("events %v, want %v", got, want)
	}
	if back[0]["resumed"] != false || back[0]["resume_refused"] != xmpp.ErrResumeRefused.Error() || back[1]["resumed"] != true || back[1]["resume_refused"] != "" {
		t.Fatalf("reconnected events %v: want a new session after a refusal, then a resumption", back)
	}
}
