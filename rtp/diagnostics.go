// Why ICE failed: the candidate pairs checked and how they fared, and the
// likely cause (a firewall, TURN unreachable or refusing), for the call's
// reason text and the log.

package rtp

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// ICEDiagnostics explain an ICE outcome for an operator: which candidate
// types each side had, which pairs were checked and how they fared, and
// the likely cause. The point is to tell a firewall problem (checks sent,
// never answered) from a TURN problem (no relay candidate although a
// relay is configured), the two failures that look alike to a user.
type ICEDiagnostics struct {
	// Local and Remote count candidates by type ("host", "srflx",
	// "prflx", "relay"); local relay candidates are also counted per
	// transport to the TURN server, as "relay/udp", "relay/tcp",
	// "relay/tls".
	Local  map[string]int `json:"local"`
	Remote map[string]int `json:"remote"`
	// Pairs are the candidate pairs ICE formed, best checked first.
	Pairs []PairCheck `json:"pairs"`
	// STUN and TURN are the configured server URLs, by kind.
	STUN []string `json:"stun,omitempty"`
	TURN []string `json:"turn,omitempty"`
	// Cause is a one-line verdict (see Diagnose's cases).
	Cause string `json:"cause"`
}

// PairCheck is one candidate pair's connectivity checks (RFC 8445
// section 7.2).
type PairCheck struct {
	Local             string `json:"local"`  // type and address, "host 10.0.0.2:5000"
	Remote            string `json:"remote"` // type and address
	State             string `json:"state"`  // frozen, waiting, in-progress, failed, succeeded
	Nominated         bool   `json:"nominated,omitempty"`
	RequestsSent      uint64 `json:"requests_sent"`
	ResponsesReceived uint64 `json:"responses_received"`
	RequestsReceived  uint64 `json:"requests_received"`
}

// DiagnoseICE reads a PeerConnection's stats report (taken when ICE
// failed, before the PeerConnection is closed) together with the ICE
// servers it was configured with.
//
// Causes, in the order they are considered:
//   - we gathered no candidate at all: no usable local address (a host
//     with only loopback addresses outside loopback mode), so the other
//     side is not to blame;
//   - a TURN server is configured but no relay candidate was gathered:
//     if a server-reflexive candidate was gathered and a STUN URL names
//     the same host, the server answered, so it refused the allocation
//     (credentials, quota); if not, it was unreachable (down, or blocked
//     by a firewall). Configure the relay's host as STUN server too (as
//     XEP-0215 discovery does) for this distinction. This comes before
//     the peer's silence: a relay that went down mid-call leaves both
//     sides without candidates after an ICE restart, and the relay is
//     the cause;
//   - the peer sent no candidates: signalling problem, not the network;
//   - checks were sent but none was ever answered: a firewall or NAT
//     filters every path between the two sides (symmetric NAT, UDP
//     blocked), and no relay could carry the call;
//   - some checks were answered but no pair succeeded.
func DiagnoseICE(r webrtc.StatsReport, servers []webrtc.ICEServer) ICEDiagnostics {
	d := ICEDiagnostics{Local: map[string]int{}, Remote: map[string]int{}}
	for _, s := range servers {
		for _, u := range s.URLs {
			if strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
				d.TURN = append(d.TURN, u)
			} else if strings.HasPrefix(u, "stun:") || strings.HasPrefix(u, "stuns:") {
				d.STUN = append(d.STUN, u)
			}
		}
	}
	cands := map[string]webrtc.ICECandidateStats{}
	for _, s := range r {
		c, ok := s.(webrtc.ICECandidateStats)
		if !ok {
			continue
		}
		cands[c.ID] = c
		typ := c.CandidateType.String()
		switch c.Type {
		case webrtc.StatsTypeLocalCandidate:
			d.Local[typ]++
			if c.CandidateType == webrtc.ICECandidateTypeRelay {
				if p := c.RelayProtocol; p != "" {
					d.Local["relay/"+p]++
				}
			}
		case webrtc.StatsTypeRemoteCandidate:
			d.Remote[typ]++
		}
	}
	for _, s := range r {
		p, ok := s.(webrtc.ICECandidatePairStats)
		if !ok {
			continue
		}
		d.Pairs = append(d.Pairs, PairCheck{
			Local: describe(cands[p.LocalCandidateID]), Remote: describe(cands[p.RemoteCandidateID]),
			State: string(p.State), Nominated: p.Nominated,
			RequestsSent: p.RequestsSent, ResponsesReceived: p.ResponsesReceived, RequestsReceived: p.RequestsReceived,
		})
	}
	sort.SliceStable(d.Pairs, func(i, j int) bool {
		if d.Pairs[i].ResponsesReceived != d.Pairs[j].ResponsesReceived {
			return d.Pairs[i].ResponsesReceived > d.Pairs[j].ResponsesReceived
		}
		return d.Pairs[i].RequestsSent > d.Pairs[j].RequestsSent
	})
	// pion does not say which server a server-reflexive candidate came
	// from: any srflx counts as an answer from every configured STUN host.
	srflxFrom := map[string]bool{}
	if d.Local["srflx"] > 0 {
		for _, u := range d.STUN {
			srflxFrom[urlHost(u)] = true
		}
	}
	d.Cause = d.cause(srflxFrom)
	return d
}

