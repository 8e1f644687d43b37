// Package prosodytest runs a real Prosody XMPP server (Debian's prosody
// package) on loopback for integration tests.
//
// Each Server gets a throwaway directory holding its config, data, log and a
// self-signed certificate generated at start, so clients really negotiate
// STARTTLS (RFC 6120 §5) and SCRAM (RFC 5802, RFC 7677) against it. Ports are
// picked free on 127.0.0.1, s2s is off, and accounts are created with
// prosodyctl pointed at the throwaway config. Optional features:
// mod_turn_external (XEP-0215 credentials for a TURN server, see
// WithTURNExternal), a mod_proxy65 component (XEP-0065, see WithProxy65) and
// an external component port (XEP-0114, see WithComponent).
//
// A missing prosody binary is a test failure that says how to install it,
// never a skip: the integration tests are the point of this package.
//
// Starting Prosody takes about a tenth of a second; a test binary that wants
// one shared instance uses Run from TestMain and Shared in its tests:
//
//	func TestMain(m *testing.M) { os.Exit(prosodytest.Run(m)) }
//
//	func TestX(t *testing.T) {
//		srv := prosodytest.Shared(t)
//		alice := srv.NewAccount(t, "alice")
//		...
//	}
package prosodytest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Domain is the XMPP domain of every Server: the certificate is issued for it
// and for its subdomains (the proxy65 component lives at "proxy."+Domain).
const Domain = "localhost"

// InstallHint tells a developer how to get the prosody binary.
const InstallHint = "install it with `apt-get install prosody` (or `make deps`)"

// ErrProsodyMissing is returned when prosody or prosodyctl is not in PATH.
var ErrProsodyMissing = errors.New("prosodytest: prosody not found in PATH: " + InstallHint)

// startTimeout bounds how long Start waits for Prosody to listen.
const startTimeout = 15 * time.Second

// Account is an XMPP account on a Server.
type Account struct {
	// Local is the localpart, e.g. "alice-1".
	Local string
	// JID is the bare JID, e.g. "alice-1@localhost".
	JID string
	// Password is the account's password.
	Password string
}

// Server is a running Prosody.
type Server struct {
	// Domain is the XMPP domain (the VirtualHost).
	Domain string
	// Addr is the c2s listener, "127.0.0.1:port".
	Addr string
	// Dir is the throwaway directory (config, data, log, certificate).
	Dir string
	// ConfigFile is the Prosody config (pass to prosodyctl --config).
	ConfigFile string
	// CAFile is the PEM certificate clients must trust: the server's own
	// self-signed certificate.
	CAFile string
	// KeyFile is the PEM private key of the certificate.
	KeyFile string
	// LogFile is Prosody's log.
	LogFile string
	// ProxyJID and ProxyAddr are the proxy65 component's JID and its
	// SOCKS5 listener, set with WithProxy65.
	ProxyJID  string
	ProxyAddr string
	// ComponentJID, ComponentAddr and ComponentSecret are the external
	// component's domain (e.g. "call.localhost"), the loopback address it
	// connects to and its secret, set with WithComponent.
	ComponentJID    string
	ComponentAddr   string
	ComponentSecret string
	// TURN is the mod_turn_external configuration, if enabled.
	TURN *TURNExternal

	cfg *config

	// The running process; replaced by Restart.
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error

	closeOnce sync.Once
	closeErr  error

	mu       sync.Mutex
	accounts map[string]bool
	counter  int
}

// Start launches Prosody in a fresh directory under dir (os.MkdirTemp if
// dir is empty). The caller must Close the Server.
func Start(ctx context.Context, dir string, opts ...Option) (*Server, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if _, err := exec.LookPath("prosody"); err != nil {
		return nil, ErrProsodyMissing
	}
	if _, err := exec.LookPath("prosodyctl"); err != nil {
		return nil, ErrProsodyMissing
	}
	owned := dir == ""
	if owned {
		d, err := os.MkdirTemp("", "prosodytest-")
		if err != nil {
			return nil, fmt.Errorf("prosodytest: temp dir: %w", err)
		}
		dir = d
	}
	// A port picked free can be taken again before Prosody binds it; try
	// a few times with fresh ports.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(ctx, dir, &cfg)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	if owned {
		_ = os.RemoveAll(dir)
	}
	return nil, lastErr
}

