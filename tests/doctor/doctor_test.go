package doctor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/proctest"
	"github.com/jingled/jingled/internal/prosodytest"
)

// The shared secret both sides use when the setup is right.
const secret = "doctor-test-secret"

// setup is one deployment: its Prosody, its relay and the account the
// doctor logs in with.
type setup struct {
	// prosodySecret is Prosody's turn_external_secret; default secret.
	prosodySecret string
	// relayExtra is raw TOML added to the relay's [turn] table.
	relayExtra string
	// prosody are extra Prosody options.
	prosody []prosodytest.Option
	// blockUDP drops UDP to the relay's port (iptables, in the test's
	// namespace).
	blockUDP bool
	// relayAddr is where the relay listens and relays; default relayIP.
	relayAddr string
	// bareTURNS announces TURN over TLS the Prosody 0.12 way,
	// turn_external_tls_port, which gives it no credentials.
	bareTURNS bool
	// tlsPort is where the relay serves TURN over TLS and Prosody
	// announces it; default 443, the recommended setup (the test runs as
	// root in a namespace of its own, so it can bind 443).
	tlsPort int
}

// report is the doctor's --json summary.
type report struct {
	JID      string    `json:"jid"`
	Findings []finding `json:"findings"`
}

type finding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Subject  string `json:"subject"`
	What     string `json:"what"`
	Fix      string `json:"fix"`
	Docs     string `json:"docs"`
}

// run is one doctor run's outcome.
type run struct {
	report report
	code   int
	out    []string
	stderr string
}

// find returns the findings with id.
func (r *run) find(id string) []finding {
	var out []finding
	for _, f := range r.report.Findings {
		if f.ID == id {
			out = append(out, f)
		}
	}
	return out
}

func (r *run) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, strings.Join(r.out, "\n"), r.stderr)
}

// deployment is a running setup.
type deployment struct {
	srv  *prosodytest.Server
	acct prosodytest.Account
	pw   string // the account's password file
	dir  string
}

// start brings the deployment up and runs `jingle doctor --json` with
// args against it.
func (s setup) start(t *testing.T, args ...string) *run {
	t.Helper()
	return s.up(t).doctor(t, args...)
}

// up brings the deployment up: Prosody, the doctor's account, the relay.
func (s setup) up(t *testing.T) *deployment {
	t.Helper()
	if testing.Short() {
		t.Skip("tests/doctor runs Prosody and the relay; not in -short")
	}
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	ip := s.relayAddr
	if ip == "" {
		ip = relayIP
	}
	turnPort, tlsPort := proctest.QuietPorts(t, 1), s.tlsPort
	if tlsPort == 0 {
		tlsPort = 443
	}
	ps := s.prosodySecret
	if ps == "" {
		ps = secret
	}
	// Prosody announces the relay over UDP, TCP and TLS (on 443, as
	// docs/DEPLOY.md recommends); the relay's TLS listener presents
	// Prosody's certificate (issued for its address too),
	// which the doctor trusts through --ca. TURN over TLS is announced
	// through external_services: Prosody 0.12's turn_external_tls_port
	// gives it no credentials.
	turns := fmt.Sprintf(`external_services = { { type = "turns", transport = "tcp", host = %q, port = %d, secret = %q, algorithm = "turn" } }`,
		ip, tlsPort, ps)
	if s.bareTURNS {
		turns = fmt.Sprintf("turn_external_tls_port = %d", tlsPort)
	}
	opts := append([]prosodytest.Option{prosodytest.WithTURNExternal(prosodytest.TURNExternal{
		Secret: ps, Host: ip, Port: turnPort, TCP: true,
	}), prosodytest.WithGlobalConfig(turns),
		prosodytest.WithCertificateIPs(ip), prosodytest.WithModules("version")}, s.prosody...)
	srv := prosodytest.New(t, opts...)
	acct := srv.NewAccount(t, "doctor")
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte(acct.Password), 0o600); err != nil {
		t.Fatal(err)
	}
	httpPort := proctest.FreePort(t)
	conf := fmt.Sprintf(`[http]
listen = "127.0.0.1:%d"
[turn]
enabled = true
realm = "doctor.test"
address = %q
port = %d
tls_port = %d
tls_cert = %q
tls_key = %q
udp_sockets = 1
secrets = [%q]
%s
`, httpPort, ip, turnPort, tlsPort, srv.CAFile, srv.KeyFile, secret, s.relayExtra)
	confPath := filepath.Join(dir, "jingled.toml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	proctest.StartJingled(t, filepath.Join(binDir, "jingled"), confPath, httpPort)
	if s.blockUDP {
		rule := []string{"INPUT", "-p", "udp", "-d", ip, "--dport", strconv.Itoa(turnPort), "-j", "DROP"}
		if out, err := exec.Command("iptables", append([]string{"-w", "-I"}, rule...)...).CombinedOutput(); err != nil {
			t.Fatalf("iptables: %v: %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("iptables", append([]string{"-w", "-D"}, rule...)...).Run() })
	}
	return &deployment{srv: srv, acct: acct, pw: pw, dir: dir}
}

// doctor runs `jingle doctor` as the deployment's account.
func (d *deployment) doctor(t *testing.T, args ...string) *run {
	t.Helper()
	return doctor(t, append([]string{"--jid", d.acct.JID, "--password-file", d.pw, "--server", d.srv.Addr, "--ca", d.srv.CAFile}, args...)...)
}

// doctor runs the jingle binary's doctor with --json.
func doctor(t *testing.T, args ...string) *run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append([]string{"doctor", "--json", "--step-timeout", "2s"}, args...)
	out, stderr, code, err := proctest.RunCLI(ctx, filepath.Join(binDir, "jingle"), argv...)
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("jingle %v: %v", argv, err)
	}
	r := &run{code: code, out: out, stderr: stderr}
	if len(out) == 0 || json.Unmarshal([]byte(out[len(out)-1]), &r.report) != nil {
		t.Fatalf("no JSON report:\n%s", r)
	}
	t.Logf("jingle %s\n%s", strings.Join(argv, " "), r)
	return r
}

