package turnserver

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// certReloader serves the current certificate to TLS handshakes and swaps
// it when the files change, so a renewed certificate (certbot, acme.sh) is
// picked up without dropping calls on the other listeners. A failed reload
// keeps the previous certificate.
type certReloader struct {
	certFile, keyFile string

	mu    sync.RWMutex
	cert  *tls.Certificate
	stamp string
}

func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile}
	if _, err := r.reload(); err != nil {
		return nil, err
	}

	return r, nil
}

// stamp identifies the files' current content cheaply.
func (r *certReloader) fileStamp() string {
	s := ""
	for _, f := range []string{r.certFile, r.keyFile} {
		if fi, err := os.Stat(f); err == nil {
			s += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
		}
	}

	return s
}

// reload reads the files and reports whether the certificate changed.
func (r *certReloader) reload() (bool, error) {
	stamp := r.fileStamp()
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return false, fmt.Errorf("turnserver: loading TLS certificate: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := r.stamp != stamp
	r.cert, r.stamp = &cert, stamp

	return changed, nil
}

// changed reports whether the files differ from what was loaded.
func (r *certReloader) changed() bool {
	s := r.fileStamp()
	r.mu.RLock()
	defer r.mu.RUnlock()

	return s != r.stamp
}

func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()

	return r.cert, nil
}

// certPollInterval is how often the certificate files are checked.
const certPollInterval = 5 * time.Second
