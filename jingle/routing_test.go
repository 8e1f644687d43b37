package jingle_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

// rawIQ sends a raw Jingle payload as an IQ set from e.
func rawIQ(ctx context.Context, e *jingletest.Endpoint, to, payload string) error {
	_, err := e.SendIQ(ctx, &jingle.IQ{To: to, Type: jingle.IQSet, Payload: []byte(payload)})
	return err
}

func jingleXML(action, sid, inner string) string {
	return fmt.Sprintf(`<jingle xmlns="urn:xmpp:jingle:1" action="%s" sid="%s">%s</jingle>`, action, sid, inner)
}

const testContent = `<content creator="initiator" name="a"><description xmlns="urn:jingled:test:0"/><transport xmlns="urn:jingled:test:transport:0"/></content>`

// activePair sets up romeo -> juliet with an accepted session.
func activePair(t *testing.T, w *world) (ours, theirs *jingle.Session, h *jingletest.Handler, app *jingletest.TestApp) {
	t.Helper()
	ctx := ctxT(t)
	w.manager(romeo, nil)
	app = jingletest.NewTestApp(true)
	w.manager(juliet, app)
	h = jingletest.NewHandler()
	s, err := w.ms[romeo].Initiate(ctx, juliet, "", jingletest.Contents("a"), nil, h)
	if err != nil {
		t.Fatal(err)
	}
	js := incoming(t, ctx, app)
	if a := <-h.Seen(); a != jingle.ActionSessionAccept {
		t.Fatalf("initiator saw %s", a)
	}
	return s, js, h, app
}

// TestSecurityThirdParty: only the session's peer full JID may act on a
// sid; anybody else gets item-not-found + unknown-session and the session
// is untouched (issue 2, item 4).
func TestSecurityThirdParty(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	s, js, h, app := activePair(t, w)
	sid := s.SID()
	intruders := []string{tybalt, "romeo@montague.example/other-device", "juliet@capulet.example/other"}
	for _, from := range intruders {
		e := w.r.Endpoint(from)
		for _, target := range []string{juliet, romeo} {
			for _, payload := range []string{
				jingleXML("transport-info", sid, `<content creator="initiator" name="a"><transport xmlns="urn:jingled:test:transport:0" token="evil"/></content>`),
				jingleXML("session-terminate", sid, `<reason><success/></reason>`),
				jingleXML("session-accept", sid, testContent),
				jingleXML("content-remove", sid, `<content creator="initiator" name="a"/>`),
			} {
				err := rawIQ(ctx, e, target, payload)
				if !errors.Is(err, jingle.ErrUnknownSession) {
					t.Errorf("%s -> %s: %v, want unknown-session", from, target, err)
				}
				var je *jingle.Error
				if !errors.As(err, &je) || je.Condition != jingle.CondItemNotFound || je.Jingle != jingle.JingleUnknownSession {
					t.Errorf("%s -> %s: error %#v", from, target, je)
				}
			}
		}
	}
	for _, x := range []*jingle.Session{s, js} {
		if x.State() != jingle.StateActive {
			t.Fatalf("session %s state %v after intrusion", x.Local(), x.State())
		}
		if c := x.Contents(); len(c) != 1 || c[0].Transport.Attribute("token") == "evil" {
			t.Fatalf("contents changed: %+v", c)
		}
	}
	if got := app.Handler(sid).Actions(); len(got) != 0 {
		t.Fatalf("responder handler saw %v", got)
	}
	// The real peer still gets through.
	if err := s.Info(ctx, jingletest.Description("still here")); err != nil {
		t.Fatal(err)
	}
	if got := app.Handler(sid).Actions(); len(got) != 1 || got[0] != jingle.ActionSessionInfo {
		t.Fatalf("responder handler saw %v", got)
	}
	if len(h.Actions()) != 1 {
		t.Fatalf("initiator handler saw %v", h.Actions())
	}
}

func TestUnknownSession(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	w.manager(juliet, jingletest.NewTestApp(false))
	err := rawIQ(ctx, w.r.Endpoint(tybalt), juliet, jingleXML("transport-info", "nope", `<content creator="initiator" name="a"><transport xmlns="x"/></content>`))
	if !errors.Is(err, jingle.ErrUnknownSession) {
		t.Fatalf("%v", err)
	}
}

