package daemon

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/jingled/jingled/jingle"
)

// TestRefusedMetrics: what an account's manager refuses is counted by
// reason, and JMI answers to no proposal by role.
func TestRefusedMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	mgr := jingle.NewManager("echo@example.org/jingled", nil)
	defer mgr.Close(context.Background())
	m.addManager(mgr, "echo")
	h := m.refused.countIQ("echo", mgr.HandleIQ)
	const mallory = "mallory@evil.example/x"
	iq := func(payload string) *jingle.IQ {
		return &jingle.IQ{ID: "1", From: mallory, To: "echo@example.org/jingled", Type: jingle.IQSet, Payload: []byte(payload)}
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name, payload, reason string
	}{
		{"no sid", `<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate'/>`, "bad-request"},
		{"bad action", `<jingle xmlns='urn:xmpp:jingle:1' action='session-dance' sid='s'/>`, "bad-request"},
		{"someone else's sid", `<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='live'><reason><success/></reason></jingle>`, "unknown-session"},
		{"out of order, unknown sid", `<jingle xmlns='urn:xmpp:jingle:1' action='session-accept' sid='nope'><content creator='initiator' name='a'><description xmlns='urn:x'/></content></jingle>`, "unknown-session"},
	} {
		before := testutil.ToFloat64(m.refused.iqs.WithLabelValues("echo", tc.reason))
		if r := h(ctx, iq(tc.payload)); r.Type != jingle.IQError {
			t.Fatalf("%s: reply %+v", tc.name, r)
		}
		if got := testutil.ToFloat64(m.refused.iqs.WithLabelValues("echo", tc.reason)) - before; got != 1 {
			t.Errorf("%s: %s grew by %v, want 1", tc.name, tc.reason, got)
		}
	}
	mgr.HandleMessage(ctx, &jingle.Message{ID: "m", From: mallory, Type: "chat", Payload: []byte(`<proceed xmlns='urn:xmpp:jingle-message:0' id='nope'/>`)})
	want := `
# HELP jingled_jmi_ignored_total JMI (XEP-0353) proceed, reject, ringing and retract messages that matched no proposal of their sender and were dropped, by account role.
# TYPE jingled_jmi_ignored_total counter
jingled_jmi_ignored_total{role="echo"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "jingled_jmi_ignored_total"); err != nil {
		t.Fatal(err)
	}
}

func TestRefusalReason(t *testing.T) {
	for _, tc := range []struct {
		err  *jingle.Error
		want string
	}{
		{jingle.ErrUnknownSession, "unknown-session"},
		{jingle.ErrBadRequest, "bad-request"},
		{&jingle.Error{Condition: jingle.CondUnexpectedRequest, Jingle: jingle.JingleOutOfOrder}, "out-of-order"},
		{&jingle.Error{Condition: jingle.CondResourceConstraint}, "resource-constraint"},
		{&jingle.Error{}, "unknown"},
		{nil, "unknown"},
	} {
		if got := refusalReason(tc.err); got != tc.want {
			t.Errorf("refusalReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
