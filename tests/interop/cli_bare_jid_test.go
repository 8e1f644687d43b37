package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/cli"
	"github.com/jingled/jingled/internal/mediatest"
)

// TestCLICallsStanzaJSByBareJID (issue 13): `jingle call bob@domain` to a
// contact whose only device is StanzaJS (no JMI, XEP-0353) sends the
// session-initiate straight to that device, found through its presence
// and disco#info, instead of ringing through JMI (which StanzaJS ignores,
// while it still answers the <propose/>'s receipt request). The call
// connects and each side hears the other's tone; no proposal and no
// "ringing" from a receipt were reported.
func TestCLICallsStanzaJSByBareJID(t *testing.T) {
	srv := sharedServer(t)
	dir := t.TempDir()
	us, them := srv.NewAccount(t, "gocli"), srv.NewAccount(t, "stanza")
	if err := srv.Befriend(us, them); err != nil {
		t.Fatal(err)
	}
	st := startPeer(t, srv, them, "answer", "--freq", "440", "--ring", "--once")
	st.waitFor(readyWithin, "ready", nil)
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(us.Password), 0o600); err != nil {
		t.Fatal(err)
	}
	tone := sineFile(t, toneGo, callLength+5*time.Second)
	record := filepath.Join(dir, "back")
	var out, errb bytes.Buffer
	code := cli.Main([]string{"call", them.JID, "--jid", us.JID, "--password-file", pw, "--server", srv.Addr, "--ca", srv.CAFile,
		"--audio", tone, "--record", record, "--duration", callLength.String(), "--ring-timeout", "20s",
		"--loopback", "--no-discover", "--json"}, &out, &errb)
	var events []map[string]any
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			events = append(events, m)
		}
	}
	if code != 0 {
		t.Fatalf("jingle call exited %d: %s\n%v", code, errb.String(), events)
	}
	resolved := false
	for _, e := range events {
		switch e["event"] {
		case "resolved":
			resolved = e["peer"] == st.jid && e["route"] == "initiate"
		case "proposed":
			t.Errorf("a JMI proposal went to a peer without JMI: %v", e)
		case "ringing":
			if _, fromReceipt := e["sid"]; fromReceipt && e["type"] == nil {
				t.Errorf("a receipt was reported as ringing: %v", e)
			}
		}
	}
	if !resolved {
		t.Errorf("no resolved event with the direct route to %s: %v", st.jid, events)
	}
	if sum := events[len(events)-1]; sum["event"] != "summary" || sum["reason"] != "success" || sum["peer"] != st.jid {
		t.Errorf("summary %v", sum)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := mediatest.AnalyzeAudio(ctx, record+".ogg")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("we recorded %v of StanzaJS, %.1f Hz", a.Duration, a.Frequency)
	if math.Abs(a.Frequency-toneStanza) > 5 || a.Duration < 500*time.Millisecond {
		t.Errorf("we heard %.1f Hz for %v from StanzaJS, want %d Hz", a.Frequency, a.Duration, toneStanza)
	}
	end := st.waitFor(callWithin, "ended", nil)
	checkAudio(t, "StanzaJS", end.Stats, toneGo)
	for _, x := range st.all("xml") {
		if bytes.Contains([]byte(x.XML), []byte("urn:xmpp:jingle-message:0")) {
			t.Errorf("StanzaJS got or sent a JMI message: %s", x.XML)
		}
	}
}
