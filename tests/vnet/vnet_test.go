// Package vnet runs issue 7's NAT scenarios in-process on pion's virtual
// network (pion/transport vnet): two LANs behind emulated NATs (symmetric:
// address- and port-dependent mapping and filtering; full cone:
// endpoint-independent both, RFC 4787), our TURN server on the WAN, two
// jingle Managers linked by jingletest, and the real call engine and file
// transfer on top. No root, no real sockets, no packet leaves the
// process; the namespace tests in tests/nat prove the same on the kernel's
// NAT. The layout follows pion/ice's connectivity_vnet_test.go (buildVNet)
// and pion/webrtc's vnet_test.go.
package vnet

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	pionice "github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/transport/v4/vnet"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/filetransfer/datachannel"
	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/turnserver"
)

// Addresses of the virtual world (documentation and private ranges; they
// exist only inside the vnet routers).
const (
	wanCIDR  = "203.0.113.0/24"
	relayIP  = "203.0.113.10"
	turnPort = 3478
	realm    = "jingled.test"
)

var (
	natIPs  = [2]string{"203.0.113.2", "203.0.113.3"}
	lanCIDR = [2]string{"10.11.0.0/24", "192.168.22.0/24"}
	peerIPs = [2]string{"10.11.0.2", "192.168.22.2"}
	users   = map[string]string{"alice": "alice-relay-pass", "bob": "bob-relay-pass"}
)

// NAT behaviours (RFC 4787 terms).
var (
	symmetric = vnet.NATType{
		Mode:              vnet.NATModeNormal,
		MappingBehavior:   vnet.EndpointAddrPortDependent,
		FilteringBehavior: vnet.EndpointAddrPortDependent,
	}
	fullCone = vnet.NATType{
		Mode:              vnet.NATModeNormal,
		MappingBehavior:   vnet.EndpointIndependent,
		FilteringBehavior: vnet.EndpointIndependent,
	}
)

// world is the virtual topology: the WAN with the relay, and one NATed
// LAN per peer.
type world struct {
	wan   *vnet.Router
	relay *turnserver.Server
	lans  [2]*vnet.Net
	// pub is the relay's host on the WAN (restart_test.go starts
	// another relay there).
	pub *vnet.Net
}

// buildWorld starts the routers and the relay; everything stops in
// t.Cleanup.
func buildWorld(t *testing.T, nat vnet.NATType) *world {
	t.Helper()
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelError
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: wanCIDR, LoggerFactory: lf})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{relayIP}})
	if err != nil {
		t.Fatal(err)
	}
	if err := wan.AddNet(pub); err != nil {
		t.Fatal(err)
	}
	w := &world{wan: wan, pub: pub}
	for i := range w.lans {
		nt := nat
		lan, err := vnet.NewRouter(&vnet.RouterConfig{
			StaticIPs: []string{natIPs[i]}, CIDR: lanCIDR[i], NATType: &nt, LoggerFactory: lf,
		})
		if err != nil {
			t.Fatal(err)
		}
		n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{peerIPs[i]}})
		if err != nil {
			t.Fatal(err)
		}
		if err := lan.AddNet(n); err != nil {
			t.Fatal(err)
		}
		if err := wan.AddRouter(lan); err != nil {
			t.Fatal(err)
		}
		w.lans[i] = n
	}
	if err := wan.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wan.Stop() })
	w.relay, err = turnserver.New(turnserver.Config{
		Address: relayIP, RelayBindAddress: relayIP, Port: turnPort, Realm: realm, Users: users,
		// The WAN is a documentation range, which the relay refuses as a
		// peer by default.
		AllowPeers: []string{wanCIDR},
	}, turnserver.WithNet(pub), turnserver.WithLogger(testLogger(t).With("component", "turn")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.relay.Close() })
	return w
}

// iceServers are the relay's STUN and TURN URLs for user.
func iceServers(user string) []webrtc.ICEServer {
	return []webrtc.ICEServer{
		{URLs: []string{fmt.Sprintf("stun:%s:%d", relayIP, turnPort)}},
		{URLs: []string{fmt.Sprintf("turn:%s:%d?transport=udp", relayIP, turnPort)}, Username: user, Credential: users[user]},
	}
}

