package cli

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = Main(args, &o, &e)
	return o.String(), e.String(), code
}

func TestTurnCredentials(t *testing.T) {
	t.Setenv("JINGLE_TURN_SECRET", "s3cret")
	out, errOut, code := run(t, "turn-credentials", "--user", "alice", "--ttl", "1h", "--json")
	if code != ExitOK {
		t.Fatalf("code %d, stderr %s", code, errOut)
	}
	var r struct{ Username, Password string }
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	exp, user, _ := strings.Cut(r.Username, ":")
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || user != "alice" {
		t.Fatalf("username %q", r.Username)
	}
	if d := time.Until(time.Unix(sec, 0)); d < 59*time.Minute || d > 61*time.Minute {
		t.Fatalf("expiry %v away, want about 1h", d)
	}
	mac := hmac.New(sha1.New, []byte("s3cret"))
	mac.Write([]byte(r.Username))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); r.Password != want {
		t.Fatalf("password %q, want %q", r.Password, want)
	}
	if strings.Contains(out+errOut, "s3cret") {
		t.Fatal("the secret was echoed")
	}
}

func TestTurnCredentialsSecretFile(t *testing.T) {
	t.Setenv("JINGLE_TURN_SECRET", "")
	f := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(f, []byte("fromfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, code := run(t, "turn-credentials", "--secret-file", f)
	if code != ExitOK || !strings.Contains(out, "password: ") {
		t.Fatalf("code %d out %q", code, out)
	}
	_, errOut, code := run(t, "turn-credentials")
	if code != ExitUsage || !strings.Contains(errOut, "JINGLE_TURN_SECRET") {
		t.Fatalf("missing secret: code %d, %q", code, errOut)
	}
	_, _, code = run(t, "turn-credentials", "--no-such-flag")
	if code != ExitUsage {
		t.Fatalf("unknown flag: code %d", code)
	}
}

// A StanzaJS session-initiate goes to SDP and back to an equivalent Jingle
// offer: same contents, codecs, ICE credentials and fingerprint.
func TestSDPRoundTrip(t *testing.T) {
	out, errOut, code := run(t, "sdp", "testdata/stanzajs-audio-initiate.xml")
	if code != ExitOK {
		t.Fatalf("code %d: %s", code, errOut)
	}
	for _, want := range []string{"a=group:BUNDLE 0", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=ice-ufrag:pJvR", "a=setup:actpass", "a=rtpmap:111 opus/48000/2"} {
		if !strings.Contains(out, want) {
			t.Errorf("SDP lacks %q", want)
		}
	}
	sdpFile := filepath.Join(t.TempDir(), "offer.sdp")
	if err := os.WriteFile(sdpFile, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	back, errOut, code := run(t, "sdp", sdpFile)
	if code != ExitOK {
		t.Fatalf("back: code %d: %s", code, errOut)
	}
	for _, want := range []string{`ufrag="pJvR"`, `name="opus"`, `setup="actpass"`, `semantics="BUNDLE"`, `action="session-initiate"`} {
		if !strings.Contains(back, want) {
			t.Errorf("Jingle lacks %q:\n%s", want, back)
		}
	}
}

func TestSDPBadInput(t *testing.T) {
	dir := t.TempDir()
	for name, in := range map[string]string{
		"garbage sdp":   "not sdp at all",
		"bad action":    `<jingle xmlns="urn:xmpp:jingle:1" action="bogus" sid="x"/>`,
		"malformed xml": `<jingle xmlns="urn:xmpp:jingle:1" action=`,
	} {
		f := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(f, []byte(in), 0o600); err != nil {
			t.Fatal(err)
		}
		_, errOut, code := run(t, "sdp", f)
		if code == ExitOK || !strings.HasPrefix(errOut, "jingle: ") {
			t.Errorf("%s: code %d, stderr %q", name, code, errOut)
		}
	}
	_, _, code := run(t, "sdp", filepath.Join(dir, "missing"))
	if code != ExitUsage {
		t.Errorf("missing file: code %d", code)
	}
}
