package daemon

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestPprofOnlyWhenAsked: /debug/pprof/ is served with http.pprof and
// not without (profiles tell a lot about a process; they are opt-in).
func TestPprofOnlyWhenAsked(t *testing.T) {
	for _, on := range []bool{false, true} {
		h, err := startHTTP("127.0.0.1:0", prometheus.NewRegistry(), func() error { return nil }, nil, on)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get("http://" + h.Addr() + "/debug/pprof/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusNotFound
		if on {
			want = http.StatusOK
		}
		if resp.StatusCode != want {
			t.Errorf("pprof %v: /debug/pprof/ answered %d, want %d", on, resp.StatusCode, want)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := h.Close(ctx); err != nil {
			t.Error(err)
		}
		cancel()
	}
}
