package vnet

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	pionice "github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/transport/v4/vnet"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
	"github.com/jingled/jingled/rtp"
)

// The impairment of TestStatsUnderLossAndJitter (issue 18).
const (
	// lossPercent is the chance that vnet's LossFilter drops a packet
	// on its way to the callee (Bernoulli, independent per packet).
	lossPercent = 5
	// appliedJitter is the jitter applied, in RFC 3550 terms (the
	// interarrival jitter Stats.Jitter reports): 20 ms.
	appliedJitter = 20 * time.Millisecond
	// maxDelay bounds the random delay that applies it: each of
	// Alice's datagrams is held U[0, maxDelay), independently, and for
	// independent X, Y uniform over [0, W), E|X-Y| = W/3; so W = 60 ms.
	maxDelay = 3 * appliedJitter
	// statsMedia is how long the caller sends: 1500 Opus packets of
	// 20 ms.
	statsMedia = 30 * time.Second
)

// TestStatsUnderLossAndJitter (issue 18): the loss and jitter a call
// reports match the impairment applied to it. Alice calls Bob over one
// vnet router (no NAT, host candidates); Alice sends a 30 s Opus tone
// (50 packets/s, 1500 packets), Bob only receives, and Bob's
// Call.Stats are checked.
//
// Loss, Alice to Bob only: Bob's NIC is wrapped in vnet's LossFilter
// at 5%, so each packet to Bob is dropped with probability 0.05,
// independently (Bob's packets to Alice are not). pion's stats
// interceptor counts packetsLost as expected - received, expected being
// highest - first sequence number + 1 (negative only with duplicates);
// nothing duplicates packets (the jitter below reorders some, which
// moves no packet in or out of that count), and audio negotiates no
// NACK, so nothing is retransmitted and lost/(received+lost) is the fraction
// dropped. Over 1500 packets its standard deviation is
// sqrt(0.05*0.95/1500) = 0.56 points, so 5 +- 2 points is a 3.5 sigma
// bound (a false failure about once in 2000 runs). With the filter at
// 0% the check fails (0 of 1501 lost).
//
// Jitter, Alice to Bob: Alice's sockets are a jitterNet, which holds
// each datagram she sends for its own random time uniform over
// [0, 60 ms) before vnet carries it (see jitterNet for why vnet's
// RouterConfig.MaxJitter is not used: its sleeps block the sender and
// throttle it above the packet spacing, reading 16 to 24 ms for a
// nominal 20). RFC 3550's interarrival jitter J is the running mean
// (gain 1/16) of |D(i-1,i)|, the change in transit time between
// consecutive arrivals; for independent delays X, Y uniform over
// [0, W), E|X-Y| = W/3, so 60 ms of delay spread is 20 ms of jitter,
// the value applied. Packets 20 ms apart with up to 60 ms of delay
// overtake each other (about one in three), and consecutive arrivals
// are then not consecutive sends: a simulation of this model gives
// E|D| = 21.7 ms (8% above W/3), well inside the check, which is
// within 50% of 20 ms: 10 to 30 ms. With no delay the check fails (0.6
// ms is read with vnet alone).
//
// J weighs about the last 16 packets, so one reading is noisy; the
// test takes the mean of the readings Call.Stats gives each second of
// the call. Stats.Jitter is rtp's own RFC 3550 meter (rtp/jitter.go):
// pion's stats interceptor averages a second difference and reads 1.75
// times too high.
func TestStatsUnderLossAndJitter(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 30 s of media")
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelError
	router, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.18.0.0/24", LoggerFactory: lf})
	if err != nil {
		t.Fatal(err)
	}
	nets := [2]*vnet.Net{}
	for i, ip := range []string{"10.18.0.2", "10.18.0.3"} {
		n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ip}})
		if err != nil {
			t.Fatal(err)
		}
		nets[i] = n
	}
	if err := router.AddNet(nets[0]); err != nil {
		t.Fatal(err)
	}
	lossy, err := vnet.NewLossFilter(nets[1], lossPercent)
	if err != nil {
		t.Fatal(err)
	}
	if err := router.AddNet(lossy); err != nil {
		t.Fatal(err)
	}
	if err := router.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = router.Stop() })

	peer := func(i int) rtp.PeerOptions {
		return rtp.PeerOptions{Logger: testLogger(t), Configure: func(s *webrtc.SettingEngine) {
			if i == 0 {
				s.SetNet(&jitterNet{Net: nets[0], maxDelay: maxDelay})
			} else {
				s.SetNet(nets[i])
			}
			s.SetICEMulticastDNSMode(pionice.MulticastDNSModeDisabled)
			s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		}}
	}
	dir := t.TempDir()
	tone := filepath.Join(dir, "tone.ogg")
	mctx, mcancel := context.WithTimeout(context.Background(), time.Minute)
	err = mediatest.SineOpus(mctx, tone, 440, statsMedia)
	mcancel()
	if err != nil {
		t.Fatal(err)
	}

	r := jingletest.NewRouter()
	t.Cleanup(r.Close)
	in := make(chan *rtp.Call, 1)
	bobApp := rtp.NewApplication(rtp.ApplicationOptions{
		Peer:       peer(1),
		AutoAnswer: &rtp.MediaOptions{Record: filepath.Join(dir, "bob")},
		OnIncoming: func(c *rtp.Call) { in <- c },
	})
	alice := manager(t, r, aliceJID, jingle.WithTransport(rtp.ICEUDP{}))
	manager(t, r, bobJID, bobApp.Options()...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call, err := rtp.Dial(ctx, alice, bobJID, rtp.CallOptions{
		MediaOptions: rtp.MediaOptions{Audio: tone, Duration: statsMedia + time.Second},
		Peer:         peer(0),
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
	// Bob's jitter as the call reports it while it runs, read each
	// second once a hundred packets are in and while packets arrive.
	var readings []time.Duration
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	deadline := time.After(statsMedia + 30*time.Second)
	var lastReceived uint64
	for live := true; live; {
		select {
		case <-bobCall.Done():
			live = false
		case <-deadline:
			t.Fatal("the call did not end")
		case <-tick.C:
			st := bobCall.Stats()
			if st.PacketsReceived >= 100 && st.PacketsReceived > lastReceived {
				readings = append(readings, time.Duration(st.Jitter*float64(time.Second)))
			}
			lastReceived = st.PacketsReceived
		}
	}
	for _, c := range []*rtp.Call{call, bobCall} {
		wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
		reason, err := c.Wait(wctx)
		wcancel()
		if err != nil {
			t.Fatalf("call did not end: %v", err)
		}
		if reason.Condition != jingle.ReasonSuccess {
			t.Fatalf("call ended with %s", reason)
		}
	}

	st := bobCall.Stats()
	t.Logf("callee: %s", st)
	t.Logf("caller: %s", call.Stats())
	expected := int64(st.PacketsReceived) + st.PacketsLost
	if expected < 1000 {
		t.Fatalf("%d packets expected (received %d, lost %d), want 1000 or more", expected, st.PacketsReceived, st.PacketsLost)
	}
	loss := 100 * float64(st.PacketsLost) / float64(expected)
	if len(readings) < 20 {
		t.Fatalf("%d jitter readings during the call, want 20 or more", len(readings))
	}
	var sum time.Duration
	for _, j := range readings {
		sum += j
	}
	jitter := sum / time.Duration(len(readings))
	t.Logf("applied %d%% loss, delay U[0, %v) (RFC 3550 jitter %v); reported %.2f%% loss (%d of %d), jitter %v (mean of %d readings from %v to %v; final %v)",
		lossPercent, maxDelay, appliedJitter, loss, st.PacketsLost, expected, jitter.Round(10*time.Microsecond),
		len(readings), slices.Min(readings).Round(10*time.Microsecond), slices.Max(readings).Round(10*time.Microsecond),
		time.Duration(st.Jitter*float64(time.Second)).Round(10*time.Microsecond))
	if loss < lossPercent-2 || loss > lossPercent+2 {
		t.Errorf("reported loss %.2f%% (%d of %d), want %d%% +- 2", loss, st.PacketsLost, expected, lossPercent)
	}
	if jitter < appliedJitter/2 || jitter > appliedJitter*3/2 {
		t.Errorf("reported jitter %v, want %v +- 50%% (the RFC 3550 jitter of a delay uniform over [0, %v))", jitter, appliedJitter, maxDelay)
	}
}
