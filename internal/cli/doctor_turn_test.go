package cli

import (
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/doctor"
	"github.com/jingled/jingled/turnserver"
	"github.com/jingled/jingled/xmpp/extdisco"
)

// TestDoctorRelayChecks runs the doctor's STUN/TURN checks against our
// relay in this process, on loopback: the probes' pion clients, the step
// timeouts and the teardown run under -race, and no goroutine is left.
// (tests/doctor runs the same checks from the real binaries against a
// relay on a public-looking address.)
func TestDoctorRelayChecks(t *testing.T) {
	const secret = "s3cret"
	for _, tc := range []struct {
		name   string
		allow  []string
		secret string // Prosody's side; default secret
		dead   bool   // the service points at a socket that never answers
		want   map[string]doctor.Severity
		says   map[string]string
	}{
		{
			name: "default policy on loopback",
			want: map[string]doctor.Severity{
				doctor.IDSTUNBinding: doctor.OK, doctor.IDSTUNNotPublic: doctor.Warning,
				doctor.IDTURNAllocation: doctor.OK, doctor.IDTURNRelayNotPublic: doctor.Error,
				// Loopback is never a relay destination, not even the
				// relay's own relayed address.
				doctor.IDTURNRoundTripFailed: doctor.Error,
				doctor.IDRelayPeerPolicy:     doctor.OK,
			},
			says: map[string]string{doctor.IDTURNRoundTripFailed: "refused a permission to its own relayed address"},
		},
		{
			name:  "loopback allowed",
			allow: []string{"127.0.0.0/8"},
			want: map[string]doctor.Severity{
				doctor.IDTURNAllocation: doctor.OK, doctor.IDTURNRoundTrip: doctor.OK,
				doctor.IDRelayOpenLoopback: doctor.Error,
			},
			says: map[string]string{doctor.IDRelayOpenLoopback: "relayed a datagram to 127.0.0.1:"},
		},
		{
			name:   "wrong secret",
			secret: "other",
			want:   map[string]doctor.Severity{doctor.IDSTUNBinding: doctor.OK, doctor.IDTURNAuthSecret: doctor.Error},
		},
		{
			name: "nothing answers",
			dead: true,
			want: map[string]doctor.Severity{doctor.IDTURNUnreachable: doctor.Error},
			says: map[string]string{doctor.IDTURNUnreachable: "no answer over UDP"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			relay, err := turnserver.New(turnserver.Config{
				Address: "127.0.0.1", Realm: "test", Secrets: []string{secret},
				UDPSockets: 1, AllowPeers: tc.allow,
			}, turnserver.WithEphemeralPorts())
			if err != nil {
				t.Fatal(err)
			}
			port := relay.Addrs().UDP.(*net.UDPAddr).Port
			if tc.dead {
				dead, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
				if err != nil {
					t.Fatal(err)
				}
				defer dead.Close()
				port = dead.LocalAddr().(*net.UDPAddr).Port
			}
			ps := secret
			if tc.secret != "" {
				ps = tc.secret
			}
			user, pass, err := turnserver.GenerateCredentials(ps, "alice", time.Hour, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			srv := extdisco.ICEServer{
				URL: fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", port), Type: "turn",
				Host: "127.0.0.1", Port: port, Transport: "udp", Username: user, Credential: pass,
			}
			d := &doctorRun{
				ep:      &endpoint{log: slog.New(slog.DiscardHandler)},
				report:  &doctor.Report{},
				timeout: 500 * time.Millisecond,
			}
			d.checkServices(t.Context(), []extdisco.ICEServer{srv})
			if err := relay.Close(); err != nil {
				t.Error(err)
			}
			got := map[string]doctor.Finding{}
			for _, f := range d.report.Findings {
				got[f.ID] = f
			}
			for id, sev := range tc.want {
				if f, ok := got[id]; !ok || f.Severity != sev || !strings.Contains(f.What, tc.says[id]) {
					t.Errorf("%s: got %+v, want severity %s saying %q", id, f, sev, tc.says[id])
				}
			}
			if t.Failed() {
				t.Logf("report:\n%s", d.report.Text())
			}
			waitGoroutines(t, before)
		})
	}
}

// waitGoroutines fails t if goroutines started since before are still
// running once they had a few seconds to end (pion's read loops end when
// their sockets close).
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines left behind:\n%s", n-before, buf[:runtime.Stack(buf, true)])
	}
}
