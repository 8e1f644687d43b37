package daemon

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// promqlMetricNames returns the metric names a PromQL expression selects,
// sorted and without repeats. It is the part of a PromQL parser the
// dashboard check needs (Prometheus's own parser is in the server's
// module, a large dependency for one test): string literals, label
// matchers {...}, ranges and subqueries [...], the label lists of by,
// without, on, ignoring, group_left and group_right, numbers, durations
// and Grafana's $variables are skipped; an identifier followed by "(" is
// a function or an aggregation; keywords are operators; every other
// identifier is a metric name.
func promqlMetricNames(expr string) ([]string, error) {
	var names []string
	i, n := 0, len(expr)
	peek := func(from int) byte { // next non-space byte, or 0
		for ; from < n; from++ {
			if c := expr[from]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				return c
			}
		}
		return 0
	}
	skipSpace := func(from int) int {
		for from < n && strings.IndexByte(" \t\r\n", expr[from]) >= 0 {
			from++
		}
		return from
	}
	for i < n {
		c := expr[i]
		switch {
		case strings.IndexByte(" \t\r\n", c) >= 0:
			i++
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(expr, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '{' || c == '[':
			end, err := skipGroup(expr, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '$':
			i++
			for i < n && isIdentByte(expr[i]) {
				i++
			}
		case c >= '0' && c <= '9' || c == '.' && i+1 < n && expr[i+1] >= '0' && expr[i+1] <= '9':
			// A number or a duration (offset 5m): letters included.
			for i < n && (isIdentByte(expr[i]) || expr[i] == '.') {
				i++
			}
		case isIdentStart(c):
			start := i
			for i < n && isIdentByte(expr[i]) {
				i++
			}
			word := expr[start:i]
			switch strings.ToLower(word) {
			case "by", "without", "on", "ignoring", "group_left", "group_right":
				if j := skipSpace(i); j < n && expr[j] == '(' {
					end, err := skipGroup(expr, j)
					if err != nil {
						return nil, err
					}
					i = end
				}
				continue
			case "and", "or", "unless", "bool", "offset", "atan2", "inf", "nan":
				continue // operators, modifiers and number literals
			}
			if peek(i) == '(' {
				continue // a function or an aggregation
			}
			if next := nextWord(expr, skipSpace(i)); next == "by" || next == "without" {
				continue // an aggregation with its grouping first: sum by (le) (...)
			}
			names = append(names, word)
		case c == '(' || c == ')':
			i++
		case c == '}' || c == ']':
			return nil, fmt.Errorf("%w: unbalanced %q at %d in %s", errPromQL, c, i, expr)
		default:
			i++ // operators, commas, @
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

var errPromQL = errors.New("promql")

// nextWord is the identifier starting at i, lower-cased, or "".
func nextWord(s string, i int) string {
	j := i
	for j < len(s) && isIdentByte(s[j]) {
		j++
	}
	return strings.ToLower(s[i:j])
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentByte(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// skipString returns the index after the string literal starting at i.
func skipString(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q != '`':
			j++
		case s[j] == q:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("%w: unterminated string at %d in %s", errPromQL, i, s)
}

// skipGroup returns the index after the bracket group ({...}, [...],
// (...)) starting at i, strings inside included.
func skipGroup(s string, i int) (int, error) {
	closer := map[byte]byte{'{': '}', '[': ']', '(': ')'}
	stack := []byte{closer[s[i]]}
	for j := i + 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(s, j)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case closer[c] != 0:
			stack = append(stack, closer[c])
		case c == '}' || c == ']' || c == ')':
			if c != stack[len(stack)-1] {
				return 0, fmt.Errorf("%w: %q closes %q at %d in %s", errPromQL, c, stack[len(stack)-1], j, s)
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("%w: unclosed %q at %d in %s", errPromQL, s[i], i, s)
}

func TestPromQLMetricNames(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`jingled_turn_allocations_open{job="$job", instance=~"$instance"}`, []string{"jingled_turn_allocations_open"}},
		{`sum by (direction) (rate(jingled_turn_relayed_bytes_total{job="x"}[$__rate_interval])) * 8`, []string{"jingled_turn_relayed_bytes_total"}},
		{`sum(rate(a_total[5m])) by (le) / ignoring(outcome) group_left(role) sum(rate(b_total[5m]))`, []string{"a_total", "b_total"}},
		{`histogram_quantile(0.95, sum by (le) (rate(x_bucket{l="a}b"}[1m])))`, []string{"x_bucket"}},
		{`a offset 5m and on(instance) b or c unless d > bool 3`, []string{"a", "b", "c", "d"}},
		{`label_replace(m, "dst", "$1", "src", "(.*)")`, []string{"m"}},
		{`max_over_time(rate(m[5m])[1h:1m])`, []string{"m"}},
		{`sum without (instance) (m) / 1e3 + .5 - 0x1f`, []string{"m"}},
		{`m @ start()`, []string{"m"}},
		{`rate(level:metric:rate5m[5m])`, []string{"level:metric:rate5m"}},
		{`a + a`, []string{"a"}},
		{`vector(1)`, nil},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := promqlMetricNames(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	for _, bad := range []string{`m{a="b"`, `rate(m[5m)`, `m{a="b}`, `m}`} {
		if got, err := promqlMetricNames(bad); err == nil {
			t.Errorf("%s: no error, names %q", bad, got)
		}
	}
}
