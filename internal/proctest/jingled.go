package proctest

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Jingled is a running jingled.
type Jingled struct {
	Cmd *exec.Cmd
	// Log is its stdout and stderr.
	Log *SyncBuffer
	// URL is its [http] listener, http://127.0.0.1:port.
	URL string
	// Done receives Cmd.Wait's result once; whoever takes it before the
	// cleanup puts it back.
	Done chan error
}

// StartJingled runs the jingled binary bin with --config configPath,
// whose [http] listener must be 127.0.0.1:httpPort, and waits until
// /healthz answers 200 (every part is up). It fails t if jingled exits
// first or is not healthy within 30 s. At cleanup jingled is killed and,
// if t failed, its log is printed.
func StartJingled(t testing.TB, bin, configPath string, httpPort int) *Jingled {
	t.Helper()
	d := &Jingled{Log: &SyncBuffer{}, Done: make(chan error, 1), URL: fmt.Sprintf("http://127.0.0.1:%d", httpPort)}
	d.Cmd = exec.Command(bin, "--config", configPath)
	d.Cmd.Stdout, d.Cmd.Stderr = d.Log, d.Log
	if err := d.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.Done <- d.Cmd.Wait() }()
	t.Cleanup(func() {
		_ = d.Cmd.Process.Kill()
		<-d.Done
		if t.Failed() {
			t.Logf("jingled log:\n%s", d.Log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(d.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return d
			}
		}
		select {
		case err := <-d.Done:
			t.Fatalf("jingled exited: %v\n%s", err, d.Log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("jingled not healthy after 30s:\n%s", d.Log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Scrape returns jingled's /metrics, failing t if it cannot.
func (d *Jingled) Scrape(t testing.TB) string {
	t.Helper()
	s, err := d.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Metrics is Scrape for goroutines other than the test's, which must not
// call t.Fatal.
func (d *Jingled) Metrics() (string, error) {
	resp, err := http.Get(d.URL + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// MetricValue sums the samples of name in the Prometheus text exposition
// text whose labels contain every one of want (e.g. `role="echo"`).
func MetricValue(text, name string, want ...string) float64 {
	var sum float64
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? ([0-9.e+-]+)$`)
	for _, line := range strings.Split(text, "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ok := true
		for _, w := range want {
			if !strings.Contains(m[1], w) {
				ok = false
			}
		}
		if ok {
			v, _ := strconv.ParseFloat(m[2], 64)
			sum += v
		}
	}
	return sum
}