func (d *ICEDiagnostics) cause(srflxFrom map[string]bool) string {
	if len(d.Local) == 0 && len(d.TURN) == 0 {
		return "we gathered no candidate: no usable local address (only loopback, outside loopback mode?), not the peer's fault"
	}
	if len(d.TURN) > 0 && d.Local["relay"] == 0 {
		var answered, silent []string
		for _, u := range d.TURN {
			if srflxFrom[urlHost(u)] {
				answered = append(answered, u)
			} else {
				silent = append(silent, u)
			}
		}
		if len(answered) > 0 {
			return fmt.Sprintf("no relay candidate: the TURN server answered STUN but refused the allocation (credentials or quota) at %s", strings.Join(answered, ", "))
		}
		return fmt.Sprintf("no relay candidate: the TURN server is unreachable (down, or blocked by a firewall) at %s", strings.Join(silent, ", "))
	}
	if len(d.Remote) == 0 {
		return "the peer sent no candidates (signalling, not the network)"
	}
	var sent, answered uint64
	for _, p := range d.Pairs {
		sent += p.RequestsSent
		answered += p.ResponsesReceived
	}
	switch {
	case len(d.Pairs) == 0:
		return "no candidate pair could be formed (no common address family or transport)"
	case sent > 0 && answered == 0:
		relay := "and no relay is configured"
		if d.Local["relay"] > 0 || d.Remote["relay"] > 0 {
			relay = "not even through the relay"
		}
		return fmt.Sprintf("%d connectivity checks on %d pairs got no answer: a firewall or NAT filters the path, %s", sent, len(d.Pairs), relay)
	case sent == 0:
		return "no connectivity check could be sent (no usable local candidate)"
	}
	return fmt.Sprintf("%d of %d checks were answered but no pair succeeded (consent lost or DTLS never started)", answered, sent)
}

// String is the diagnostics on one line, for logs and the reason text of
// a connectivity-error: candidates per side, the pairs, then the cause.
func (d ICEDiagnostics) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gathered local %s; remote %s; ", counts(d.Local), counts(d.Remote))
	fmt.Fprintf(&b, "%d pairs tried", len(d.Pairs))
	for i, p := range d.Pairs {
		if i == 4 {
			fmt.Fprintf(&b, ", ... %d more", len(d.Pairs)-i)
			break
		}
		sep := ": "
		if i > 0 {
			sep = ", "
		}
		fmt.Fprintf(&b, "%s%s -> %s %s (%d sent, %d answered)", sep, p.Local, p.Remote, p.State, p.RequestsSent, p.ResponsesReceived)
	}
	fmt.Fprintf(&b, "; cause: %s", d.Cause)
	return b.String()
}

