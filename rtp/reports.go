// RTCP sender and receiver reports at libwebrtc's rates: every 5 s for
// an audio stream, every second for video.

package rtp

import (
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// audioReportInterval is how often an audio stream's sender or receiver
// report goes out: libwebrtc's kDefaultAudioReportInterval, and what
// Conversations, Dino and browsers send for audio. pion's report
// interceptors send one per stream every second whatever the kind; at
// 1000 echo calls those two loops were 5-6% of jingled's CPU
// (docs/BENCHMARKS.md), each report an SRTCP packet encrypted and sent
// on its own, for figures (loss, RTT) that change slowly on audio and
// that nothing reads more often than every few seconds. Video keeps
// pion's second: its sender's loss-based bandwidth estimate wants it.
const audioReportInterval = 5 * time.Second

// reportSlack: a report is let through when audioReportInterval less this
// has passed since its stream's last, so that the jitter of pion's 1 s
// ticker cannot make it wait a sixth tick.
const reportSlack = 500 * time.Millisecond

// reportPacer is an interceptor.Factory whose interceptors hold back the
// sender and receiver reports of audio streams to audioReportInterval.
// It must come before pion's report interceptors in the registry, so that
// the RTCP writer they are bound to is the one it returns.
//
// Why a filter, not an interval: pion's report interceptors take one
// interval per PeerConnection, fixed when it is built, and a
// PeerConnection's kinds are known only later (a call that starts with
// audio can add video with content-add on the same bundle). The loops
// still wake every second; what they no longer do for audio is marshal,
// encrypt and send. A receiver report let through says how many packets
// were lost in total (right) and what fraction of the last second's
// were (pion measures from its last report, not from the last one sent).
type reportPacer struct {
	now func() time.Time
}

func (f reportPacer) NewInterceptor(string) (interceptor.Interceptor, error) {
	now := f.now
	if now == nil {
		now = time.Now
	}
	return &reportPacerInterceptor{now: now, last: map[reportKey]time.Time{}}, nil
}

type reportPacerInterceptor struct {
	interceptor.NoOp
	now func() time.Time

	mu sync.Mutex
	// last holds both reports of every audio stream, local and remote,
	// and when each last went out (zero: not yet). A report whose key is
	// missing is not an audio stream's and is never held.
	last map[reportKey]time.Time
}

// reportKey names one report of a stream: its sender report (a local
// stream's) or its receiver report (a remote one's). An SSRC can be
// both, in an echo that sends with the SSRC it receives.
type reportKey struct {
	ssrc     uint32
	receiver bool
}

func (p *reportPacerInterceptor) track(info *interceptor.StreamInfo) {
	if !isAudio(info) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range []reportKey{{info.SSRC, false}, {info.SSRC, true}} {
		if _, ok := p.last[k]; !ok {
			p.last[k] = time.Time{}
		}
	}
}

func (p *reportPacerInterceptor) untrack(info *interceptor.StreamInfo) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.last, reportKey{info.SSRC, false})
	delete(p.last, reportKey{info.SSRC, true})
}

func (p *reportPacerInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	p.track(info)
	return w
}

func (p *reportPacerInterceptor) UnbindLocalStream(info *interceptor.StreamInfo) { p.untrack(info) }

func (p *reportPacerInterceptor) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	p.track(info)
	return r
}

func (p *reportPacerInterceptor) UnbindRemoteStream(info *interceptor.StreamInfo) { p.untrack(info) }

// BindRTCPWriter returns the writer pion's report loops write to. Every
// other RTCP packet (feedback, key-frame requests, video's reports)
// passes untouched.
func (p *reportPacerInterceptor) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		kept := p.pace(pkts)
		if len(kept) == 0 {
			return 0, nil
		}
		return w.Write(kept, a)
	})
}

// pace returns pkts without the audio reports that come too soon. pkts
// itself is returned when nothing is held back, which is every batch but
// the report loops'.
func (p *reportPacerInterceptor) pace(pkts []rtcp.Packet) []rtcp.Packet {
	var kept []rtcp.Packet
	for i, pkt := range pkts {
		if p.send(pkt) {
			if kept != nil {
				kept = append(kept, pkt)
			}
			continue
		}
		if kept == nil {
			kept = append(make([]rtcp.Packet, 0, len(pkts)), pkts[:i]...)
		}
	}
	if kept == nil {
		return pkts
	}
	return kept
}

// send reports whether pkt goes out now: anything but an audio stream's
// report does; an audio report does when its stream's last went out at
// least audioReportInterval ago (less the ticker's slack).
func (p *reportPacerInterceptor) send(pkt rtcp.Packet) bool {
	var key reportKey
	switch r := pkt.(type) {
	case *rtcp.SenderReport:
		key.ssrc = r.SSRC
	case *rtcp.ReceiverReport:
		if len(r.Reports) != 1 {
			return true
		}
		key = reportKey{r.Reports[0].SSRC, true}
	default:
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	last, ok := p.last[key]
	if !ok {
		return true
	}
	now := p.now()
	if !last.IsZero() && now.Sub(last) < audioReportInterval-reportSlack {
		return false
	}
	p.last[key] = now
	return true
}
