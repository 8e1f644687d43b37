// Interceptors that start with the first stream that needs them (pion's
// NACK generator and TWCC sender), so an audio call pays for neither.

package rtp

import (
	"strings"
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/sdp/v3"
)

// lazyFactory makes interceptors that come to life with the first remote
// stream they act on. pion's NACK generator and TWCC sender each start a
// goroutine ticking every 100 ms when the PeerConnection binds its RTCP
// writer, whether or not any stream will ever need them; an audio call
// (no NACK, no TWCC on audio) paid 20 wake-ups a second for nothing, a
// few per cent of an echo call's CPU in bench/calls. The real interceptor
// is bound to the same RTCP writer, only later, so what it sends is the
// same.
type lazyFactory struct {
	inner interceptor.Factory
	wants func(*interceptor.StreamInfo) bool
}

func (f lazyFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	return &lazyInterceptor{newInner: func() (interceptor.Interceptor, error) { return f.inner.NewInterceptor(id) }, wants: f.wants}, nil
}

type lazyInterceptor struct {
	interceptor.NoOp
	newInner func() (interceptor.Interceptor, error)
	wants    func(*interceptor.StreamInfo) bool

	mu     sync.Mutex
	writer interceptor.RTCPWriter
	inner  interceptor.Interceptor
	closed bool
}

// BindRTCPWriter keeps the writer for the inner interceptor; neither pion
// interceptor wraps it.
func (l *lazyInterceptor) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writer = w
	if l.inner != nil {
		return l.inner.BindRTCPWriter(w)
	}
	return w
}

// BindRemoteStream creates the inner interceptor for the first stream it
// wants.
func (l *lazyInterceptor) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	if !l.wants(info) {
		return r
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inner == nil {
		if l.closed {
			return r
		}
		in, err := l.newInner()
		if err != nil {
			return r
		}
		l.inner = in
		if l.writer != nil {
			in.BindRTCPWriter(l.writer)
		}
	}
	return l.inner.BindRemoteStream(info, r)
}

func (l *lazyInterceptor) UnbindRemoteStream(info *interceptor.StreamInfo) {
	l.mu.Lock()
	in := l.inner
	l.mu.Unlock()
	if in != nil {
		in.UnbindRemoteStream(info)
	}
}

func (l *lazyInterceptor) Close() error {
	l.mu.Lock()
	l.closed = true
	in := l.inner
	l.mu.Unlock()
	if in != nil {
		return in.Close()
	}
	return nil
}

// wantsNack: the stream negotiated generic NACK (as pion's generator
// decides).
func wantsNack(info *interceptor.StreamInfo) bool {
	for _, fb := range info.RTCPFeedback {
		if fb.Type == "nack" && fb.Parameter == "" {
			return true
		}
	}
	return false
}

// wantsTWCC: the stream carries the transport-wide sequence number
// extension (as pion's TWCC sender decides).
func wantsTWCC(info *interceptor.StreamInfo) bool {
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI && e.ID != 0 {
			return true
		}
	}
	return false
}

// isAudio: the stream is audio, by its codec's MIME type ("audio/opus";
// the case varies with who wrote the SDP). The direct send path and the
// report pacer act on audio streams only.
func isAudio(info *interceptor.StreamInfo) bool {
	return strings.HasPrefix(strings.ToLower(info.MimeType), "audio/")
}

// lazyNackGenerator and lazyTWCCSender are pion's, started on demand.
func lazyNackGenerator() (interceptor.Factory, error) {
	g, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return nil, err
	}
	return lazyFactory{inner: g, wants: wantsNack}, nil
}

func lazyTWCCSender() (interceptor.Factory, error) {
	s, err := twcc.NewSenderInterceptor()
	if err != nil {
		return nil, err
	}
	return lazyFactory{inner: s, wants: wantsTWCC}, nil
}
