package daemon

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jingled/jingled/turnserver"
)

const dashboardPath = "../../docs/grafana/jingled-dashboard.json"

// describeRecorder is a Registerer that keeps what is registered. A
// vector with no series yet gathers nothing, but it describes its name:
// asking every collector for its descriptions lists every metric the
// daemon can ever serve, not only those that moved.
type describeRecorder struct{ cs []prometheus.Collector }

func (r *describeRecorder) Register(c prometheus.Collector) error {
	r.cs = append(r.cs, c)
	return nil
}

func (r *describeRecorder) MustRegister(cs ...prometheus.Collector) { r.cs = append(r.cs, cs...) }

func (r *describeRecorder) Unregister(prometheus.Collector) bool { return false }

var fqNameRE = regexp.MustCompile(`fqName: "([^"]+)"`)

// servedMetricNames lists the series names jingled's /metrics can carry:
// the daemon's registry (registerMetrics, as New does) and a real relay's
// (started on loopback with ephemeral ports, its metrics sent to the
// recorder). Histograms and summaries add their _bucket, _sum and
// _count series.
func servedMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	rec := &describeRecorder{}
	registerMetrics(rec)
	srv, err := turnserver.New(turnserver.Config{Address: "127.0.0.1", Secrets: []string{"dashboard-test-secret"}},
		turnserver.WithEphemeralPorts(), turnserver.WithRegisterer(rec),
		turnserver.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	names := map[string]bool{}
	for _, c := range rec.cs {
		var suffixes []string
		switch c.(type) {
		case prometheus.Histogram, *prometheus.HistogramVec:
			suffixes = []string{"_bucket", "_sum", "_count"}
		case prometheus.Summary, *prometheus.SummaryVec:
			suffixes = []string{"_sum", "_count"}
		}
		ch := make(chan *prometheus.Desc)
		go func() {
			c.Describe(ch)
			close(ch)
		}()
		for d := range ch {
			m := fqNameRE.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("no name in %s", d)
			}
			names[m[1]] = true
			for _, s := range suffixes {
				names[m[1]+s] = true
			}
		}
	}
	if len(names) < 30 || !names["jingled_turn_allocations_open"] || !names["jingled_calls_total"] {
		t.Fatalf("the described metrics look incomplete (%d): %v", len(names), names)
	}
	return names
}

// dashboardQuery is one PromQL expression of the dashboard and where it
// is (a panel's title or a variable's name).
type dashboardQuery struct{ where, expr string }

var labelValuesRE = regexp.MustCompile(`^\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$`)

// dashboardQueries finds every "expr" of every panel target and every
// query variable's PromQL (the metric argument of label_values).
func dashboardQueries(raw []byte) ([]dashboardQuery, error) {
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("dashboard JSON: %w", err)
	}
	var out []dashboardQuery
	var walk func(v any, where string)
	walk = func(v any, where string) {
		switch v := v.(type) {
		case map[string]any:
			if title, ok := v["title"].(string); ok {
				where = title
			}
			if name, ok := v["name"].(string); ok && v["type"] == "query" {
				where = "variable " + name
				q := v["query"]
				if m, ok := q.(map[string]any); ok {
					q = m["query"]
				}
				if s, ok := q.(string); ok {
					if m := labelValuesRE.FindStringSubmatch(s); m != nil {
						s = m[1]
					}
					out = append(out, dashboardQuery{where, s})
				}
			}
			if e, ok := v["expr"].(string); ok {
				out = append(out, dashboardQuery{where, e})
			}
			for k, c := range v {
				if k != "query" {
					walk(c, where)
				}
			}
		case []any:
			for _, c := range v {
				walk(c, where)
			}
		}
	}
	walk(doc, "dashboard")
	return out, nil
}

// unknownMetrics checks the dashboard's queries against known: every
// query must parse and name at least one metric, and every metric must
// be known. It returns the problems, and the metrics the dashboard uses.
func unknownMetrics(raw []byte, known map[string]bool) (problems []string, used map[string]bool, err error) {
	qs, err := dashboardQueries(raw)
	if err != nil {
		return nil, nil, err
	}
	used = map[string]bool{}
	for _, q := range qs {
		names, err := promqlMetricNames(q.expr)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", q.where, err))
			continue
		}
		if len(names) == 0 {
			problems = append(problems, fmt.Sprintf("%s: no metric in %s", q.where, q.expr))
		}
		for _, n := range names {
			used[n] = true
			if !known[n] {
				problems = append(problems, fmt.Sprintf("%s: %s is not a metric jingled serves", q.where, n))
			}
		}
	}
	if len(qs) < 20 {
		problems = append(problems, fmt.Sprintf("only %d queries found: is the dashboard complete?", len(qs)))
	}
	slices.Sort(problems)
	return problems, used, nil
}

// TestDashboardMetricsExist: every metric docs/grafana/jingled-dashboard.json
// queries is one jingled serves, and the dashboard covers what an
// operator watches (relay, calls, set-up time, loss, transfers, rooms).
func TestDashboardMetricsExist(t *testing.T) {
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	known := servedMetricNames(t)
	problems, used, err := unknownMetrics(raw, known)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	for _, want := range []string{
		"jingled_turn_allocations_open", "jingled_turn_relayed_bytes_total",
		"jingled_calls_total", "jingled_sessions", "jingled_call_setup_seconds_bucket",
		"jingled_call_loss_ratio_bucket", "jingled_call_candidate_pairs_total",
		"jingled_file_transfers_total", "jingled_conference_rooms",
		"jingled_conference_participants", "jingled_conference_mixer_cpu_seconds_total",
	} {
		if !used[want] {
			t.Errorf("the dashboard has no panel on %s", want)
		}
	}
}

// TestDashboardCheckCatchesRename: the check above fails when a metric
// the dashboard names is renamed or misspelt (here in the dashboard; a
// rename in the code removes the name from the known set the same way).
func TestDashboardCheckCatchesRename(t *testing.T) {
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	known := servedMetricNames(t)
	for _, tc := range []struct{ name, from, to string }{
		{"renamed in the dashboard", "jingled_call_setup_seconds_bucket", "jingled_call_setup_time_seconds_bucket"},
		{"relay metric misspelt", "jingled_turn_relayed_bytes_total", "jingled_turn_relay_bytes_total"},
		{"variable's metric renamed", "label_values(process_start_time_seconds,", "label_values(process_started_seconds,"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(raw), tc.from) {
				t.Fatalf("the dashboard has no %s to rename", tc.from)
			}
			changed := strings.ReplaceAll(string(raw), tc.from, tc.to)
			problems, _, err := unknownMetrics([]byte(changed), known)
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) == 0 {
				t.Fatalf("renaming %s to %s went unnoticed", tc.from, tc.to)
			}
		})
	}
	t.Run("removed from the code", func(t *testing.T) {
		fewer := map[string]bool{}
		for n := range known {
			if !strings.HasPrefix(n, "jingled_conference_rooms") {
				fewer[n] = true
			}
		}
		if problems, _, _ := unknownMetrics(raw, fewer); len(problems) == 0 {
			t.Fatal("a dashboard metric missing from the daemon went unnoticed")
		}
	})
}

// TestStatusPageMetricsExist: the counters the status page reads are
// served under the names it reads them by.
func TestStatusPageMetricsExist(t *testing.T) {
	known := servedMetricNames(t)
	for _, n := range []string{metricCallsEnded, metricTransfersEnded, metricFileBytes, metricRelayBytes, metricRelayOpen, metricRelayTotal} {
		if !known[n] {
			t.Errorf("the status page reads %s, which jingled does not serve", n)
		}
	}
}
