package nat

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/netnstest"
	"github.com/jingled/jingled/internal/prosodytest"
)

// Ports of the services on the public host. The relay's TLS port is 443
// (netnstest.OpenPort), the one port the udp-blocked variant's router B
// lets out; it serves plain TURN over TCP too.
const (
	xmppPort    = 5222
	turnPort    = 3478
	turnTLSPort = netnstest.OpenPort
	metricsAddr = "127.0.0.1:9477"
	// turnSecret is shared by the relay and Prosody, which hands out
	// time-limited credentials made from it (XEP-0215).
	turnSecret = "nat-shared-secret"
)

// xmpp443IP is the public host's second address, where XMPP is served on
// 443 (netnstest.OpenPort) for clients behind a "443 only" firewall: the
// relay holds 443 on the first, as a separate XMPP and TURN host would.
var xmpp443IP = netip.MustParseAddr("203.0.113.11")

func init() {
	roles["server"] = roleServer
}

// serverInput configures the public host: Prosody always, jingled's TURN
// relay unless NoTURN.
type serverInput struct {
	Dir       string            `json:"dir"`
	IP        string            `json:"ip"`
	Jingled   string            `json:"jingled"`
	Accounts  []string          `json:"accounts"`
	TURNUsers map[string]string `json:"turn_users"`
	NoTURN    bool              `json:"no_turn"`
}

// serverInfo is what the public host tells the test once it is ready.
type serverInfo struct {
	XMPPAddr string `json:"xmpp_addr"`
	// XMPP443Addr reaches the same Prosody on port 443.
	XMPP443Addr string            `json:"xmpp443_addr"`
	CAFile      string            `json:"ca_file"`
	Accounts    map[string]string `json:"accounts"` // local -> password
	Domain      string            `json:"domain"`
}

// roleServer runs Prosody (listening on the public address as well as
// loopback, and on xmpp443IP:443) and the real jingled binary as a
// TURN-only relay, both inside the public namespace. Prosody announces
// the relay (XEP-0215) with exactly what `jingled --xmpp-config prosody`
// prints for the relay's configuration. Commands: "metrics" prints
// jingled's Prometheus text; "stop-turn" ends jingled; "restart-turn"
// kills it and starts it again on the same ports.
func roleServer(ctx context.Context, in []byte, cmds <-chan string, out *json.Encoder) error {
	var si serverInput
	if err := json.Unmarshal(in, &si); err != nil {
		return err
	}
	var (
		turn  *exec.Cmd
		popts []prosodytest.Option
	)
	if !si.NoTURN {
		path, err := writeJingledConfig(si)
		if err != nil {
			return err
		}
		lua, err := exec.CommandContext(ctx, si.Jingled, "--config", path, "--xmpp-config", "prosody").Output()
		if err != nil {
			return fmt.Errorf("jingled --xmpp-config prosody: %w", err)
		}
		popts = append(popts, prosodytest.WithModules("external_services"), prosodytest.WithGlobalConfig(string(lua)))
		if turn, err = startJingled(ctx, si, path); err != nil {
			return err
		}
		defer func() {
			_ = turn.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = turn.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = turn.Process.Kill()
				<-done
			}
		}()
	}
	srv, err := prosodytest.Start(ctx, filepath.Join(si.Dir, "prosody"), popts...)
	if err != nil {
		return err
	}
	defer srv.Close()
	info := serverInfo{CAFile: srv.CAFile, Domain: srv.Domain, Accounts: map[string]string{}}
	// Prosody listens on loopback (prosodytest's choice); the public
	// address's XMPP port reaches it through DNAT, which rewrites only the
	// destination, so Prosody still sees each client's public source.
	if err := exposeLoopback(ctx, si.IP, xmppPort, srv.Addr); err != nil {
		return err
	}
	info.XMPPAddr = net.JoinHostPort(si.IP, strconv.Itoa(xmppPort))
	if out, err := exec.CommandContext(ctx, "ip", "addr", "add", netip.PrefixFrom(xmpp443IP, netnstest.PublicPrefix.Bits()).String(), "dev", "br0").CombinedOutput(); err != nil {
		return fmt.Errorf("adding %s: %w: %s", xmpp443IP, err, out)
	}
	if err := exposeLoopback(ctx, xmpp443IP.String(), netnstest.OpenPort, srv.Addr); err != nil {
		return err
	}
	info.XMPP443Addr = net.JoinHostPort(xmpp443IP.String(), strconv.Itoa(netnstest.OpenPort))
	for _, name := range si.Accounts {
		pw := name + "-secret"
		if _, err := srv.CreateAccount(ctx, name, pw); err != nil {
			return err
		}
		info.Accounts[name] = pw
	}
	if err := out.Encode(info); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-cmds:
			switch c {
			case "metrics":
				m, err := scrape(ctx)
				if err != nil {
					return err
				}
				if err := out.Encode(m); err != nil {
					return err
				}
			case "stop-turn":
				if turn != nil {
					_ = turn.Process.Signal(syscall.SIGKILL)
				}
				if err := out.Encode("stopped"); err != nil {
					return err
				}
			case "restart-turn":
				// A crash and restart: the relay's allocations are lost,
				// the new process listens on the same ports.
				if turn != nil {
					_ = turn.Process.Signal(syscall.SIGKILL)
					_ = turn.Wait()
				}
				path := filepath.Join(si.Dir, "jingled.toml")
				var err error
				if turn, err = startJingled(ctx, si, path); err != nil {
					return err
				}
				if err := out.Encode("restarted"); err != nil {
					return err
				}
			}
		}
	}
}

