package doctor

// Finding IDs. Problems have a section of their own in docs/DEPLOY.md
// ("When calls fail"), whose anchor is the ID; the others report what
// was checked and found fine.
const (
	// XMPP login.
	IDXMPPLogin       = "xmpp-login"
	IDXMPPUnreachable = "xmpp-unreachable"
	IDXMPPTLSName     = "xmpp-tls-name"
	IDXMPPTLSUntrust  = "xmpp-tls-untrusted"
	IDXMPPTLS         = "xmpp-tls"
	IDXMPPAuth        = "xmpp-auth"
	IDServerSoftware  = "server-software"
	IDServerFeatures  = "server-features"

	// XEP-0215 discovery.
	IDExtdisco        = "extdisco"
	IDExtdiscoMissing = "extdisco-missing"
	IDExtdiscoNoTURN  = "extdisco-no-turn"
	IDExtdiscoSkipped = "extdisco-skipped"
	IDExtdiscoNoCreds = "extdisco-turn-without-credentials"
	// TURN over TLS on 443, the way through networks that let only 443
	// out (TURNS443).
	IDExtdiscoTURNS443   = "extdisco-turns-443"
	IDExtdiscoNoTURNS443 = "extdisco-no-turns-443"

	// Each STUN/TURN service.
	IDTURNDNS             = "turn-dns"
	IDTURNUnreachable     = "turn-unreachable"
	IDSTUNBinding         = "stun-binding"
	IDSTUNNotPublic       = "stun-reflexive-not-public"
	IDTURNAllocation      = "turn-allocation"
	IDTURNAuthSecret      = "turn-auth-secret"
	IDTURNAuthExpired     = "turn-auth-expired"
	IDTURNForbidden       = "turn-forbidden"
	IDTURNMismatch        = "turn-allocation-mismatch"
	IDTURNQuota           = "turn-quota"
	IDTURNAllocateFailed  = "turn-allocate-failed"
	IDTURNRelayNotPublic  = "turn-relayed-not-public"
	IDTURNRoundTrip       = "turn-roundtrip"
	IDTURNRoundTripFailed = "turn-roundtrip-failed"
	IDRelayPeerPolicy     = "relay-peer-policy"
	IDRelayOpenLoopback   = "relay-open-loopback"
	IDRelayOpenPrivate    = "relay-open-private"

	// The contact (--peer).
	IDPeerFeatures = "peer-features"
	IDPeerOffline  = "peer-offline"
	IDPeerNoCalls  = "peer-no-calls"
	IDCallPath     = "call-path"
)