// expectFault asserts that the doctor exited 1 and named the fault with
// id as an error (with a fix and its docs section) whose text says says.
func expectFault(t *testing.T, r *run, id, says string) finding {
	t.Helper()
	if r.code != 1 {
		t.Errorf("exit code %d, want 1", r.code)
	}
	for _, f := range r.find(id) {
		if f.Severity == "error" && strings.Contains(f.What, says) {
			if f.Fix == "" || f.Docs != "docs/DEPLOY.md#"+id {
				t.Errorf("%s without fix or docs section: %+v", id, f)
			}
			return f
		}
	}
	t.Fatalf("no error finding %s saying %q in the report", id, says)
	return finding{}
}

// TestCleanSetupExitsZero: Prosody announcing jingled's relay with the
// right secret, TURN over TLS on 443, the relay on a public address with
// its default peer policy. Every check passes and the doctor exits 0.
func TestCleanSetupExitsZero(t *testing.T) {
	d := setup{}.up(t)
	r := d.doctor(t)
	if r.code != 0 {
		t.Errorf("exit code %d, want 0", r.code)
	}
	for _, f := range r.report.Findings {
		if f.Severity == "warning" || f.Severity == "error" {
			t.Errorf("problem on a correct setup: %+v", f)
		}
	}
	for _, want := range []struct{ id, says string }{
		{"xmpp-login", "over TLS (certificate verified) with SCRAM"},
		{"server-software", "Prosody"},
		{"extdisco", "urn:xmpp:extdisco:2 answered with 4 usable service(s)"},
		{"extdisco-turns-443", "turns:" + relayIP + ":443?transport=tcp"},
		{"stun-binding", "seen as " + relayIP},
		{"turn-allocation", "relayed address " + relayIP},
		{"turn-roundtrip", "and back"},
		{"relay-peer-policy", "refuses to relay to loopback, private"},
	} {
		found := false
		for _, f := range r.find(want.id) {
			found = found || (f.Severity == "ok" || f.Severity == "info") && strings.Contains(f.What, want.says)
		}
		if !found {
			t.Errorf("no %s finding saying %q", want.id, want.says)
		}
	}
	// The report for people ends with the verdict.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, stderr, code, _ := proctest.RunCLI(ctx, filepath.Join(binDir, "jingle"), "doctor", "--jid", d.acct.JID,
		"--password-file", d.pw, "--server", d.srv.Addr, "--ca", d.srv.CAFile)
	if code != 0 || len(out) < 3 || out[0] != "jingle doctor for "+d.acct.JID || out[len(out)-1] != "No problems found." {
		t.Errorf("text report (exit %d):\n%s\n%s", code, strings.Join(out, "\n"), stderr)
	}
	// Each transport announced (UDP, TCP and TLS) was reached.
	for _, tr := range []string{"(UDP ", "(TCP ", "(TLS "} {
		found := false
		for _, f := range r.find("turn-allocation") {
			found = found || strings.Contains(f.Subject, tr)
		}
		if !found {
			t.Errorf("no allocation over %s", tr)
		}
	}
}