// errPortTaken means Prosody could not bind one of the picked ports.
var errPortTaken = errors.New("prosodytest: port already in use")

func start(ctx context.Context, dir string, cfg *config) (*Server, error) {
	s := &Server{
		Domain:     Domain,
		Dir:        dir,
		ConfigFile: filepath.Join(dir, "prosody.cfg.lua"),
		CAFile:     filepath.Join(dir, "cert.pem"),
		KeyFile:    filepath.Join(dir, "key.pem"),
		LogFile:    filepath.Join(dir, "prosody.log"),
		TURN:       cfg.turn,
		cfg:        cfg,
		accounts:   map[string]bool{},
	}
	for _, sub := range []string{"data", "certs"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("prosodytest: %w", err)
		}
	}
	_ = os.Remove(s.LogFile)
	_ = os.Remove(filepath.Join(dir, "prosody.out"))
	if _, err := os.Stat(s.CAFile); err != nil {
		name := Domain
		if cfg.certName != "" {
			name = cfg.certName
		}
		if err := writeCertificate(s.CAFile, s.KeyFile, name, cfg.certIPs...); err != nil {
			return nil, err
		}
	}
	c2s, err := freePort()
	if err != nil {
		return nil, err
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(c2s))
	proxyPort := 0
	if cfg.proxy65 {
		if proxyPort, err = freePort(); err != nil {
			return nil, err
		}
		s.ProxyJID = "proxy." + Domain
		s.ProxyAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(proxyPort))
	}
	componentPort := 0
	if cfg.component != nil {
		if componentPort, err = freePort(); err != nil {
			return nil, err
		}
		s.ComponentJID = cfg.component.subdomain + "." + Domain
		s.ComponentAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(componentPort))
		s.ComponentSecret = cfg.component.secret
	}
	if err := os.WriteFile(s.ConfigFile, []byte(renderConfig(s, cfg, c2s, proxyPort, componentPort)), 0o600); err != nil {
		return nil, fmt.Errorf("prosodytest: write config: %w", err)
	}
	if err := s.launch(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// launch runs Prosody on s's config and waits until it serves. The log is
// appended to, so readiness is judged on what this run wrote.
func (s *Server) launch(ctx context.Context) error {
	var logStart int64
	if fi, err := os.Stat(s.LogFile); err == nil {
		logStart = fi.Size()
	}
	out, err := os.OpenFile(filepath.Join(s.Dir, "prosody.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("prosodytest: %w", err)
	}
	cmd := exec.Command("prosody", "--config", s.ConfigFile, "-F")
	cmd.Dir = s.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = out.Close()
		return fmt.Errorf("prosodytest: start prosody: %w", err)
	}
	exited := make(chan struct{})
	s.cmd, s.exited = cmd, exited
	go func() {
		s.waitErr = cmd.Wait()
		_ = out.Close()
		close(exited)
	}()
	if err := s.waitReady(ctx, logStart); err != nil {
		_ = s.stop()
		return err
	}
	return nil
}

// Restart stops Prosody (as Close does) and starts it again on the same
// configuration, ports and data, for tests of reconnection after a server
// restart. Connected clients and components see their streams end. It must
// not run concurrently with Close.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.Resume(ctx)
}

// Stop stops Prosody (as Close does) but keeps its configuration, ports
// and data, for tests of what clients do while their server is down:
// connections to its ports are refused until Resume. It must not run
// concurrently with Close or Resume.
func (s *Server) Stop() error { return s.stop() }

// Resume starts Prosody again after Stop, on the same configuration,
// ports and data, and waits until it serves.
func (s *Server) Resume(ctx context.Context) error { return s.launch(ctx) }

var activated = regexp.MustCompile(`Activated service '(c2s|proxy65|component)' on \[127\.0\.0\.1\]:(\d+)`)