// counts writes "host×1 srflx×1 relay×0" with every type present, and
// "none" for an empty set.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	order := []string{"host", "srflx", "prflx", "relay", "relay/udp", "relay/tcp", "relay/tls", "relay/dtls"}
	var keys []string
	for k := range m {
		if !slices.Contains(order, k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range append(order, keys...) {
		if n, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s×%d", k, n))
		}
	}
	if m["relay"] == 0 {
		parts = append(parts, "no relay")
	}
	return strings.Join(parts, " ")
}

func describe(c webrtc.ICECandidateStats) string {
	if c.ID == "" {
		return "?"
	}
	return fmt.Sprintf("%s %s", c.CandidateType, net.JoinHostPort(c.IP, fmt.Sprint(c.Port)))
}

// urlHost is the host of a STUN/TURN URL ("turn:h:3478?transport=tcp").
func urlHost(u string) string {
	rest := u
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		rest = rest[i+1:]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	if h, _, err := net.SplitHostPort(rest); err == nil {
		return h
	}
	if p, err := url.Parse("x://" + rest); err == nil {
		return p.Hostname()
	}
	return rest
}

// iceWatch keeps the latest stats of a PeerConnection while ICE is
// still checking. It exists because pion forgets every candidate and pair
// the moment ICE fails (ice.Agent.updateConnectionState deletes them), so
// stats read after the failure are empty: the diagnostics come from the
// last snapshot before it.
type iceWatch struct {
	mu   sync.Mutex
	last webrtc.StatsReport
}

// startICEWatch snapshots pc's stats every interval until ctx ends or
// ICE leaves new/checking. Each snapshot runs through run, which for a
// call posts it to the call's loop: the loop is also where PeerConnections
// are closed, and GetStats must never run concurrently with Close (pion
// reads its stats getter unlocked). run returning false (the loop is
// gone) ends the watch. wg tracks the ticker goroutine.
func startICEWatch(ctx context.Context, pc *webrtc.PeerConnection, every time.Duration, run func(func()) bool, wg *sync.WaitGroup) *iceWatch {
	w := &iceWatch{}
	checking := func() bool {
		switch pc.ICEConnectionState() {
		case webrtc.ICEConnectionStateNew, webrtc.ICEConnectionStateChecking:
			return true
		}
		return false
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if !checking() {
				return // connected, failed or closed: nothing more to learn
			}
			ok := run(func() {
				if !checking() {
					return
				}
				r := pc.GetStats()
				w.mu.Lock()
				w.last = r
				w.mu.Unlock()
			})
			if !ok {
				return
			}
		}
	}()
	return w
}

// snapshot returns the last stats taken (nil if none was).
func (w *iceWatch) snapshot() webrtc.StatsReport {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// watchICE starts the ICE watch of a call's peer: snapshots every second
// on the call's loop, ending with the call.
func (c *Call) watchICE(p *peer) *iceWatch {
	return startICEWatch(c.ctx, p.pc, time.Second, c.q.post, &c.workers)
}

// iceFailure is the error a call ends with when ICE failed on p, whose
// PeerConnection w watched: the diagnostics, also logged at warn level
// so the CLI's and the daemon's logs name the cause.
func (c *Call) iceFailure(p *peer, w *iceWatch) error {
	d := DiagnoseICE(w.snapshot(), c.peerOpts.iceServers())
	c.log.Warn("rtp: ICE failed", "contents", strings.Join(p.contents, ","), "local", d.Local, "remote", d.Remote,
		"pairs", len(d.Pairs), "cause", d.Cause)
	return fmt.Errorf("%w for %s: %s", ErrICEFailed, strings.Join(p.contents, ","), d)
}