// fixes are the one-line remedies of the problem findings, naming the
// config line most likely at fault. Prosody's names come first (the
// setup docs/DEPLOY.md describes), jingled's [turn] keys second.
var fixes = map[string]string{
	IDXMPPUnreachable:     "check the host and port (--server), that the XMPP server runs and that the firewall lets 5222/tcp in",
	IDXMPPTLSName:         "give the XMPP server a certificate for the JID's domain (Prosody: ssl/certificates in the VirtualHost; `prosodyctl check certs`)",
	IDXMPPTLSUntrust:      "use a certificate from a CA clients trust (Let's Encrypt: `prosodyctl cert import`); a self-signed one needs --ca here and fails in every client",
	IDXMPPTLS:             "fix the server's TLS setup (certificate validity dates, key, protocol versions); `prosodyctl check certs` names the problem",
	IDXMPPAuth:            "check the JID and password (Prosody: `prosodyctl passwd USER@DOMAIN`)",
	IDExtdiscoMissing:     "enable XEP-0215 on the XMPP server: Prosody modules_enabled = { \"turn_external\" } with turn_external_secret; ejabberd mod_stun_disco",
	IDExtdiscoNoTURN:      "announce the relay as TURN, not only STUN: Prosody turn_external_secret must be set (= [turn] secrets in jingled)",
	IDExtdiscoNoCreds:     "announce every TURN service with the secret: Prosody 0.12 through external_services (`jingled --xmpp-config prosody` prints it) instead of turn_external_tls_port",
	IDExtdiscoNoTURNS443:  "in jingled's [turn] set tls_port = 443 and add \"tls:443\" to advertise (advertise = [\"udp:3478\", \"tcp:3478\", \"tls:443\"], with tls_cert, tls_key and public_host), then announce it: `jingled --xmpp-config prosody` (or ejabberd) prints the XMPP server's config",
	IDExtdiscoSkipped:     "correct the announced service (host, port, transport) in the XMPP server's config (turn_external_host/_port/_tcp/_tls_port)",
	IDTURNDNS:             "publish an A/AAAA record for the relay's name, or set turn_external_host to a name that resolves",
	IDTURNUnreachable:     "open the relay's port for this transport in the firewall ([turn] port, 3478, for udp and tcp; tls_port for TLS, 443 recommended) or stop announcing the transport",
	IDSTUNNotPublic:       "run the doctor from outside the relay's network too; a relay on a private network needs a public address (external_ip) to serve the internet",
	IDTURNAuthSecret:      "make Prosody's turn_external_secret equal to one of jingled's [turn] secrets (then reload both)",
	IDTURNAuthExpired:     "set the clocks right (NTP on the XMPP server and the relay) and turn_external_ttl to a positive lifetime such as 86400",
	IDTURNForbidden:       "the relay refuses this user or source: check deny_peers/allow_peers and any per-user limits in jingled's [turn]",
	IDTURNMismatch:        "another allocation already uses this address and port (a NAT reusing ports); wait for it to expire or raise allocation_lifetime limits; retry from elsewhere",
	IDTURNQuota:           "raise max_allocations_per_user or max_allocations in jingled's [turn], or find what leaks allocations",
	IDTURNAllocateFailed:  "read the relay's log (jingled [log] level = \"debug\") for the refused Allocate",
	IDTURNRelayNotPublic:  "set [turn] external_ip to the public address (1:1 NAT) or relay_bind_address to a public interface; pass --lan-ok for a LAN-only relay",
	IDTURNRoundTripFailed: "the relayed address must be reachable: check external_ip (it must route back to this host) and that relay_port_min..relay_port_max is open (udp)",
	IDRelayOpenLoopback:   "remove loopback ranges (127.0.0.0/8, ::1) from [turn] allow_peers: the relay is an open door to this host's local services",
	IDRelayOpenPrivate:    "list only your LAN in [turn] allow_peers (never 10.0.0.0/8 etc. on a public relay), and never 169.254.169.254",
	IDPeerOffline:         "the contact must be online and share its presence with you (a roster subscription)",
	IDPeerNoCalls:         "the contact's client must support Jingle RTP calls over ICE-UDP (XEP-0167, XEP-0176); update or change the client",
	IDCallPath:            "keep the relay working: a call between these networks depends on it",
}

// Docs is where the explanations live.
const Docs = "docs/DEPLOY.md"

// sections send a finding to a docs/DEPLOY.md section that explains it
// better than its own heading under "When calls fail" (which stays, says
// it in short and points there too). The value is the section's anchor.
var sections = map[string]string{
	IDExtdiscoNoTURNS443: "networks-that-let-only-443-out",
}

// New makes a finding; problems get their catalogue fix and docs anchor.
func New(id string, sev Severity, subject, what string) Finding {
	f := Finding{ID: id, Severity: sev, Subject: subject, What: what}
	if sev.Problem() {
		f.Fix = fixes[id]
		f.Docs = DocsAnchor(id)
	}
	return f
}

// DocsAnchor is the docs/DEPLOY.md section explaining id: the heading
// named id under "When calls fail", or the section sections names.
func DocsAnchor(id string) string {
	if s, ok := sections[id]; ok {
		return Docs + "#" + s
	}
	return Docs + "#" + id
}

// ProblemIDs lists every ID that has a fix, for the docs test.
func ProblemIDs() []string {
	out := make([]string, 0, len(fixes))
	for id := range fixes {
		out = append(out, id)
	}
	return out
}