// configure puts a SettingEngine on LAN side i's virtual network.
func (w *world) configure(i int) func(*webrtc.SettingEngine) {
	return func(s *webrtc.SettingEngine) {
		s.SetNet(w.lans[i])
		s.SetICEMulticastDNSMode(pionice.MulticastDNSModeDisabled)
		s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}
}

// relayed is what the relay carried, both directions.
func (w *world) relayed(t *testing.T) float64 {
	t.Helper()
	mf, err := w.relay.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range mf {
		if f.GetName() != "jingled_turn_relayed_bytes_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

const (
	aliceJID = "alice@jingled.test/vnet"
	bobJID   = "bob@jingled.test/vnet"
)

// manager links jid's Manager to the router.
func manager(t *testing.T, r *jingletest.Router, jid string, opts ...jingle.Option) *jingle.Manager {
	t.Helper()
	ep := r.Endpoint(jid)
	m := jingle.NewManager(jid, ep, append(opts, jingle.WithLogger(testLogger(t).With("me", jid)))...)
	ep.Serve(m)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = m.Close(ctx)
	})
	return m
}

var scenarios = []struct {
	name string
	nat  vnet.NATType
	// relay: whether the selected pairs must go through the relay.
	relay bool
}{
	{"symmetric", symmetric, true},
	{"full-cone", fullCone, false},
}

const toneLength = 2 * time.Second

// TestCallAcrossVNet: a call from LAN A to LAN B carries a tone each way
// and picks the path the NAT allows: through the relay behind symmetric
// NATs, directly behind full-cone NATs.
func TestCallAcrossVNet(t *testing.T) {
	a440, a880 := sine(t, 440), sine(t, 880)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			w := buildWorld(t, sc.nat)
			dir := t.TempDir()
			r := jingletest.NewRouter()
			t.Cleanup(r.Close)
			peer := func(i int, user string) rtp.PeerOptions {
				return rtp.PeerOptions{ICEServers: iceServers(user), Logger: testLogger(t), Configure: w.configure(i)}
			}
			in := make(chan *rtp.Call, 1)
			bobApp := rtp.NewApplication(rtp.ApplicationOptions{
				Peer:       peer(1, "bob"),
				AutoAnswer: &rtp.MediaOptions{Audio: a880, Record: filepath.Join(dir, "bob")},
				OnIncoming: func(c *rtp.Call) { in <- c },
			})
			alice := manager(t, r, aliceJID, jingle.WithTransport(rtp.ICEUDP{}))
			manager(t, r, bobJID, bobApp.Options()...)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			call, err := rtp.Dial(ctx, alice, bobJID, rtp.CallOptions{
				MediaOptions: rtp.MediaOptions{Audio: a440, Record: filepath.Join(dir, "alice"), Duration: toneLength + 1500*time.Millisecond},
				Peer:         peer(0, "alice"),
			})
			if err != nil {
				t.Fatal(err)
			}
			var bobCall *rtp.Call
			select {
			case bobCall = <-in:
			case <-ctx.Done():
				t.Fatal("the call did not arrive")
			}
			wait := func(c *rtp.Call) *jingle.Reason {
				wctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				r, err := c.Wait(wctx)
				if err != nil {
					t.Fatalf("call did not end: %v", err)
				}
				return r
			}
			if r := wait(call); r.Condition != jingle.ReasonSuccess {
				t.Fatalf("call ended with %s", r)
			}
			if r := wait(bobCall); r.Condition != jingle.ReasonSuccess {
				t.Errorf("callee saw %s", r)
			}
			a, b := call.Stats().Pair, bobCall.Stats().Pair
			t.Logf("caller pair %+v; callee pair %+v; relay carried %.0f bytes", a, b, w.relayed(t))
			checkPair(t, sc.relay, a, b)
			checkTone(t, filepath.Join(dir, "bob.ogg"), 440)
			checkTone(t, filepath.Join(dir, "alice.ogg"), 880)
		})
	}
}

func checkPair(t *testing.T, relay bool, a, b rtp.CandidatePair) {
	t.Helper()
	if a.LocalType == "" || b.LocalType == "" {
		t.Fatalf("no selected pair: %+v / %+v", a, b)
	}
	if relay && (!a.Relayed() || !b.Relayed()) {
		t.Errorf("pairs %s/%s and %s/%s, want the relay on each", a.LocalType, a.RemoteType, b.LocalType, b.RemoteType)
	}
	if !relay && (a.Relayed() || b.Relayed()) {
		t.Errorf("pairs %s/%s and %s/%s, want a direct path", a.LocalType, a.RemoteType, b.LocalType, b.RemoteType)
	}
}