// waitReady polls the log written from logStart on until c2s (and proxy65,
// and the component port, if configured) listen and the host's certificate
// is loaded, or Prosody reports a failure.
func (s *Server) waitReady(ctx context.Context, logStart int64) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		log, _ := os.ReadFile(s.LogFile)
		if int64(len(log)) >= logStart {
			log = log[logStart:]
		}
		if bytes.Contains(log, []byte("Failed to open server port")) || bytes.Contains(log, []byte("Address already in use")) {
			return fmt.Errorf("%w: %s", errPortTaken, s.tail())
		}
		services := map[string]bool{}
		for _, m := range activated.FindAllSubmatch(log, -1) {
			services[string(m[1])] = true
		}
		certs := bytes.Contains(log, []byte(Domain+":tls\tinfo\tCertificates loaded"))
		if services["c2s"] && certs && (!s.cfg.proxy65 || services["proxy65"]) &&
			(s.cfg.component == nil || services["component"]) {
			return nil
		}
		if bytes.Contains(log, []byte("Error loading certificate")) || bytes.Contains(log, []byte("\terror\t")) {
			return fmt.Errorf("prosodytest: prosody reported an error: %s", s.tail())
		}
		select {
		case <-s.exited:
			return fmt.Errorf("prosodytest: prosody exited during start (%v): %s", s.waitErr, s.tail())
		case <-ctx.Done():
			return fmt.Errorf("prosodytest: prosody not ready: %w: %s", ctx.Err(), s.tail())
		case <-tick.C:
		}
	}
}

// tail returns the end of Prosody's log and console output, for errors.
func (s *Server) tail() string {
	var b strings.Builder
	for _, f := range []string{s.LogFile, filepath.Join(s.Dir, "prosody.out")} {
		data, _ := os.ReadFile(f)
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		if len(data) > 0 {
			fmt.Fprintf(&b, "\n--- %s ---\n%s", filepath.Base(f), data)
		}
	}
	return b.String()
}

// Log returns Prosody's log so far.
func (s *Server) Log() string {
	data, _ := os.ReadFile(s.LogFile)
	return string(data)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("prosodytest: pick port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// TLSConfig returns a client TLS configuration trusting the server's
// certificate for Domain.
func (s *Server) TLSConfig() (*tls.Config, error) {
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		return nil, fmt.Errorf("prosodytest: read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("prosodytest: no certificate in %s", s.CAFile)
	}
	return &tls.Config{RootCAs: pool, ServerName: s.Domain, MinVersion: tls.VersionTLS12}, nil
}

// CreateAccount registers local@Domain with password using prosodyctl. It
// works while the server runs (internal storage is read on each login).
func (s *Server) CreateAccount(ctx context.Context, local, password string) (Account, error) {
	cmd := exec.CommandContext(ctx, "prosodyctl", "--config", s.ConfigFile, "register", local, s.Domain, password)
	cmd.Dir = s.Dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return Account{}, fmt.Errorf("prosodytest: prosodyctl register %s: %w: %s", local, err, out)
	}
	// prosodyctl exits 0 on some failures; the account file is the truth.
	if _, err := os.Stat(s.accountFile(local)); err != nil {
		return Account{}, fmt.Errorf("prosodytest: prosodyctl register %s created no account: %s", local, out)
	}
	s.mu.Lock()
	s.accounts[local] = true
	s.mu.Unlock()
	return Account{Local: local, JID: local + "@" + s.Domain, Password: password}, nil
}

// accountFile is where Prosody's internal storage keeps local's account:
// util.datamanager escapes every non-alphanumeric byte as %xx.
func (s *Server) accountFile(local string) string {
	enc := func(v string) string {
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, "%%%02x", c)
			}
		}
		return b.String()
	}
	return filepath.Join(s.Dir, "data", enc(s.Domain), "accounts", enc(local)+".dat")
}

// NewAccount creates an account with a unique localpart starting with
// prefix and a random password, failing tb on error. Tests sharing one
// Server get distinct accounts this way.
func (s *Server) NewAccount(tb testing.TB, prefix string) Account {
	tb.Helper()
	s.mu.Lock()
	s.counter++
	local := fmt.Sprintf("%s-%d", strings.ToLower(prefix), s.counter)
	s.mu.Unlock()
	acc, err := s.CreateAccount(context.Background(), local, randomPassword())
	if err != nil {
		tb.Fatal(err)
	}
	return acc
}