// exposeLoopback forwards TCP ip:port to the loopback address to.
// route_localnet lets the kernel route DNATed packets to 127.0.0.0/8.
func exposeLoopback(ctx context.Context, ip string, port int, to string) error {
	for _, args := range [][]string{
		{"sysctl", "-q", "-w", "net.ipv4.conf.all.route_localnet=1"},
		{"iptables", "-w", "-t", "nat", "-A", "PREROUTING", "-d", ip, "-p", "tcp", "--dport", strconv.Itoa(port), "-j", "DNAT", "--to-destination", to},
	} {
		if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %w: %s", args, err, out)
		}
	}
	return nil
}

// writeJingledConfig writes a TURN-only configuration: UDP and TCP on
// turnPort, TLS (and plain TCP) on 443, static users for the tests that
// pass credentials and a secret for Prosody's, all three advertised.
func writeJingledConfig(si serverInput) (string, error) {
	users := make([]string, 0, len(si.TURNUsers))
	for u, p := range si.TURNUsers {
		users = append(users, fmt.Sprintf("%s = %q", u, p))
	}
	conf := fmt.Sprintf(`[log]
level = "debug"
[http]
listen = %q
[turn]
enabled = true
realm = "jingled.test"
address = %q
port = %d
tls_port = %d
tls_cert = %q
tls_key = %q
udp_sockets = 1
allow_peers = [%q]
public_host = %q
advertise = ["udp:%d", "tcp:%d", "tls:%d"]
secrets = [%q]
[turn.users]
%s
`, metricsAddr, si.IP, turnPort, turnTLSPort,
		filepath.Join(si.Dir, "turn-cert.pem"), filepath.Join(si.Dir, "turn-key.pem"),
		netnstest.PublicPrefix.String(), si.IP, turnPort, turnPort, turnTLSPort, turnSecret, strings.Join(users, "\n"))
	path := filepath.Join(si.Dir, "jingled.toml")
	return path, os.WriteFile(path, []byte(conf), 0o600)
}

// startJingled starts jingled with the configuration at path, then waits
// until the relay answers on TCP.
func startJingled(ctx context.Context, si serverInput, path string) (*exec.Cmd, error) {
	cmd := exec.Command(si.Jingled, "--config", path)
	logf, err := os.Create(filepath.Join(si.Dir, "jingled.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting jingled: %w", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(si.IP, strconv.Itoa(turnPort)), time.Second)
		if err == nil {
			_ = c.Close()
			return cmd, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			log, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("jingled did not listen: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrape returns jingled's jingled_turn_* series as name{labels} -> value.
func scrape(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+metricsAddr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping jingled: %w", err)
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "jingled_turn_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m, sc.Err()
}

// publicHost is the running server role.
type publicHost struct {
	*proc
	info serverInfo
	dir  string
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// binary builds one of our commands (cmd/NAME) once per test binary: the
// tests run the real programs, jingled as the relay and the jingle CLI
// as the peers.
func binary(t *testing.T, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "jingled-nat-bin-")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", path, "github.com/jingled/jingled/cmd/"+name).CombinedOutput()
	if err != nil {
		t.Fatalf("building %s: %v: %s", name, err, out)
	}
	built[name] = path
	return path
}

// removeBinaries deletes what binary built.
func removeBinaries() {
	buildMu.Lock()
	defer buildMu.Unlock()
	for _, p := range built {
		_ = os.RemoveAll(filepath.Dir(p))
	}
}

// startPublic starts the public host of topo: Prosody with the accounts
// and, unless noTURN, jingled's relay with a certificate for PublicIP.
func startPublic(t *testing.T, topo *netnstest.Topology, accounts []string, noTURN bool) *publicHost {
	t.Helper()
	dir := t.TempDir()
	if err := writeCert(dir, topo.PublicIP); err != nil {
		t.Fatal(err)
	}
	in := serverInput{Dir: dir, IP: topo.PublicIP.String(), Accounts: accounts, TURNUsers: turnUsers, NoTURN: noTURN}
	if !noTURN {
		in.Jingled = binary(t, "jingled")
	}
	p := startRole(t, topo, topo.Public, "server", in)
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "jingled.log"))
			if len(log) > 8000 {
				log = log[len(log)-8000:]
			}
			t.Logf("--- jingled.log (end):\n%s", log)
		}
	})
	h := &publicHost{proc: p, dir: dir}
	p.next(t, &h.info, 60*time.Second)
	return h
}

// metrics asks the server role for jingled's relay counters.
func (h *publicHost) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	h.send(t, "metrics")
	var m map[string]float64
	h.next(t, &m, 10*time.Second)
	return m
}

// relayedBytes is what the relay carried between its clients and their
// peers, both directions.
func (h *publicHost) relayedBytes(t *testing.T) float64 {
	t.Helper()
	m := h.metrics(t)
	return m[`jingled_turn_relayed_bytes_total{direction="to_peer"}`] + m[`jingled_turn_relayed_bytes_total{direction="from_peer"}`]
}

// turnUsers are the relay's static long-term credentials.
var turnUsers = map[string]string{"alice": "alice-relay-pass", "bob": "bob-relay-pass"}

// writeCert writes a self-signed certificate for ip (turn-cert.pem,
// turn-key.pem) that the peers trust through SSL_CERT_FILE, so TURN over
// TLS is verified for real.
func writeCert(dir string, ip netip.Addr) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "jingled NAT test relay"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{ip.AsSlice()},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "turn-cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "turn-key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
}
