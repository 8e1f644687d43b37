package turnserver

import (
	"crypto/tls"
	"net"
	"os"
	"testing"
	"time"

	"github.com/pion/turn/v5"
)

func servedSerial(t *testing.T, addr net.Addr) int64 {
	t.Helper()
	c, err := tls.Dial("tcp", addr.String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // Reads the served certificate only.
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	defer c.Close()

	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

func TestTLSRelayAndCertificateReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeTestCert(t, dir, 1)
	cfg := loopbackConfig()
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	cfg.AllowPeers = []string{"127.0.0.1/32"}
	s := startServer(t, cfg)
	if got := servedSerial(t, s.Addrs().TLS); got != 1 {
		t.Fatalf("serial %d, want 1", got)
	}

	// A pion client relays over TLS.
	peer := echoPeer(t)
	tc, err := tls.Dial("tcp", s.Addrs().TLS.String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // Self-signed test cert.
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	_, relay := pionClient(t, s.Addrs().TLS, turn.NewSTUNConn(tc), "alice", "wonderland", cfg.Realm)
	roundTrip(t, relay, peer.LocalAddr())

	// Renewal on disk, then the SIGHUP path.
	writeTestCert(t, dir, 2)
	if err := s.ReloadCertificate(); err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, s.Addrs().TLS); got != 2 {
		t.Fatalf("after reload: serial %d, want 2", got)
	}
	// The open TLS allocation is untouched by the reload.
	roundTrip(t, relay, peer.LocalAddr())
}

func TestCertificateFileWatch(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeTestCert(t, dir, 7)
	r, err := newCertReloader(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if r.changed() {
		t.Fatal("changed right after load")
	}
	// The rewrite has the same size, so only the mtime tells it apart. A
	// sleep is not enough on filesystems with coarse timestamps (FAT: 2 s,
	// some network filesystems: 1 s): pin both writes to clearly different
	// times instead.
	setMtime(t, time.Now().Add(-2*time.Hour), certFile, keyFile)
	if _, err := r.reload(); err != nil {
		t.Fatal(err)
	}
	if r.changed() {
		t.Fatal("changed right after reload")
	}
	writeTestCert(t, dir, 8)
	setMtime(t, time.Now().Add(-time.Hour), certFile, keyFile)
	if !r.changed() {
		t.Fatal("rewrite not noticed")
	}
	if changed, err := r.reload(); err != nil || !changed {
		t.Fatalf("reload: %v %v", changed, err)
	}
	c, _ := r.getCertificate(nil)
	if c.Leaf == nil {
		t.Fatal("no leaf")
	}
	if got := c.Leaf.SerialNumber.Int64(); got != 8 {
		t.Fatalf("serial %d, want 8", got)
	}
	// A broken file keeps the old certificate.
	if err := writeFile(certFile, "garbage"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.reload(); err == nil {
		t.Fatal("garbage certificate accepted")
	}
	c, _ = r.getCertificate(nil)
	if got := c.Leaf.SerialNumber.Int64(); got != 8 {
		t.Fatalf("after failed reload: serial %d, want 8", got)
	}
}

func setMtime(t *testing.T, at time.Time, files ...string) {
	t.Helper()
	for _, f := range files {
		if err := os.Chtimes(f, at, at); err != nil {
			t.Fatal(err)
		}
	}
}
