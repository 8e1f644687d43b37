package rtp

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

func TestLoopbackAddr(t *testing.T) {
	for _, tc := range []struct {
		addr    string
		loop    bool
		invalid bool
	}{
		{"127.0.0.1:5004", true, false},
		{"127.9.9.9:5004", true, false},
		{"[::1]:5004", true, false},
		{"localhost:5004", true, false},
		{"192.0.2.10:5004", false, false},
		{"[2001:db8::1]:5004", false, false},
		{"0.0.0.0:5004", false, false},
		{":5004", false, false},
		{"127.0.0.1", false, true},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			_, err := LoopbackAddr(tc.addr)
			switch {
			case tc.loop && err != nil:
				t.Fatalf("loopback refused: %v", err)
			case !tc.loop && !tc.invalid && !errors.Is(err, ErrNotLoopback):
				t.Fatalf("got %v, want ErrNotLoopback", err)
			case tc.invalid && (err == nil || errors.Is(err, ErrNotLoopback)):
				t.Fatalf("got %v, want a parse error", err)
			}
		})
	}
}

var (
	fwdOpus = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}
	fwdVP8  = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 98}
	fwdPCMU = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}, PayloadType: 0}
)

// TestForwardPortsAndSDP: audio on PORT, video on PORT+2, a further
// content on PORT+4, and the SDP file says exactly that after each
// stream started.
func TestForwardPortsAndSDP(t *testing.T) {
	sdp := filepath.Join(t.TempDir(), "call.sdp")
	var seen []ForwardStream
	f, err := Forward(ForwardOptions{Addr: "127.0.0.1:40000", SDP: sdp, OnStream: func(s ForwardStream, all []ForwardStream) {
		seen = append(seen, s)
		if len(all) != len(seen) {
			t.Errorf("OnStream: %d streams so far, want %d", len(all), len(seen))
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		content string
		codec   webrtc.RTPCodecParameters
		addr    string
		lines   []string
	}{
		{"video", fwdVP8, "127.0.0.1:40002", []string{"m=video 40002 RTP/AVP 98", "a=rtpmap:98 VP8/90000"}},
		{"audio", fwdOpus, "127.0.0.1:40000", []string{"m=audio 40000 RTP/AVP 111", "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=1", "c=IN IP4 127.0.0.1"}},
		{"video-bob", fwdVP8, "127.0.0.1:40004", []string{"m=video 40004 RTP/AVP 98", "i=Jingle content video-bob"}},
		{"audio-2", fwdPCMU, "127.0.0.1:40006", []string{"m=audio 40006 RTP/AVP 0", "a=rtpmap:0 PCMU/8000\r\n"}},
	} {
		s, err := f(tc.content, tc.codec)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got := seen[len(seen)-1]; got.Addr != tc.addr || got.Content != tc.content {
			t.Errorf("%s: stream %+v, want %s", tc.content, got, tc.addr)
		}
		b, err := os.ReadFile(sdp)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range tc.lines {
			if !strings.Contains(string(b), l) {
				t.Errorf("%s: SDP lacks %q:\n%s", tc.content, l, b)
			}
		}
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(sdp), ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestForwardSendsNegotiatedPayloadType: the stream's packets arrive
// unchanged; another payload type (DTMF, comfort noise) is not sent.
func TestForwardSendsNegotiatedPayloadType(t *testing.T) {
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := Forward(ForwardOptions{Addr: ln.LocalAddr().String()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := f("audio", fwdOpus)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, pt := range []uint8{111, 126, 111} {
		if err := s.WriteRTP(&pionrtp.Packet{Header: pionrtp.Header{Version: 2, PayloadType: pt, SequenceNumber: uint16(i), SSRC: 7}, Payload: []byte{0xf8}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []uint16{0, 2} {
		p := readRTP(t, ln)
		if p.SequenceNumber != want || p.PayloadType != 111 || p.SSRC != 7 {
			t.Fatalf("got %+v, want sequence %d with payload type 111", p.Header, want)
		}
	}
}

// readRTP reads one RTP packet from ln within 5 s.
func readRTP(t *testing.T, ln net.PacketConn) pionrtp.Packet {
	t.Helper()
	buf := make([]byte, 1500)
	_ = ln.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := ln.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	var p pionrtp.Packet
	if err := p.Unmarshal(buf[:n]); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestForwardRefusesRemote(t *testing.T) {
	if _, err := Forward(ForwardOptions{Addr: "192.0.2.1:5004"}); !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("remote address: %v", err)
	}
	if _, err := Forward(ForwardOptions{Addr: "192.0.2.1:5004", AllowRemote: true}); err != nil {
		t.Fatalf("remote address allowed: %v", err)
	}
	if _, err := Forward(ForwardOptions{Addr: "127.0.0.1:0"}); err == nil {
		t.Fatal("port 0 accepted")
	}
}

// TestTee: both sinks get every packet, and a key frame is wanted while
// either wants one.
func TestTee(t *testing.T) {
	var a, b countSink
	f := Tee(nil, func(string, webrtc.RTPCodecParameters) (Sink, error) { return &a, nil },
		func(string, webrtc.RTPCodecParameters) (Sink, error) { return &b, nil })
	s, err := f("audio", fwdOpus)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_ = s.WriteRTP(&pionrtp.Packet{})
	}
	if err := s.Close(); err != nil || a.n != 3 || b.n != 3 || !a.closed || !b.closed {
		t.Fatalf("tee: %v %+v %+v", err, a, b)
	}
	if k, ok := s.(interface{ NeedKeyFrame() bool }); !ok || !k.NeedKeyFrame() {
		t.Fatal("a sink that cannot say must get key frames")
	}
}

type countSink struct {
	n      int
	closed bool
}

func (c *countSink) WriteRTP(*pionrtp.Packet) error { c.n++; return nil }
func (c *countSink) Close() error                   { c.closed = true; return nil }
