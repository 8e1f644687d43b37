package rtp

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/rtcp"
	pionrtp "github.com/pion/rtp"
)

// fakeClock is a settable now, read by pion's report loop while the
// test sets it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func TestReportPacerSend(t *testing.T) {
	const audio, video, other = 1111, 2222, 3333
	sr := func(ssrc uint32) rtcp.Packet { return &rtcp.SenderReport{SSRC: ssrc} }
	rr := func(ssrc uint32) rtcp.Packet {
		return &rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: ssrc}}}
	}
	steps := []struct {
		name  string
		after time.Duration // since the test's start
		pkt   rtcp.Packet
		want  bool
	}{
		{"first audio SR goes out", 0, sr(audio), true},
		{"audio SR a second later is held", time.Second, sr(audio), false},
		{"first audio RR goes out", time.Second, rr(audio), true},
		{"video SR every second", time.Second, sr(video), true},
		{"video SR again", 2 * time.Second, sr(video), true},
		{"audio SR at 4.4 s is held", 4400 * time.Millisecond, sr(audio), false},
		{"audio SR at 4.6 s (a late fifth tick) goes out", 4600 * time.Millisecond, sr(audio), true},
		{"audio RR at 5 s, 4 s after its last, is held", 5 * time.Second, rr(audio), false},
		{"audio RR at 6 s goes out", 6 * time.Second, rr(audio), true},
		{"audio SR at 6 s, 1.4 s after its last, is held", 6 * time.Second, sr(audio), false},
		{"a stream never bound is not held", 6 * time.Second, sr(other), true},
		{"an RR of two streams is not held", 6 * time.Second, &rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{{SSRC: audio}, {SSRC: video}}}, true},
		{"an RR of none is not held", 6 * time.Second, &rtcp.ReceiverReport{}, true},
		{"a PLI for audio is not held", 6 * time.Second, &rtcp.PictureLossIndication{MediaSSRC: audio}, true},
		{"a NACK is not held", 6 * time.Second, &rtcp.TransportLayerNack{MediaSSRC: audio}, true},
	}
	start := time.Unix(1000, 0)
	clock := &fakeClock{t: start}
	i, err := reportPacer{now: clock.now}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	p := i.(*reportPacerInterceptor)
	p.BindLocalStream(&interceptor.StreamInfo{SSRC: audio, MimeType: "audio/opus"}, nil)
	p.BindRemoteStream(&interceptor.StreamInfo{SSRC: video, MimeType: "video/VP8"}, nil)
	for _, s := range steps {
		clock.set(start.Add(s.after))
		if got := p.send(s.pkt); got != s.want {
			t.Errorf("%s: send = %v, want %v", s.name, got, s.want)
		}
	}
	p.UnbindLocalStream(&interceptor.StreamInfo{SSRC: audio})
	if !p.send(sr(audio)) {
		t.Error("an unbound stream's report is still held")
	}
}

func TestReportPacerBatch(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	i, _ := reportPacer{now: clock.now}.NewInterceptor("")
	p := i.(*reportPacerInterceptor)
	p.BindLocalStream(&interceptor.StreamInfo{SSRC: 1, MimeType: "audio/PCMU"}, nil)
	first := []rtcp.Packet{&rtcp.SenderReport{SSRC: 1}, &rtcp.PictureLossIndication{MediaSSRC: 9}}
	if got := p.pace(first); len(got) != 2 || &got[0] != &first[0] {
		t.Errorf("a batch with nothing held back came back as %v, want the same slice", got)
	}
	pli := &rtcp.PictureLossIndication{MediaSSRC: 9}
	nack := &rtcp.TransportLayerNack{MediaSSRC: 9}
	got := p.pace([]rtcp.Packet{pli, &rtcp.SenderReport{SSRC: 1}, nack})
	if len(got) != 2 || got[0] != pli || got[1] != nack {
		t.Errorf("held back the wrong packets: %v", got)
	}
}

// manualTicker is a report.Ticker the test ticks.
type manualTicker struct{ c chan time.Time }

func (m manualTicker) Ch() <-chan time.Time { return m.c }
func (manualTicker) Stop()                  {}

// TestReportPacerHoldsPionsReports chains the pacer before pion's own
// sender-report interceptor, as newAPI registers them, and counts what
// reaches the wire: one audio SR in five ticks a second apart, every
// video SR. It fails if the pacer is bound after pion's interceptor (its
// writer then never sees the reports).
func TestReportPacerHoldsPionsReports(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	ticks := manualTicker{c: make(chan time.Time)}
	sender, err := report.NewSenderInterceptor(report.SenderTicker(func(time.Duration) report.Ticker { return ticks }), report.SenderNow(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	var ir interceptor.Registry
	ir.Add(reportPacer{now: clock.now})
	ir.Add(sender)
	chain, err := ir.Build("")
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan uint32, 16)
	chain.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			sent <- p.(*rtcp.SenderReport).SSRC
		}
		return 0, nil
	}))
	noop := interceptor.RTPWriterFunc(func(*pionrtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil })
	chain.BindLocalStream(&interceptor.StreamInfo{SSRC: 1, MimeType: "audio/opus", ClockRate: 48000}, noop)
	chain.BindLocalStream(&interceptor.StreamInfo{SSRC: 2, MimeType: "video/VP8", ClockRate: 90000}, noop)
	counts := map[uint32]int{}
	for range 10 {
		clock.set(clock.now().Add(time.Second))
		ticks.c <- clock.now()
		// Wait for this tick's video SR, which always comes; the audio
		// one (if any) may come before or after it, and is counted here
		// or at the end.
		for ssrc := <-sent; ssrc != 2; ssrc = <-sent {
			counts[ssrc]++
		}
		counts[2]++
	}
	if err := chain.Close(); err != nil {
		t.Fatal(err)
	}
	close(sent)
	for ssrc := range sent {
		counts[ssrc]++
	}
	if counts[1] != 2 || counts[2] != 10 {
		t.Errorf("reports sent in 10 s: audio %d, video %d; want 2 and 10", counts[1], counts[2])
	}
}
