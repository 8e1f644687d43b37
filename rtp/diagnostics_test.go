package rtp

import (
	"context"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// failedStats runs a PeerConnection with servers against a peer whose
// candidates all point at the discard port, waits until ICE fails and
// returns the last stats snapshot before the failure, as the call does
// when it ends with connectivity-error.
func failedStats(t *testing.T, servers []webrtc.ICEServer) webrtc.StatsReport {
	t.Helper()
	newPC := func(s []webrtc.ICEServer) *webrtc.PeerConnection {
		se := webrtc.SettingEngine{}
		LoopbackOnly(&se)
		se.SetICETimeouts(time.Second, 2*time.Second, 200*time.Millisecond)
		pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{ICEServers: s})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pc.Close() })
		return pc
	}
	a, b := newPC(servers), newPC(nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	w := startICEWatch(ctx, a, 200*time.Millisecond, func(f func()) bool { f(); return true }, &wg)
	// Runs before the PeerConnections' cleanups (LIFO): the watch is
	// over before they close.
	t.Cleanup(func() { cancel(); wg.Wait() })
	failed := make(chan struct{})
	a.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s == webrtc.ICEConnectionStateFailed {
			close(failed)
		}
	})
	if _, err := a.CreateDataChannel("probe", nil); err != nil {
		t.Fatal(err)
	}
	offer, err := a.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	if err := b.SetRemoteDescription(offer); err != nil {
		t.Fatal(err)
	}
	answer, err := b.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(b)
	if err := b.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	dead := regexp.MustCompile(`(a=candidate:\S+ \d \S+ \d+ \S+ )\d+`)
	sdp := dead.ReplaceAllString(b.LocalDescription().SDP, "${1}9")
	if err := a.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-failed:
	case <-time.After(60 * time.Second):
		t.Fatal("ICE did not fail")
	}
	if r := a.GetStats(); len(r) > 0 {
		for _, s := range r {
			if _, ok := s.(webrtc.ICECandidateStats); ok {
				t.Log("pion kept candidates after ICE failed; the watch is no longer needed")
			}
		}
	}
	cancel()
	wg.Wait()
	return w.snapshot()
}

// deadUDPPort returns a loopback UDP port nobody listens on.
func deadUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	_ = c.Close()
	return addr
}

// TestDiagnoseICE checks that the diagnostics tell the three failures an
// operator must tell apart, from real pion stats: a firewall dropping
// every check, a TURN server that cannot be reached, and a TURN server
// that refuses the credentials.
func TestDiagnoseICE(t *testing.T) {
	good := startTURN(t)[0]
	turnAddr := strings.TrimSuffix(strings.TrimPrefix(good.URLs[0], "turn:"), "?transport=udp")
	dead := deadUDPPort(t)
	cases := []struct {
		name    string
		servers []webrtc.ICEServer
		cause   string
		local   map[string]int
	}{
		{
			name:  "firewall",
			cause: "got no answer: a firewall or NAT filters the path, and no relay is configured",
			local: map[string]int{"host": 1},
		},
		{
			name: "turn-unreachable",
			servers: []webrtc.ICEServer{{URLs: []string{"stun:" + dead}},
				{URLs: []string{"turn:" + dead + "?transport=udp"}, Username: "caller", Credential: "relay-pass"}},
			cause: "no relay candidate: the TURN server is unreachable",
			local: map[string]int{"host": 1},
		},
		{
			name: "turn-credentials",
			servers: []webrtc.ICEServer{{URLs: []string{"stun:" + turnAddr}},
				{URLs: good.URLs, Username: good.Username, Credential: "wrong"}},
			cause: "refused the allocation (credentials or quota)",
			local: map[string]int{"host": 1, "srflx": 1},
		},
		{
			name:    "relay-filtered",
			servers: []webrtc.ICEServer{good},
			cause:   "not even through the relay",
			local:   map[string]int{"host": 1, "relay": 1, "relay/udp": 1},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := DiagnoseICE(failedStats(t, c.servers), c.servers)
			t.Log(d)
			if !strings.Contains(d.Cause, c.cause) {
				t.Errorf("cause %q, want it to say %q", d.Cause, c.cause)
			}
			for typ, n := range c.local {
				if d.Local[typ] < n {
					t.Errorf("local %v, want at least %d %s", d.Local, n, typ)
				}
			}
			if d.Remote["host"] == 0 || len(d.Pairs) == 0 {
				t.Errorf("remote %v, %d pairs: want the peer's host candidates paired", d.Remote, len(d.Pairs))
			}
			for _, p := range d.Pairs {
				if p.State == "succeeded" {
					t.Errorf("pair %+v succeeded towards a dead port", p)
				}
			}
			if s := d.String(); !strings.Contains(s, "gathered local host×") || !strings.Contains(s, "pairs tried") {
				t.Errorf("String() = %q lacks the candidate counts or the pairs", s)
			}
		})
	}
}

// TestDiagnoseICENoRemote: without the peer's candidates the verdict is
// about signalling, whatever the network.
func TestDiagnoseICENoRemote(t *testing.T) {
	d := DiagnoseICE(webrtc.StatsReport{
		"c1": webrtc.ICECandidateStats{ID: "c1", Type: webrtc.StatsTypeLocalCandidate, CandidateType: webrtc.ICECandidateTypeHost, IP: "10.0.0.2", Port: 5000},
	}, nil)
	if !strings.Contains(d.Cause, "peer sent no candidates") || d.Local["host"] != 1 {
		t.Errorf("diagnostics %+v", d)
	}
	if got := d.String(); !strings.HasPrefix(got, "gathered local host×1 no relay; remote none; 0 pairs tried") {
		t.Errorf("String() = %q", got)
	}
}

// TestCauseBlamesTheRightSide: a side that gathered nothing says so
// instead of blaming the peer for sending no candidates (issue 13: a host
// with only loopback addresses outside loopback mode).
func TestCauseBlamesTheRightSide(t *testing.T) {
	for _, c := range []struct {
		name          string
		local, remote map[string]int
		want          string
	}{
		{"nothing either side", map[string]int{}, map[string]int{}, "we gathered no candidate"},
		{"nothing here, some there", map[string]int{}, map[string]int{"host": 1}, "we gathered no candidate"},
		{"some here, nothing there", map[string]int{"host": 1}, map[string]int{}, "the peer sent no candidates"},
		// An ICE restart after the relay went down (issue 17): neither
		// side gathers, and the relay is to blame.
		{"relay down, nothing either side", map[string]int{}, map[string]int{}, "the TURN server is unreachable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := ICEDiagnostics{Local: c.local, Remote: c.remote}
			if strings.HasPrefix(c.name, "relay down") {
				d.TURN = []string{"turn:203.0.113.10:3478?transport=udp"}
			}
			if got := d.cause(nil); !strings.Contains(got, c.want) {
				t.Fatalf("cause %q, want %q", got, c.want)
			}
		})
	}
}