// TestNoTURNSOn443: the relay serves TURN over TLS, and Prosody
// announces it, on another port than 443 (5349 was the custom): every
// service works, but users behind networks that let only 443 out cannot
// call, and the doctor warns and says what to set.
func TestNoTURNSOn443(t *testing.T) {
	port := proctest.FreePort(t)
	r := setup{tlsPort: port}.start(t)
	if r.code != 1 {
		t.Errorf("exit code %d, want 1", r.code)
	}
	f := r.find("extdisco-no-turns-443")
	if len(f) != 1 || f[0].Severity != "warning" ||
		!strings.Contains(f[0].What, fmt.Sprintf("only on port %d: users behind networks that let only 443 out cannot call", port)) ||
		!strings.Contains(f[0].Fix, "tls_port = 443") || !strings.Contains(f[0].Fix, `"tls:443"`) ||
		!strings.Contains(f[0].Fix, "jingled --xmpp-config prosody") ||
		f[0].Docs != "docs/DEPLOY.md#networks-that-let-only-443-out" {
		t.Errorf("extdisco-no-turns-443: %+v", f)
	}
	if len(r.find("extdisco-turns-443")) != 0 {
		t.Error("TURN over TLS on 443 reported as announced")
	}
	// It is the only problem: the service on the other port works.
	for _, f := range r.report.Findings {
		if (f.Severity == "warning" || f.Severity == "error") && f.ID != "extdisco-no-turns-443" {
			t.Errorf("another problem: %+v", f)
		}
	}
	tls := false
	for _, f := range r.find("turn-allocation") {
		tls = tls || strings.Contains(f.Subject, fmt.Sprintf("(TLS %s:%d)", relayIP, port))
	}
	if !tls {
		t.Errorf("no allocation over TLS on port %d", port)
	}
}

// TestWrongSecret: Prosody's turn_external_secret is not the relay's.
func TestWrongSecret(t *testing.T) {
	r := setup{prosodySecret: "not-the-relay-secret"}.start(t)
	expectFault(t, r, "turn-auth-secret", "do not share the same secret")
	if len(r.find("turn-allocation")) != 0 {
		t.Error("an allocation succeeded with the wrong secret")
	}
}

// TestExpiredCredentials: the XMPP server hands out credentials whose
// expiry is already past (a negative TTL stands for a clock an hour
// behind): discovery and the relay both say so.
func TestExpiredCredentials(t *testing.T) {
	r := setup{prosody: []prosodytest.Option{prosodytest.WithGlobalConfig("turn_external_ttl = -3600\nexternal_service_ttl = -3600")}}.start(t)
	expectFault(t, r, "turn-auth-expired", "already dead")
	expectFault(t, r, "turn-auth-expired", "401")
	if len(r.find("turn-auth-secret")) != 0 {
		t.Error("an expired credential was blamed on the secret")
	}
}

// TestRelayAdvertisesPrivateAddress: external_ip is a private address,
// so the relayed address clients get is unreachable from the internet.
func TestRelayAdvertisesPrivateAddress(t *testing.T) {
	r := setup{relayExtra: `external_ip = "10.0.0.5"`}.start(t)
	expectFault(t, r, "turn-relayed-not-public", "private relayed address (10.0.0.5)")
	expectFault(t, r, "turn-roundtrip-failed", "10.0.0.5")
}

// TestCertificateForAnotherName: Prosody's certificate is for another
// domain; the doctor stops at the login and says why.
func TestCertificateForAnotherName(t *testing.T) {
	r := setup{prosody: []prosodytest.Option{prosodytest.WithCertificateFor("other.example")}}.start(t)
	expectFault(t, r, "xmpp-tls-name", "other.example")
}

// TestBlockedUDPPort: a firewall drops UDP to the relay's port; TCP still
// works, so the doctor names the UDP transport and still checks over TCP.
func TestBlockedUDPPort(t *testing.T) {
	r := setup{blockUDP: true}.start(t)
	f := expectFault(t, r, "turn-unreachable", "no answer over UDP")
	if !strings.Contains(f.Subject, "(UDP ") {
		t.Errorf("unreachable service %q is not the UDP one", f.Subject)
	}
	tcpOK := false
	for _, f := range r.find("turn-allocation") {
		tcpOK = tcpOK || strings.Contains(f.Subject, "(TCP ")
	}
	if !tcpOK {
		t.Error("no allocation over TCP while only UDP was blocked")
	}
}

// TestRelayAllowsLoopbackPeers: allow_peers lets the relay reach
// loopback, the CVE-2020-26262 class of hole; the doctor's datagram to
// its own loopback socket arrives, and it says so.
func TestRelayAllowsLoopbackPeers(t *testing.T) {
	r := setup{relayExtra: `allow_peers = ["127.0.0.0/8"]`}.start(t)
	expectFault(t, r, "relay-open-loopback", "relayed a datagram to 127.0.0.1:")
}