// fileSize is smaller than the namespace tests' 20 MiB: vnet moves every
// packet through goroutines and channels, and this suite must stay fast
// under -race. The path logic is the same.
const fileSize = 2 << 20

// TestFileAcrossVNet: a file from LAN A to LAN B over the datachannel
// arrives intact, through the relay behind symmetric NATs and directly
// behind full-cone NATs (read from the relay's byte counters: the data
// channel does not report its pair).
func TestFileAcrossVNet(t *testing.T) {
	payload := make([]byte, fileSize)
	_, _ = rand.Read(payload)
	src := filepath.Join(t.TempDir(), "payload.bin")
	if err := os.WriteFile(src, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(payload)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			w := buildWorld(t, sc.nat)
			r := jingletest.NewRouter()
			t.Cleanup(r.Close)
			results := make(chan *filetransfer.Result, 1)
			side := func(i int, user, jid string, receive bool) (*filetransfer.App, *jingle.Manager) {
				dc := datachannel.New(datachannel.WithICEServers(iceServers(user)...), datachannel.WithSettingEngine(w.configure(i)),
					datachannel.WithLogger(testLogger(t)))
				opts := []filetransfer.Option{filetransfer.WithLogger(testLogger(t))}
				if receive {
					d, err := filetransfer.OpenDir(t.TempDir())
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = d.Close() })
					opts = append(opts, filetransfer.WithReceiveDir(d),
						filetransfer.WithAutoAccept(filetransfer.AcceptPolicy{MaxSize: -1}),
						filetransfer.WithResults(func(r *filetransfer.Result) { results <- r }))
				}
				app := filetransfer.New(opts...)
				t.Cleanup(func() { _ = app.Close() })
				return app, manager(t, r, jid, jingle.WithApplication(app), jingle.WithTransport(dc))
			}
			sender, alice := side(0, "alice", aliceJID, false)
			side(1, "bob", bobJID, true)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := sender.Send(ctx, alice, bobJID, src, filetransfer.SendOptions{Transport: filetransfer.FamilyDataChannel})
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			var got *filetransfer.Result
			select {
			case got = <-results:
			case <-ctx.Done():
				t.Fatal("no result on the receiving side")
			}
			if got.Err != nil {
				t.Fatalf("receiver: %v", got.Err)
			}
			if filetransfer.Family(got.Transport) != filetransfer.FamilyDataChannel || got.Transferred != fileSize {
				t.Fatalf("received %d bytes over %s (sender: %d over %s)", got.Transferred, got.Transport, res.Transferred, res.Transport)
			}
			f, err := os.Open(got.Path)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			_ = f.Close()
			if err != nil || string(h.Sum(nil)) != string(want[:]) {
				t.Fatalf("received file differs (%v)", err)
			}
			relayed := w.relayed(t)
			t.Logf("relay carried %.0f bytes for a %d byte file", relayed, fileSize)
			if sc.relay && relayed < fileSize {
				t.Errorf("only %.0f bytes went through the relay, want the whole file", relayed)
			}
			if !sc.relay && relayed > fileSize/10 {
				t.Errorf("%.0f bytes went through the relay, want a direct path", relayed)
			}
		})
	}
}

func sine(t *testing.T, freq float64) string {
	t.Helper()
	return longSine(t, freq, toneLength)
}

func checkTone(t *testing.T, path string, freq float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := mediatest.AnalyzeAudio(ctx, path)
	if err != nil {
		t.Fatalf("analysing %s: %v", filepath.Base(path), err)
	}
	t.Logf("%s: %v, %.1f Hz", filepath.Base(path), a.Duration, a.Frequency)
	if math.Abs(a.Frequency-freq) > 5 {
		t.Errorf("%s: dominant frequency %.1f Hz, want %g +/- 5", filepath.Base(path), a.Frequency, freq)
	}
	if d := math.Abs(float64(a.Duration - toneLength)); d > 0.1*float64(toneLength) {
		t.Errorf("%s: duration %v, want %v +/- 10%%", filepath.Base(path), a.Duration, toneLength)
	}
}

// testLogger sends the libraries' logs to the test log at warn level,
// so a failing run shows what went wrong without drowning a passing one.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}
