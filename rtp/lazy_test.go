package rtp

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
)

// countingFactory records what the lazily made interceptor was asked.
type countingFactory struct{ made *[]*countingInterceptor }

func (f countingFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	c := &countingInterceptor{}
	*f.made = append(*f.made, c)
	return c, nil
}

type countingInterceptor struct {
	interceptor.NoOp
	writer          interceptor.RTCPWriter
	streams, closed int
}

func (c *countingInterceptor) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	c.writer = w
	return w
}

func (c *countingInterceptor) BindRemoteStream(_ *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	c.streams++
	return r
}

func (c *countingInterceptor) Close() error { c.closed++; return nil }

func TestLazyInterceptor(t *testing.T) {
	audio := &interceptor.StreamInfo{MimeType: "audio/opus"}
	video := &interceptor.StreamInfo{MimeType: "video/VP8", RTCPFeedback: []interceptor.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}}
	twccVideo := &interceptor.StreamInfo{MimeType: "video/VP8", RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 3}}}
	writer := interceptor.RTCPWriterFunc(func([]rtcp.Packet, interceptor.Attributes) (int, error) { return 0, nil })
	for _, tc := range []struct {
		name    string
		wants   func(*interceptor.StreamInfo) bool
		streams []*interceptor.StreamInfo
		made    int // inner interceptors made
		bound   int // streams bound to it
	}{
		{"audio only: never started", wantsNack, []*interceptor.StreamInfo{audio, audio}, 0, 0},
		{"NACK video: started once", wantsNack, []*interceptor.StreamInfo{audio, video, video}, 1, 2},
		{"TWCC on video only", wantsTWCC, []*interceptor.StreamInfo{audio, video, twccVideo}, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var made []*countingInterceptor
			i, err := lazyFactory{inner: countingFactory{&made}, wants: tc.wants}.NewInterceptor("")
			if err != nil {
				t.Fatal(err)
			}
			i.BindRTCPWriter(writer)
			for _, s := range tc.streams {
				i.BindRemoteStream(s, nil)
			}
			if err := i.Close(); err != nil {
				t.Fatal(err)
			}
			if len(made) != tc.made {
				t.Fatalf("%d inner interceptors made, want %d", len(made), tc.made)
			}
			if tc.made == 1 {
				in := made[0]
				if in.writer == nil || in.streams != tc.bound || in.closed != 1 {
					t.Fatalf("inner: writer bound %v, %d streams (want %d), closed %d times", in.writer != nil, in.streams, tc.bound, in.closed)
				}
			}
		})
	}
}