// TestLANRelay: a relay on a private address serves a LAN. Without
// --lan-ok the doctor says internet clients cannot use it; with --lan-ok
// the same setup is clean.
func TestLANRelay(t *testing.T) {
	d := setup{relayAddr: lanIP}.up(t)
	r := d.doctor(t)
	expectFault(t, r, "turn-relayed-not-public", "private relayed address ("+lanIP+")")
	lan := d.doctor(t, "--lan-ok")
	if lan.code != 0 {
		t.Errorf("--lan-ok: exit code %d, want 0", lan.code)
	}
	for _, f := range lan.report.Findings {
		if f.Severity == "warning" || f.Severity == "error" {
			t.Errorf("--lan-ok: problem on a LAN relay: %+v", f)
		}
	}
	if len(lan.find("turn-roundtrip")) == 0 || len(lan.find("turn-relayed-not-public")) == 0 {
		t.Error("--lan-ok: no round trip, or the private relayed address went unmentioned")
	}
}

// TestPeer: --peer reports a contact's Jingle features and the call
// path; a contact with no device online is a warning.
func TestPeer(t *testing.T) {
	d := setup{}.up(t)
	bob := d.srv.NewAccount(t, "bob")
	carol := d.srv.NewAccount(t, "carol")
	for _, c := range []prosodytest.Account{bob, carol} {
		if err := d.srv.Befriend(d.acct, c); err != nil {
			t.Fatal(err)
		}
	}
	answer(t, d, bob)
	r := d.doctor(t, "--peer", bob.JID)
	if r.code != 0 {
		t.Errorf("exit code %d, want 0", r.code)
	}
	features := r.find("peer-features")
	if len(features) != 1 || !strings.HasPrefix(features[0].Subject, bob.JID+"/") ||
		!strings.Contains(features[0].What, "RTP sessions (XEP-0167)") || !strings.Contains(features[0].What, "ICE-UDP (XEP-0176)") {
		t.Errorf("peer-features: %+v", features)
	}
	if path := r.find("call-path"); len(path) != 1 || path[0].Severity != "info" || !strings.Contains(path[0].What, "not behind NAT") {
		t.Errorf("call-path: %+v", path)
	}
	off := d.doctor(t, "--peer", carol.JID)
	if off.code != 1 {
		t.Errorf("offline peer: exit code %d, want 1", off.code)
	}
	if f := off.find("peer-offline"); len(f) != 1 || f[0].Severity != "warning" {
		t.Errorf("offline peer: %+v", f)
	}
}

// answer runs `jingle answer` as acct until the test ends, once it is
// online.
func answer(t *testing.T, d *deployment, acct prosodytest.Account) {
	t.Helper()
	pw := filepath.Join(d.dir, acct.Local+".pw")
	if err := os.WriteFile(pw, []byte(acct.Password), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "jingle"), "answer", "--json", "--jid", acct.JID, "--password-file", pw,
		"--server", d.srv.Addr, "--ca", d.srv.CAFile, "--no-discover", "--echo")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr proctest.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"event":"ready"`) {
				ready <- true
			}
		}
		close(ready)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("jingle answer stderr:\n%s", stderr.String())
		}
	})
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("jingle answer ended before it was ready:\n%s", stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("jingle answer not ready after 30s:\n%s", stderr.String())
	}
}

// TestTURNSWithoutCredentials: Prosody 0.12's turn_external_tls_port
// announces TURN over TLS without credentials. jingle borrows those of
// the TURN service (the allocation over TLS works), but other clients may
// not: the doctor warns and names the configuration.
func TestTURNSWithoutCredentials(t *testing.T) {
	r := setup{bareTURNS: true}.start(t)
	if r.code != 1 {
		t.Errorf("exit code %d, want 1", r.code)
	}
	f := r.find("extdisco-turn-without-credentials")
	if len(f) != 1 || f[0].Severity != "warning" || !strings.HasPrefix(f[0].Subject, "turns:") ||
		f[0].Docs != "docs/DEPLOY.md#extdisco-turn-without-credentials" {
		t.Errorf("extdisco-turn-without-credentials: %+v", f)
	}
	tls := false
	for _, f := range r.find("turn-allocation") {
		tls = tls || strings.Contains(f.Subject, "(TLS ")
	}
	if !tls {
		t.Error("no allocation over TLS with the borrowed credentials")
	}
	// It is on 443: the missing credentials are the one problem.
	if f := r.find("extdisco-turns-443"); len(f) != 1 || f[0].Severity != "info" || len(r.find("extdisco-no-turns-443")) != 0 {
		t.Errorf("extdisco-turns-443: %+v", f)
	}
}
