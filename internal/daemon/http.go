package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// httpServer serves /healthz, /metrics and the status page (/ and
// /status.json).
type httpServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// health reports nil while every part of the daemon is up.
type health func() error

func startHTTP(addr string, g prometheus.Gatherer, ok health, status *statusPage, profiles bool) (*httpServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http.listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if err := ok(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	if status != nil {
		// "/{$}" is the root only: any other path stays a 404.
		mux.HandleFunc("GET /{$}", status.serveHTML)
		mux.HandleFunc("GET /status.json", status.serveJSON)
	}
	if profiles {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	}
	h := &httpServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		ln:   ln,
		done: make(chan error, 1),
	}
	go func() {
		err := h.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		h.done <- err
	}()
	return h, nil
}

// Addr is the bound address (useful with port 0).
func (h *httpServer) Addr() string { return h.ln.Addr().String() }

func (h *httpServer) Close(ctx context.Context) error {
	err := h.srv.Shutdown(ctx)
	if serveErr := <-h.done; err == nil {
		err = serveErr
	}
	return err
}
