package nat

import (
	"fmt"
	"github.com/jingled/jingled/ice"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/netnstest"
	"github.com/jingled/jingled/rtp"
)

// The peers are the real `jingle` CLI (cmd/jingle) run inside the LAN
// namespaces with --json; these types mirror its output.

// readyEvent is answer's and receive's first line once logged in.
type readyEvent struct {
	JID string `json:"jid"`
}

// callSummary is the last line of call and answer.
type callSummary struct {
	Peer   string    `json:"peer"`
	SID    string    `json:"sid"`
	Reason string    `json:"reason"`
	Stats  rtp.Stats `json:"stats"`
	Record string    `json:"record"`
}

// transferSummary is the last line of send and receive.
type transferSummary struct {
	Path        string  `json:"path"`
	Size        int64   `json:"size"`
	Transferred int64   `json:"transferred"`
	SHA256      string  `json:"sha256"`
	Transport   string  `json:"transport"`
	Seconds     float64 `json:"seconds"`
	Rate        float64 `json:"bytes_per_second"`
	Reason      string  `json:"reason"`
	Error       string  `json:"error"`
	// Pair is the datachannel's selected candidate pair.
	Pair ice.Pair `json:"candidate_pair"`
}

// condition is the Jingle reason condition of a CLI reason string
// ("connectivity-error: ICE failed ...").
func condition(reason string) string {
	if i := strings.IndexAny(reason, ": "); i >= 0 {
		return reason[:i]
	}
	return reason
}

// iceURLs returns the relay's URLs of the given kinds: "stun" (STUN over
// UDP), "udp", "tcp" (TURN), "tcp443" (TURN over TCP on the TLS port),
// "tls" (TURN over TLS, on 443).
func iceURLs(pub string, kinds ...string) []string {
	var s []string
	for _, k := range kinds {
		switch k {
		case "stun":
			s = append(s, fmt.Sprintf("stun:%s:%d", pub, turnPort))
		case "udp", "tcp":
			s = append(s, fmt.Sprintf("turn:%s:%d?transport=%s", pub, turnPort, k))
		case "tcp443":
			s = append(s, fmt.Sprintf("turn:%s:%d?transport=tcp", pub, turnTLSPort))
		case "tls":
			s = append(s, fmt.Sprintf("turns:%s:%d?transport=tcp", pub, turnTLSPort))
		}
	}
	return s
}

// cli starts `jingle SUBCOMMAND` as user on side of case c, with the
// account and ICE flags every subcommand shares. The relay's
// certificate is trusted through SSL_CERT_FILE, as a system CA would be
// (Go and so pion/ice verify TURN over TLS against the system pool). A
// side behind a "443 only" router reaches XMPP on 443; a side that
// discovers asks Prosody for the relay (XEP-0215) instead of being told.
func cli(t *testing.T, topo *netnstest.Topology, pub *publicHost, c callCase, side int, user string, sub string, args ...string) *proc {
	t.Helper()
	return cliWith(t, topo, pub, c, side, user, turnUsers[user], sub, args...)
}

// cliWith is cli with the TURN password given.
func cliWith(t *testing.T, topo *netnstest.Topology, pub *publicHost, c callCase, side int, user, turnPassword string, sub string, args ...string) *proc {
	t.Helper()
	server := pub.info.XMPPAddr
	if topo.Sides[side].UDPBlocked {
		server = pub.info.XMPP443Addr
	}
	argv := []string{binary(t, "jingle"), sub, "--json",
		"--jid", user + "@" + pub.info.Domain, "--resource", "nat-" + user,
		"--server", server, "--ca", pub.info.CAFile}
	if !c.discover[side] {
		argv = append(argv, "--no-discover", "--ice-username", user)
		for _, u := range iceURLs(topo.PublicIP.String(), c.kinds[side]...) {
			argv = append(argv, "--ice-server", u)
		}
	}
	argv = append(argv, c.flags[side]...)
	env := []string{
		"JINGLE_PASSWORD=" + pub.info.Accounts[user],
		"JINGLE_ICE_PASSWORD=" + turnPassword,
		"SSL_CERT_FILE=" + filepath.Join(pub.dir, "turn-cert.pem"),
	}
	return startProgram(t, topo, topo.Sides[side].LAN, "jingle-"+sub, append(argv, args...), env)
}

// fullJID is user's JID as the CLI binds it.
func fullJID(pub *publicHost, user string) string {
	return user + "@" + pub.info.Domain + "/nat-" + user
}

// callResult is both sides' summaries of one call.
type callResult struct {
	caller, callee callSummary
	dir            string
}

// placeCall runs `jingle answer` in LAN B and `jingle call` in LAN A,
// each sending a tone (440 Hz from A, 880 Hz from B) and recording the
// other's, and returns both summaries.
func placeCall(t *testing.T, topo *netnstest.Topology, pub *publicHost, c callCase, wait time.Duration) callResult {
	t.Helper()
	return placeCallWith(t, topo, pub, c, wait, turnUsers)
}

// placeCallWith is placeCall with the TURN passwords given per user.
func placeCallWith(t *testing.T, topo *netnstest.Topology, pub *publicHost, c callCase, wait time.Duration, turnPasswords map[string]string) callResult {
	t.Helper()
	r := callResult{dir: t.TempDir()}
	a440, a880 := sine(t, 440), sine(t, 880)
	bob := cliWith(t, topo, pub, c, 1, "bob", turnPasswords["bob"], "answer", "--count", "1", "--audio", a880, "--record", filepath.Join(r.dir, "bob"))
	var ready readyEvent
	bob.until(t, "ready", &ready, 60*time.Second)
	alice := cliWith(t, topo, pub, c, 0, "alice", turnPasswords["alice"], "call", fullJID(pub, "bob"),
		"--audio", a440, "--record", filepath.Join(r.dir, "alice"), "--duration", (toneLength + 1500*time.Millisecond).String())
	placed := time.Now()
	alice.until(t, "summary", &r.caller, wait)
	t.Logf("the call ended %v after it was placed", time.Since(placed).Round(100*time.Millisecond))
	bob.until(t, "summary", &r.callee, 30*time.Second)
	t.Logf("caller: %s, %s", r.caller.Reason, r.caller.Stats)
	t.Logf("callee: %s, %s", r.callee.Reason, r.callee.Stats)
	t.Logf("caller pair %+v; callee pair %+v", r.caller.Stats.Pair, r.callee.Stats.Pair)
	return r
}

// sendFile runs `jingle receive` in LAN B and `jingle send` in LAN A
// over the datachannel only, and returns both summaries.
func sendFile(t *testing.T, topo *netnstest.Topology, pub *publicHost, c callCase, src string) (sent, got transferSummary) {
	t.Helper()
	dir := t.TempDir()
	bob := cli(t, topo, pub, c, 1, "bob", "receive", "--count", "1", "--dir", dir)
	var ready readyEvent
	bob.until(t, "ready", &ready, 60*time.Second)
	alice := cli(t, topo, pub, c, 0, "alice", "send", fullJID(pub, "bob"), src, "--transport", "datachannel")
	alice.until(t, "summary", &sent, 3*time.Minute)
	bob.until(t, "summary", &got, 30*time.Second)
	t.Logf("sender: %+v", sent)
	t.Logf("receiver: %+v", got)
	if _, err := os.Stat(got.Path); err != nil {
		t.Errorf("received file: %v", err)
	}
	return sent, got
}
