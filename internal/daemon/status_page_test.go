package daemon

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestStatusRoutes: / is the page and /status.json its twin, both with
// a policy that forbids loading anything; other paths stay 404.
func TestStatusRoutes(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	m.calls.WithLabelValues("echo", "success").Add(2)
	source := func(now time.Time) statusInput {
		in := peopleInput(false)
		in.Now = now
		return in
	}
	h, err := startHTTP("127.0.0.1:0", reg, func() error { return nil }, newStatusPage(source, reg, time.Now()), false)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get("http://" + h.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	for _, tc := range []struct {
		path, ctype string
		code        int
	}{
		{"/", "text/html; charset=utf-8", 200},
		{"/status.json", "application/json", 200},
		{"/index.html", "", 404},
		{"/status", "", 404},
	} {
		resp, body := get(tc.path)
		if resp.StatusCode != tc.code {
			t.Errorf("%s: %d, want %d", tc.path, resp.StatusCode, tc.code)
			continue
		}
		if tc.code != 200 {
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("%s: Content-Type %q, want %q", tc.path, got, tc.ctype)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", tc.path, csp)
		}
		if strings.Contains(body, "alice@example.org") {
			t.Errorf("%s shows a peer with status_jids off", tc.path)
		}
	}
	_, body := get("/status.json")
	var s snapshot
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("status.json: %v\n%s", err, body)
	}
	if s.Totals.CallsEnded != 2 || s.Live.Calls != 1 || s.Version != "v1" || !s.Health.OK {
		t.Errorf("status.json: %+v", s)
	}
}

func TestDescribeBuild(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	const rev = "2a4ed0e1b2c3d4e5f60718293a4b5c6d7e8f9012"
	for _, tc := range []struct {
		name, version string
		settings      []debug.BuildSetting
		want          string
	}{
		{"release", "v1.2.3", nil, "v1.2.3"},
		{"no vcs", "(devel)", nil, "(devel)"},
		{"empty", "", nil, "(devel)"},
		{"devel with revision", "(devel)", settings("vcs.revision", rev, "vcs.modified", "false"), "(devel) 2a4ed0e1b2c3"},
		{"dirty tree", "(devel)", settings("vcs.revision", rev, "vcs.modified", "true"), "(devel) 2a4ed0e1b2c3+dirty"},
		{"pseudo-version names the revision already", "v0.0.0-20261206063240-2a4ed0e1b2c3+dirty", settings("vcs.revision", rev, "vcs.modified", "true"), "v0.0.0-20261206063240-2a4ed0e1b2c3+dirty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info := &debug.BuildInfo{Main: debug.Module{Version: tc.version}, Settings: tc.settings}
			if got := describeBuild(info); got != tc.want {
				t.Errorf("describeBuild = %q, want %q", got, tc.want)
			}
		})
	}
}
