package jingle_test

import (
	"testing"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

// TestIgnoredJMICounted: JMI answers for proposals that do not exist
// (or are not the sender's) get no reply, as XEP-0353 has none, and are
// counted in Stats.IgnoredJMI so a daemon's metrics show the peer that
// sends them; a <finish/> after a session is routine and not counted.
func TestIgnoredJMICounted(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	m := w.manager(juliet, jingletest.NewTestApp(false))
	for _, tc := range []struct {
		payload string
		counted bool
	}{
		{`<proceed xmlns='urn:xmpp:jingle-message:0' id='nope'/>`, true},
		{`<reject xmlns='urn:xmpp:jingle-message:0' id='nope'/>`, true},
		{`<ringing xmlns='urn:xmpp:jingle-message:0' id='nope'/>`, true},
		{`<retract xmlns='urn:xmpp:jingle-message:0' id='nope'/>`, true},
		{`<finish xmlns='urn:xmpp:jingle-message:0' id='nope'/>`, false},
		{`<proceed xmlns='urn:xmpp:jingle-message:0'/>`, false}, // no id: not JMI at all
		{`<body>hello</body>`, false},
	} {
		before := m.Stats().IgnoredJMI
		m.HandleMessage(ctx, &jingle.Message{ID: "m1", From: tybalt, To: juliet, Type: "chat", Payload: []byte(tc.payload)})
		got := m.Stats().IgnoredJMI - before
		if want := map[bool]uint64{true: 1, false: 0}[tc.counted]; got != want {
			t.Errorf("%s: IgnoredJMI grew by %d, want %d", tc.payload, got, want)
		}
	}
}