// TestMalformed: malformed Jingle gets bad-request, never a panic, never
// a dropped IQ.
func TestMalformed(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	m := w.manager(juliet, jingletest.NewTestApp(false))
	e := w.r.Endpoint(tybalt)
	cases := map[string]string{
		"unknown action":                   jingleXML("session-dance", "s1", testContent),
		"no sid":                           `<jingle xmlns="urn:xmpp:jingle:1" action="session-initiate">` + testContent + `</jingle>`,
		"initiate without content":         jingleXML("session-initiate", "s1", ""),
		"duplicate content":                jingleXML("session-initiate", "s1", testContent+testContent),
		"content without name":             jingleXML("session-initiate", "s1", `<content creator="initiator"><description xmlns="urn:jingled:test:0"/></content>`),
		"bad creator":                      jingleXML("session-initiate", "s1", `<content creator="nobody" name="a"><description xmlns="urn:jingled:test:0"/></content>`),
		"bad senders":                      jingleXML("session-initiate", "s1", `<content creator="initiator" name="a" senders="all"><description xmlns="urn:jingled:test:0"/></content>`),
		"bad reason":                       jingleXML("session-terminate", "s1", `<reason><whatever/></reason>`),
		"transport-info without transport": jingleXML("transport-info", "s1", `<content creator="initiator" name="a"/>`),
	}
	for name, payload := range cases {
		err := rawIQ(ctx, e, juliet, payload)
		if !errors.Is(err, jingle.ErrBadRequest) {
			t.Errorf("%s: %v, want bad-request", name, err)
		}
	}
	// Not well-formed at all never reaches the router's XML, so call
	// the manager directly, as an adapter would with a raw payload.
	for _, payload := range []string{`<jingle xmlns="urn:xmpp:jingle:1" action="session-initiate" sid="x"><content`, `<other xmlns="urn:x"/>`, ``} {
		reply := m.HandleIQ(ctx, &jingle.IQ{ID: "1", From: tybalt, To: juliet, Type: jingle.IQSet, Payload: []byte(payload)})
		if reply == nil || reply.Type != jingle.IQError || !errors.Is(reply.Error, jingle.ErrBadRequest) || reply.ID != "1" || reply.To != tybalt {
			t.Errorf("%q: reply %+v", payload, reply)
		}
	}
	if r := m.HandleIQ(ctx, &jingle.IQ{ID: "2", From: tybalt, Type: jingle.IQGet, Payload: []byte(jingleXML("session-info", "s", ""))}); r.Type != jingle.IQError {
		t.Errorf("get: %+v", r)
	}
	if r := m.HandleIQ(ctx, nil); r == nil || r.Type != jingle.IQError {
		t.Errorf("nil iq: %+v", r)
	}
	if n := len(m.Sessions()); n != 0 {
		t.Fatalf("%d sessions after malformed input", n)
	}
	if st := m.Stats(); st.BadRequest != uint64(len(cases)+3) {
		t.Fatalf("stats %+v", st)
	}
}

func TestOutOfOrder(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	app := jingletest.NewTestApp(false)
	w.manager(juliet, app)
	e := w.r.Endpoint(tybalt)
	e.HandleIQ(jingle.NS, "jingle", func(_ context.Context, iq *jingle.IQ) *jingle.IQ { return iq.Result() })
	if err := rawIQ(ctx, e, juliet, jingleXML("session-initiate", "s1", testContent)); err != nil {
		t.Fatal(err)
	}
	js := incoming(t, ctx, app)
	for name, payload := range map[string]string{
		"second session-initiate":          jingleXML("session-initiate", "s1", testContent),
		"session-accept from initiator":    jingleXML("session-accept", "s1", testContent),
		"content-accept without add":       jingleXML("content-accept", "s1", testContent),
		"transport-accept without replace": jingleXML("transport-accept", "s1", testContent),
	} {
		if err := rawIQ(ctx, e, juliet, payload); !errors.Is(err, jingle.ErrOutOfOrder) {
			t.Errorf("%s: %v, want out-of-order", name, err)
		}
	}
	if js.State() != jingle.StatePending {
		t.Fatalf("state %v", js.State())
	}
	// Our own invalid action fails locally and sends nothing.
	if err := js.Send(ctx, &jingle.Jingle{Action: jingle.ActionSessionInitiate, Contents: jingletest.Contents("a")}); !errors.Is(err, jingle.ErrOutOfOrder) {
		t.Fatalf("local out of order: %v", err)
	}
}

