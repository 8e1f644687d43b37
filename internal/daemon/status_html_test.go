package daemon

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/proctest"
)

func render(t *testing.T, in statusInput) string {
	t.Helper()
	s, _ := buildSnapshot(in)
	var b bytes.Buffer
	if err := renderStatus(&b, s); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// elements parses the rendered page.
func elements(t *testing.T, page string) []proctest.Element {
	t.Helper()
	els, err := proctest.Elements(page)
	if err != nil {
		t.Fatal(err)
	}
	return els
}

func TestStatusPageJIDs(t *testing.T) {
	people := []string{"alice@example.org/phone", "bob@example.org/laptop", "secret-plans@call.example.org", "carol@example.org/x"}
	for _, tc := range []struct {
		name string
		show bool
	}{
		{"hidden by default", false},
		{"shown when on", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := render(t, peopleInput(tc.show))
			for _, p := range people {
				if got := strings.Contains(page, p); got != tc.show {
					t.Errorf("%s on the page: %v, want %v", p, got, tc.show)
				}
			}
			if !strings.Contains(page, "echo@example.org") {
				t.Error("the service's own account is not on the page")
			}
			if hint := strings.Contains(page, "status_jids"); hint == tc.show {
				t.Errorf("the hint naming status_jids shown: %v", hint)
			}
		})
	}
}

// TestStatusPageEscapes: a peer chooses its JID's resource and a room's
// name; neither may become markup on the operator's page.
func TestStatusPageEscapes(t *testing.T) {
	hostile := `x@evil.example/"><script>alert(1)</script><img src=x onerror=alert(2)>`
	in := peopleInput(true)
	in.Sessions[0].Peer = hostile
	in.Recent[0].Peer = hostile
	in.Recent[0].Outcome = "<u>under</u>"
	in.Rooms[0].JID = "<iframe src=//evil.example>@call.example.org"
	in.Rooms[0].Participants[0].JID = hostile
	in.Accounts[0].Detail = `connect failed: <svg onload=alert(3)>`
	in.Accounts[0].State = stateOffline
	in.Health = errorString(`"><script>alert(4)</script>`)
	page := render(t, in)
	for _, e := range elements(t, page) {
		switch e.Tag {
		case "script", "img", "iframe", "svg", "u":
			t.Errorf("a peer's text became a <%s> element", e.Tag)
		}
		for k, v := range e.Attr {
			if strings.HasPrefix(k, "on") {
				t.Errorf("a peer's text became an event handler: %s=%q on <%s>", k, v, e.Tag)
			}
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;iframe src=//evil.example&gt;", "&lt;svg onload=alert(3)&gt;", "&lt;u&gt;under&lt;/u&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks the escaped text %s", want)
		}
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

// TestStatusPageSelfContained: a phone's viewport, a refresh, inline
// style only, and no asset or link that leaves this server.
func TestStatusPageSelfContained(t *testing.T) {
	page := render(t, peopleInput(false))
	els := elements(t, page)
	viewport := len(proctest.Find(els, "meta", "name=viewport", "content=width=device-width, initial-scale=1")) == 1
	refresh := len(proctest.Find(els, "meta", "http-equiv=refresh", "content=5")) == 1
	style := len(proctest.Find(els, "style")) == 1
	for _, e := range els {
		switch e.Tag {
		case "link", "script", "img", "iframe", "object", "embed", "video", "audio", "source":
			t.Errorf("page has a <%s>", e.Tag)
		}
		for _, key := range []string{"href", "src", "action", "srcset"} {
			if v, ok := e.Attr[key]; ok && (!strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//")) {
				t.Errorf("<%s %s=%q> may leave this server", e.Tag, key, v)
			}
		}
	}
	if !viewport || !refresh || !style {
		t.Errorf("viewport %v, refresh %v, inline style %v", viewport, refresh, style)
	}
}

// TestStatusPageSections: each section appears when its part exists, and
// the stable ids carry the numbers.
func TestStatusPageSections(t *testing.T) {
	in := peopleInput(false)
	in.Health = errorString("echo@example.org: disconnected, reconnecting")
	in.Relay = true
	els := elements(t, render(t, in))
	for id, want := range map[string]string{
		"health":                  "degraded",
		"version":                 "v1",
		"live-calls":              "1",
		"live-transfers":          "0",
		"relay-allocations":       "0",
		"recent-count":            "1",
		"recent-relayed":          "0",
		"conference-rooms":        "1",
		"conference-participants": "2",
		"problems":                "echo@example.org: disconnected, reconnecting",
	} {
		if got, ok := proctest.ByID(els, id); !ok || got != want {
			t.Errorf("#%s = %q (found %v), want %q", id, got, ok, want)
		}
	}
	idle := elements(t, render(t, statusInput{Now: t0, Version: "v2"}))
	for _, id := range []string{"relay", "conference", "sessions", "recent-count", "problems"} {
		if _, ok := proctest.ByID(idle, id); ok {
			t.Errorf("#%s shown for a daemon without it", id)
		}
	}
	if got, _ := proctest.ByID(idle, "health"); got != "ok" {
		t.Errorf("#health = %q on a healthy daemon", got)
	}
}

func TestHumanFormats(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{humanBytes(0), "0 B"},
		{humanBytes(1023), "1023 B"},
		{humanBytes(1536), "1.5 KiB"},
		{humanBytes(5 << 30), "5.0 GiB"},
		{humanBitrate(0), "0 bit/s"},
		{humanBitrate(64000), "64.0 kbit/s"},
		{humanBitrate(1.25e6), "1.2 Mbit/s"},
		{humanBitrate(2.5e9), "2.50 Gbit/s"},
		{humanMillis(240 * time.Millisecond), "240 ms"},
		{humanMillis(2300 * time.Millisecond), "2.3 s"},
		{humanPercent(0), "0%"},
		{humanPercent(0.0012), "0.12%"},
		{humanPercent(0.045), "4.5%"},
		{humanPercent(1), "100%"},
		{humanDuration(42 * time.Second), "42s"},
		{humanDuration(5*time.Minute + 3*time.Second), "5m3s"},
		{humanDuration(3*time.Hour + 4*time.Minute), "3h4m"},
		{humanDuration(53 * time.Hour), "2d5h"},
		{humanPair("host", "relay"), "host/relay"},
		{humanPair("", ""), "—"},
		{humanPair("host", ""), "host/?"},
		{plural(0, "call"), "0 calls"},
		{plural(1, "call"), "1 call"},
		{plural(2, "transfer"), "2 transfers"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