// Close stops Prosody (SIGTERM, then SIGKILL after a grace period) and
// removes nothing: the directory belongs to whoever made it (Start with an
// empty dir removes its own temporary directory).
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.stop() })
	return s.closeErr
}

// stopGrace is how long Prosody has to exit after SIGTERM. It usually
// takes well under a second, but with both of CI's cores busy running
// other packages' tests a clean shutdown once took longer than 5 s (and
// the test that owned it failed in its cleanup), so the grace is generous:
// it only costs time when Prosody is really stuck.
const stopGrace = 15 * time.Second

func (s *Server) stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(terminateSignal)
	select {
	case <-s.exited:
	case <-time.After(stopGrace):
		_ = s.cmd.Process.Kill()
		<-s.exited
		if log := s.Log(); prosodyShutdownBug(log) || shutdownCompleted(log) {
			// Prosody's own bug, or its process lagging after a clean
			// shutdown, not the test's: nothing to report.
			return nil
		}
		return fmt.Errorf("prosodytest: prosody did not stop on SIGTERM, killed: %s", s.tail())
	}
	return nil
}

// shutdownCompleted reports whether the last Prosody that log tells of
// (the text after its last "Hello and welcome") finished its shutdown:
// "Shutdown complete" is its last step before the process exits. A
// fresh-clone CI run (2026-12-07, xmpp's TestStreamResumption, the
// second Prosody of a Stop and Resume) saw one log it and then not exit
// within the grace period on the loaded machine; every client had been
// disconnected and every port closed by then, so killing it loses
// nothing.
func shutdownCompleted(log string) bool {
	if i := strings.LastIndex(log, "Hello and welcome to Prosody"); i >= 0 {
		log = log[i:]
	}
	return strings.Contains(log, "\tShutdown complete")
}

// prosodyShutdownBug reports whether log shows Prosody 0.12's shutdown
// dying on a client session that was being destroyed at the same moment
// (a client that disconnected as SIGTERM came): mod_c2s's shutdown calls
// close on the half-destroyed session, "attempt to call a nil value
// (method 'close')", the shutdown runner errors out and Prosody never
// exits. A fresh-clone CI run (tests/resilience, a killed sender's
// connection closing as the test ended) failed on it once, 2026-12-07;
// killing Prosody then is all there is to do.
func prosodyShutdownBug(log string) bool {
	return strings.Contains(log, "Received SIGTERM") &&
		strings.Contains(log, "mod_c2s.lua") && strings.Contains(log, "attempt to call a nil value (method 'close')")
}

// New starts a Server for one test and stops it in tb.Cleanup. A missing
// prosody fails the test with the install hint.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	skipShort(tb)
	s, err := Start(context.Background(), tb.TempDir(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
		if tb.Failed() {
			tb.Logf("prosody log:%s", s.tail())
		}
	})
	return s
}

var (
	sharedMu  sync.Mutex
	shared    *Server
	sharedErr error
)

// Run starts one Server shared by the whole test binary, runs m, stops the
// server and returns m's exit code. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(prosodytest.Run(m)) }
//
// If Prosody cannot start, the tests still run and Shared fails each of
// them with the reason (so a missing prosody is reported, not skipped).
// With -short no server is started and Shared and New skip.
func Run(m *testing.M, opts ...Option) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	if testing.Short() {
		// make test-unit: no Prosody; Shared skips.
		return m.Run()
	}
	s, err := Start(context.Background(), "", opts...)
	sharedMu.Lock()
	shared, sharedErr = s, err
	sharedMu.Unlock()
	code := m.Run()
	if s != nil {
		if err := s.Close(); err != nil && code == 0 {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
		_ = os.RemoveAll(s.Dir)
	}
	return code
}

// Shared returns the Server started by Run, failing tb if Run was not used
// or the server could not start.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	skipShort(tb)
	sharedMu.Lock()
	s, err := shared, sharedErr
	sharedMu.Unlock()
	if err != nil {
		tb.Fatal(err)
	}
	if s == nil {
		tb.Fatal("prosodytest: Shared needs prosodytest.Run in TestMain")
	}
	return s
}

// skipShort skips integration tests under -short (make test-unit), the
// one explicit way to run without Prosody.
func skipShort(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("prosodytest: needs Prosody; skipped with -short")
	}
}