// TestUnsupported: a session-initiate whose application or transport is
// not registered is acknowledged, then terminated with the reason.
func TestUnsupported(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	mr := w.manager(romeo, nil)
	mj := w.manager(juliet, jingletest.NewTestApp(true))
	unknownApp := jingletest.Contents("a")
	unknownApp[0].Description = &jingle.Element{}
	*unknownApp[0].Description = jingle.MustElement(struct {
		XMLName struct{} `xml:"urn:example:nothing description"`
	}{})
	unknownTransport := jingletest.Contents("a")
	tr := jingletest.Transport("t")
	tr.XMLName.Space = "urn:example:carrier-pigeon"
	unknownTransport[0].Transport = &tr
	for want, contents := range map[jingle.ReasonCondition][]jingle.Content{
		jingle.ReasonUnsupportedApplications: unknownApp,
		jingle.ReasonUnsupportedTransports:   unknownTransport,
	} {
		h := jingletest.NewHandler()
		s, err := mr.Initiate(ctx, juliet, "", contents, nil, h)
		if err != nil {
			t.Fatalf("%s: initiate: %v", want, err)
		}
		waitDone(t, ctx, h.Done(), string(want))
		if r := h.Reason(); r == nil || r.Condition != want {
			t.Fatalf("reason %v, want %s", r, want)
		}
		waitDone(t, ctx, s.Done(), "loop end")
	}
	if n := len(mj.Sessions()); n != 0 {
		t.Fatalf("responder kept %d sessions", n)
	}
}

type panicApp struct{ *jingletest.TestApp }

func (*panicApp) HandleInitiate(context.Context, *jingle.Session, *jingle.Jingle) (jingle.SessionHandler, error) {
	panic("application bug")
}

// TestPanicInApplication: a panicking application costs its session,
// not the process, and the IQ still gets an answer.
func TestPanicInApplication(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	mj := w.manager(juliet, nil, jingle.WithApplication(&panicApp{jingletest.NewTestApp(false)}))
	err := rawIQ(ctx, w.r.Endpoint(tybalt), juliet, jingleXML("session-initiate", "s1", testContent))
	var je *jingle.Error
	if !errors.As(err, &je) || je.Condition != jingle.CondInternalServerError {
		t.Fatalf("%v", err)
	}
	if n := len(mj.Sessions()); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
}

func TestRefusedInitiate(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	app := jingletest.NewTestApp(false)
	app.Refuse = jingle.BadRequest("no thanks")
	mr := w.manager(romeo, nil)
	mj := w.manager(juliet, app)
	h := jingletest.NewHandler()
	_, err := mr.Initiate(ctx, juliet, "", jingletest.Contents("a"), nil, h)
	if !errors.Is(err, jingle.ErrBadRequest) || !strings.Contains(err.Error(), "no thanks") {
		t.Fatalf("%v", err)
	}
	waitDone(t, ctx, h.Done(), "terminated")
	if len(mr.Sessions())+len(mj.Sessions()) != 0 {
		t.Fatal("sessions left")
	}
	app.Refuse = &jingle.TerminateError{Reason: jingle.NewReason(jingle.ReasonBusy, "")}
	h = jingletest.NewHandler()
	if _, err := mr.Initiate(ctx, juliet, "", jingletest.Contents("a"), nil, h); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx, h.Done(), "terminated")
	if h.Reason().Condition != jingle.ReasonBusy {
		t.Fatalf("reason %v", h.Reason())
	}
}

// TestErrorWire: the errors go out as XEP-0166 §10 writes them.
func TestErrorWire(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	m := w.manager(juliet, jingletest.NewTestApp(false), jingle.WithPendingLimits(1, 1))
	ask := func(payload string) string {
		reply := m.HandleIQ(ctx, &jingle.IQ{ID: "x1", From: tybalt, To: juliet, Type: jingle.IQSet, Payload: []byte(payload)})
		b, err := xml.Marshal(reply)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for name, c := range map[string]struct{ payload, want string }{
		"unknown-session": {jingleXML("transport-info", "nope", `<content creator="initiator" name="a"><transport xmlns="urn:x"/></content>`),
			`<error type="cancel"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"></item-not-found>`},
		"bad-request": {jingleXML("dance", "s", ""), `<error type="modify"><bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"></bad-request>`},
	} {
		got := ask(c.payload)
		if !strings.Contains(got, c.want) || !strings.Contains(got, `type="error"`) || !strings.Contains(got, `id="x1"`) {
			t.Errorf("%s: %s", name, got)
		}
		if name == "unknown-session" && !strings.Contains(got, `<unknown-session xmlns="urn:xmpp:jingle:errors:1"></unknown-session>`) {
			t.Errorf("%s lacks the Jingle condition: %s", name, got)
		}
	}
	if got := ask(jingleXML("session-initiate", "one", testContent)); !strings.Contains(got, `type="result"`) {
		t.Fatalf("first initiate: %s", got)
	}
	if got := ask(jingleXML("session-initiate", "two", testContent)); !strings.Contains(got, `<error type="wait"><resource-constraint xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">`) {
		t.Fatalf("beyond the limit: %s", got)
	}
	if got := ask(jingleXML("session-accept", "one", testContent)); !strings.Contains(got, `<out-of-order xmlns="urn:xmpp:jingle:errors:1">`) {
		t.Fatalf("out of order: %s", got)
	}
}
