package rtp

import (
	"reflect"
	"testing"

	"github.com/pion/webrtc/v4"
)

func TestFmtp(t *testing.T) {
	tests := []struct {
		name, in, out string
		params        []Parameter
	}{
		{"opus", "minptime=10;useinbandfec=1", "minptime=10;useinbandfec=1",
			[]Parameter{{"minptime", "10"}, {"useinbandfec", "1"}}},
		{"h264 with spaces", "profile-level-id=42e01f; packetization-mode=1;level-asymmetry-allowed=1",
			"profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1",
			[]Parameter{{"profile-level-id", "42e01f"}, {"packetization-mode", "1"}, {"level-asymmetry-allowed", "1"}}},
		{"rtx", "apt=96", "apt=96", []Parameter{{"apt", "96"}}},
		{"red bare token", "111/111", "111/111", []Parameter{{Name: "111/111"}}},
		{"telephone-event range", "0-16", "0-16", []Parameter{{Name: "0-16"}}},
		{"empty", "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseFmtp(tc.in)
			if !reflect.DeepEqual(got, tc.params) {
				t.Fatalf("ParseFmtp = %+v, want %+v", got, tc.params)
			}
			p := PayloadType{Parameters: got}
			if f := p.Fmtp(); f != tc.out {
				t.Fatalf("Fmtp = %q, want %q", f, tc.out)
			}
		})
	}
}

func TestRtpmap(t *testing.T) {
	tests := []struct {
		p    PayloadType
		want string
	}{
		{PayloadType{Name: "opus", ClockRate: 48000, Channels: 2}, "opus/48000/2"},
		{PayloadType{Name: "PCMU", ClockRate: 8000, Channels: 1}, "PCMU/8000"},
		{PayloadType{Name: "VP8", ClockRate: 90000}, "VP8/90000"},
	}
	for _, tc := range tests {
		if got := tc.p.Rtpmap(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.p, got, tc.want)
		}
		name, clock, ch, err := parseRtpmap(tc.want)
		if err != nil || name != tc.p.Name || clock != tc.p.ClockRate || (ch != tc.p.Channels && !(ch == 0 && tc.p.Channels <= 1)) {
			t.Errorf("parseRtpmap(%q) = %q %d %d %v", tc.want, name, clock, ch, err)
		}
	}
	for _, bad := range []string{"", "opus", "/8000", "opus/x", "opus/48000/x"} {
		if _, _, _, err := parseRtpmap(bad); err == nil {
			t.Errorf("parseRtpmap(%q) accepted", bad)
		}
	}
}

func TestCodecParameters(t *testing.T) {
	p := PayloadType{ID: 102, Name: "H264", ClockRate: 90000,
		Parameters:   ParseFmtp("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
		RTCPFeedback: []RTCPFeedback{{Type: "nack", Subtype: "pli"}}}
	c := p.CodecParameters(MediaVideo, []RTCPFeedback{{Type: "goog-remb"}})
	want := webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: "video/H264", ClockRate: 90000,
			SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "nack", Parameter: "pli"}},
		},
		PayloadType: 102,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	back := PayloadTypeFromCodec(c)
	if back.ID != 102 || back.Name != "H264" || back.Fmtp() != p.Fmtp() || len(back.RTCPFeedback) != 2 {
		t.Fatalf("back %+v", back)
	}
	opus := PayloadType{ID: 111, Name: "opus", ClockRate: 48000, Channels: 2, Parameters: ParseFmtp("minptime=10;useinbandfec=1")}
	oc := opus.CodecParameters(MediaAudio, nil)
	if oc.MimeType != webrtc.MimeTypeOpus || oc.Channels != 2 || oc.SDPFmtpLine != "minptime=10;useinbandfec=1" {
		t.Fatalf("opus %+v", oc)
	}
	pcmu := PayloadType{ID: 0, Name: "PCMU", ClockRate: 8000}
	if pc := pcmu.CodecParameters(MediaAudio, nil); pc.Channels != 1 {
		t.Fatalf("mono audio without channels: %+v", pc)
	}
}

// TestRegisterCodecsDino registers Dino's offer (VP8 on 98, speex, no
// channels on video) with a real MediaEngine.
func TestRegisterCodecsDino(t *testing.T) {
	for _, d := range []*Description{
		{Media: MediaAudio, PayloadTypes: []PayloadType{
			{ID: 111, Name: "opus", ClockRate: 48000, Channels: 2, Parameters: ParseFmtp("useinbandfec=1")},
			{ID: 112, Name: "speex", ClockRate: 32000}, {ID: 0, Name: "PCMU", ClockRate: 8000}}},
		{Media: MediaVideo, PayloadTypes: []PayloadType{{ID: 98, Name: "VP8", ClockRate: 90000,
			RTCPFeedback: []RTCPFeedback{{Type: "nack", Subtype: "pli"}}}}},
	} {
		var m webrtc.MediaEngine
		if err := RegisterCodecs(&m, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := RegisterCodecs(&webrtc.MediaEngine{}, &Description{Media: "application"}); err == nil {
		t.Fatal("application media registered")
	}
}
