package proctest

import (
	"fmt"
	"net"
	"reflect"
	"testing"
)

func TestMetricValue(t *testing.T) {
	text := `# HELP jingled_sessions Sessions by state.
jingled_sessions{role="echo",state="active"} 2
jingled_sessions{role="call",state="active"} 1
jingled_sessions{role="echo",state="ended"} 5
jingled_sessions_total 9
go_goroutines 12`
	for _, tc := range []struct {
		name string
		want []string
		sum  float64
	}{
		{"jingled_sessions", nil, 8},
		{"jingled_sessions", []string{`state="active"`}, 3},
		{"jingled_sessions", []string{`role="echo"`, `state="active"`}, 2},
		{"go_goroutines", nil, 12},
		{"missing", nil, 0},
	} {
		if got := MetricValue(text, tc.name, tc.want...); got != tc.sum {
			t.Errorf("MetricValue(%s, %v) = %v, want %v", tc.name, tc.want, got, tc.sum)
		}
	}
}

func TestJSONLines(t *testing.T) {
	lines := []string{`{"type":"media"}`, `not json`, `{"reason":"success"}`}
	if got, want := JSONLines(lines, false), []map[string]any{{"type": "media"}, {"reason": "success"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("without text: %v, want %v", got, want)
	}
	got := JSONLines(lines, true)
	if want := []map[string]any{{"type": "media"}, {"text": "not json"}, {"reason": "success"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("with text: %v, want %v", got, want)
	}
	if Last(got)["reason"] != "success" || len(Last(nil)) != 0 {
		t.Errorf("Last: %v, %v", Last(got), Last(nil))
	}
}

// TestQuietPorts: the ports are even-first, below the ephemeral range,
// and bindable for UDP (both of an RTP pair) right after.
func TestQuietPorts(t *testing.T) {
	low := ephemeralLow()
	for range 20 {
		p := QuietPorts(t, 2)
		if p%2 != 0 || p < 1024 || p+1 >= low {
			t.Fatalf("QuietPorts = %d, want an even port with the next below %d", p, low)
		}
		for _, q := range []int{p, p + 1} {
			c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", q))
			if err != nil {
				t.Fatalf("binding %d: %v", q, err)
			}
			c.Close()
		}
	}
}

// TestQuietPortsSkipsTaken: a taken port is never returned.
func TestQuietPortsSkipsTaken(t *testing.T) {
	p := QuietPorts(t, 1)
	c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if portsFree(p, 1) {
		t.Fatalf("port %d reads as free while bound", p)
	}
}
