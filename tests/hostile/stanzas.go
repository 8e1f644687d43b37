package hostile

import (
	"fmt"
	"strings"

	"github.com/jingled/jingled/jingle"
)

// prosodyStanzaLimit is Prosody 0.12's c2s_stanza_size_limit default
// (mod_c2s: 1024*256 bytes for an authenticated stream); a bigger
// stanza ends the sender's stream with policy-violation.
const prosodyStanzaLimit = 256 << 10

// kind is one class of hostile stanza and the answer XEP-0166 (or
// XEP-0353: none) requires.
type kind struct {
	name string
	// iq builds the <jingle/> payload of an IQ set; nil for a JMI
	// message (message builds it).
	iq      func(n int, liveSID string) string
	message func(n int) string
	// cond and jingleCond are the error condition expected in reply.
	cond       string
	jingleCond jingle.JingleCondition
	// every makes the kind one stanza in every that many (default 1).
	every int
}

const content = `<content creator='initiator' name='audio'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'><payload-type id='111' name='opus' clockrate='48000' channels='2'/></description><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='evil' pwd='evilevilevilevilevilevil'><candidate component='1' foundation='1' generation='0' id='c1' ip='127.0.0.1' network='0' port='9' priority='1' protocol='udp' type='host'/></transport></content>`

func jingleXML(action, sid, body string) string {
	sidAttr := ""
	if sid != "" {
		sidAttr = fmt.Sprintf(" sid='%s'", sid)
	}
	return fmt.Sprintf("<jingle xmlns='urn:xmpp:jingle:1' action='%s'%s>%s</jingle>", action, sidAttr, body)
}

// oversized is a transport-info for an unknown session padded to just
// under Prosody's stanza limit (the IQ wrapper and addresses take the
// rest), so it reaches jingled whole.
func oversized(n int) string {
	head := jingleXML("transport-info", fmt.Sprintf("big-%d", n), content+"<pad xmlns='urn:example:pad'>")
	tail := "</pad></jingle>"
	pad := prosodyStanzaLimit - 1024 - len(head) - len(tail)
	return strings.TrimSuffix(head, "</jingle>") + strings.Repeat("A", pad) + tail
}

// kinds are the hostile stanzas, sent round-robin.
var kinds = []kind{
	{name: "missing sid", cond: jingle.CondBadRequest,
		iq: func(int, string) string { return jingleXML("transport-info", "", content) }},
	{name: "bad action", cond: jingle.CondBadRequest,
		iq: func(n int, _ string) string { return jingleXML("session-dance", fmt.Sprintf("x-%d", n), content) }},
	{name: "unparsable content", cond: jingle.CondBadRequest,
		iq: func(n int, _ string) string {
			return jingleXML("session-initiate", fmt.Sprintf("x-%d", n), `<content creator='nobody' senders='all'><description xmlns='urn:xmpp:jingle:apps:rtp:1'/></content>`)
		}},
	{name: "hijack: session-terminate of the live call", cond: jingle.CondItemNotFound, jingleCond: jingle.JingleUnknownSession,
		iq: func(_ int, live string) string {
			return jingleXML("session-terminate", live, "<reason><success/></reason>")
		}},
	{name: "hijack: transport-info into the live call", cond: jingle.CondItemNotFound, jingleCond: jingle.JingleUnknownSession,
		iq: func(_ int, live string) string { return jingleXML("transport-info", live, content) }},
	{name: "out of order: session-accept, unknown sid", cond: jingle.CondItemNotFound, jingleCond: jingle.JingleUnknownSession,
		iq: func(n int, _ string) string { return jingleXML("session-accept", fmt.Sprintf("x-%d", n), content) }},
	{name: "out of order: content-add, unknown sid", cond: jingle.CondItemNotFound, jingleCond: jingle.JingleUnknownSession,
		iq: func(n int, _ string) string { return jingleXML("content-add", fmt.Sprintf("x-%d", n), content) }},
	{name: "oversized, just under Prosody's limit", cond: jingle.CondItemNotFound, jingleCond: jingle.JingleUnknownSession, every: 25,
		iq: func(n int, _ string) string { return oversized(n) }},
	{name: "JMI proceed, unknown id",
		message: func(n int) string { return fmt.Sprintf("<proceed xmlns='urn:xmpp:jingle-message:0' id='jmi-%d'/>", n) }},
	{name: "JMI retract, unknown id",
		message: func(n int) string {
			return fmt.Sprintf("<retract xmlns='urn:xmpp:jingle-message:0' id='jmi-%d'><reason xmlns='urn:xmpp:jingle:1'><cancel/></reason></retract>", n)
		}},
	{name: "JMI reject, unknown id",
		message: func(n int) string {
			return fmt.Sprintf("<reject xmlns='urn:xmpp:jingle-message:0' id='jmi-%d'><reason xmlns='urn:xmpp:jingle:1'><busy/></reason></reject>", n)
		}},
}

// schedule is which kind the nth stanza is: round-robin over the kinds,
// the rarer ones (every > 1) only in their turn, so n stanzas of the
// flood are n stanzas sent.
func schedule(total int) []int {
	out := make([]int, 0, total)
	turn := map[int]int{}
	for i := 0; len(out) < total; i++ {
		k := i % len(kinds)
		if e := kinds[k].every; e > 1 {
			turn[k]++
			if turn[k]%e != 0 {
				continue
			}
		}
		out = append(out, k)
	}
	return out
}
