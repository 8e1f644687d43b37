package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// statusPage serves the status page (/) and its JSON twin
// (/status.json) from one snapshot per request.
type statusPage struct {
	source func(now time.Time) statusInput
	gather prometheus.Gatherer

	mu    sync.Mutex
	rates relayRates // the last bit rates and where the next start
}

// newStatusPage serves snapshots of source, with the counters of g.
// Bit rates are measured from the previous measurement (at least a
// second back), the first one from started, when every counter was zero.
func newStatusPage(source func(time.Time) statusInput, g prometheus.Gatherer, started time.Time) *statusPage {
	return &statusPage{source: source, gather: g, rates: relayRates{Base: relaySample{At: started}}}
}

func (p *statusPage) snapshot(now time.Time) snapshot {
	in := p.source(now)
	fs, err := p.gather.Gather()
	// A failed gather still returns what it could; the page says why.
	in.Families = fs
	if err != nil {
		in.Health = errors.Join(in.Health, fmt.Errorf("metrics: %w", err))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	in.Rates = p.rates
	s, next := buildSnapshot(in)
	p.rates = next
	return s
}

// securityHeaders keep the page self-contained in the browser too: no
// script, no request anywhere, not even to this server, beyond the page
// itself and its refresh.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func (p *statusPage) serveHTML(w http.ResponseWriter, _ *http.Request) {
	var b bytes.Buffer
	if err := renderStatus(&b, p.snapshot(time.Now())); err != nil {
		http.Error(w, "rendering the status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

func (p *statusPage) serveJSON(w http.ResponseWriter, _ *http.Request) {
	s := p.snapshot(time.Now())
	securityHeaders(w)
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(s)
}
