// Forwarding a call's received RTP, unchanged, to local UDP ports (for
// ffmpeg), with the SDP that describes it; loopback only unless allowed.

package rtp

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// LoopbackAddr resolves hostport ("127.0.0.1:5004", "localhost:5004",
// "[::1]:5004") and returns it, or an error wrapping ErrNotLoopback when
// it is not on this machine's loopback.
func LoopbackAddr(hostport string) (*net.UDPAddr, error) {
	a, err := net.ResolveUDPAddr("udp", hostport)
	if err != nil {
		return nil, fmt.Errorf("rtp: %q: %w", hostport, err)
	}
	if a.IP == nil || !a.IP.IsLoopback() {
		return a, fmt.Errorf("%w: %s", ErrNotLoopback, hostport)
	}
	return a, nil
}

// ForwardStream is one content's RTP as a Forward sends it: where to, and
// exactly what (the negotiated payload type, unchanged), which is what
// the SDP file says too.
type ForwardStream struct {
	Content     string `json:"content"`
	Media       string `json:"media"` // audio or video
	Addr        string `json:"addr"`  // host:port the RTP goes to
	PayloadType uint8  `json:"payload_type"`
	Codec       string `json:"codec"` // the rtpmap encoding name: opus, VP8, PCMU…
	ClockRate   uint32 `json:"clock_rate"`
	Channels    uint16 `json:"channels,omitempty"`
	Fmtp        string `json:"fmtp,omitempty"`
}

// ForwardOptions configure Forward.
type ForwardOptions struct {
	// Addr is HOST:PORT. The first audio content goes to PORT, the first
	// video content to PORT+2 and any further content to PORT+4, PORT+6…
	// in the order their media starts: even ports, since receivers such
	// as ffmpeg take the next port for RTCP.
	Addr string
	// AllowRemote permits an Addr outside loopback (see ErrNotLoopback).
	AllowRemote bool
	// SDP is the file to write the session description to (the streams
	// sent so far, rewritten as each starts), so `ffmpeg -i FILE` or
	// GStreamer can receive them. Empty writes none.
	SDP string
	// OnStream is called when a content's stream starts, after the SDP
	// file has been written with it; streams are all streams so far.
	OnStream func(s ForwardStream, streams []ForwardStream)
}

// Forward returns a SinkFactory that sends each received content's RTP,
// unchanged, to its own local UDP port and describes the streams in an
// SDP file, so ffmpeg or GStreamer can play or record a call's media
// without any decoding here. Packets of a payload type other than the
// track's negotiated one (comfort noise, DTMF) are not forwarded: the SDP
// file describes only that one. Use a new factory per call.
func Forward(o ForwardOptions) (SinkFactory, error) {
	base, err := LoopbackAddr(o.Addr)
	if errors.Is(err, ErrNotLoopback) && o.AllowRemote {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	if base.Port == 0 || base.Port > 65535-64 {
		return nil, fmt.Errorf("rtp: forward port %d: want 1 to %d", base.Port, 65535-64)
	}
	f := &forwarder{o: o, base: base, used: map[int]bool{}}
	return f.sink, nil
}

type forwarder struct {
	o    ForwardOptions
	base *net.UDPAddr

	mu      sync.Mutex
	used    map[int]bool // port offsets taken
	streams []ForwardStream
}

// offset picks a content's port offset: 0 for the first audio, 2 for the
// first video, then the next free even offset from 4.
func (f *forwarder) offset(media string) int {
	want := 0
	if media == MediaVideo {
		want = 2
	}
	if !f.used[want] {
		return want
	}
	for off := 4; ; off += 2 {
		if !f.used[off] {
			return off
		}
	}
}

func (f *forwarder) sink(content string, c webrtc.RTPCodecParameters) (Sink, error) {
	media, _, _ := strings.Cut(c.MimeType, "/")
	media = strings.ToLower(media)
	pt := PayloadTypeFromCodec(c)
	f.mu.Lock()
	defer f.mu.Unlock()
	off := f.offset(media)
	addr := &net.UDPAddr{IP: f.base.IP, Port: f.base.Port + off, Zone: f.base.Zone}
	u, err := DialUDPSink(addr.String())
	if err != nil {
		return nil, err
	}
	s := ForwardStream{Content: content, Media: media, Addr: addr.String(), PayloadType: uint8(c.PayloadType),
		Codec: pt.Name, ClockRate: pt.ClockRate, Channels: pt.Channels, Fmtp: pt.Fmtp()}
	if media == MediaVideo {
		s.Channels = 0
	}
	streams := append(append([]ForwardStream(nil), f.streams...), s)
	if f.o.SDP != "" {
		if err := writeFileAtomic(f.o.SDP, []byte(ForwardSDP(streams))); err != nil {
			u.Close()
			return nil, fmt.Errorf("rtp: writing the SDP file: %w", err)
		}
	}
	f.used[off] = true
	f.streams = streams
	if f.o.OnStream != nil {
		f.o.OnStream(s, streams)
	}
	return &forwardSink{UDPSink: u, pt: uint8(c.PayloadType)}, nil
}

// forwardSink passes on the packets of one payload type.
type forwardSink struct {
	*UDPSink
	pt uint8
}

func (s *forwardSink) WriteRTP(p *pionrtp.Packet) error {
	if p.PayloadType != s.pt {
		return nil
	}
	return s.UDPSink.WriteRTP(p)
}

// ForwardSDP is the session description of streams for a receiver
// (RFC 8866): one m-line per stream on its port, with its payload type,
// rtpmap and fmtp. ffmpeg and GStreamer read it; it carries no ICE or
// crypto since the RTP is plain and local.
func ForwardSDP(streams []ForwardStream) string {
	ipv := func(a string) (string, string) {
		host, _, _ := net.SplitHostPort(a)
		if strings.Contains(host, ":") {
			return "IP6", host
		}
		return "IP4", host
	}
	var b strings.Builder
	v, host := "IP4", "127.0.0.1"
	if len(streams) > 0 {
		v, host = ipv(streams[0].Addr)
	}
	fmt.Fprintf(&b, "v=0\r\no=- %d 1 IN %s %s\r\ns=jingle call\r\nc=IN %s %s\r\nt=0 0\r\n", time.Now().Unix(), v, host, v, host)
	for _, s := range streams {
		_, port, _ := net.SplitHostPort(s.Addr)
		pt := strconv.Itoa(int(s.PayloadType))
		fmt.Fprintf(&b, "m=%s %s RTP/AVP %s\r\ni=Jingle content %s\r\n", s.Media, port, pt, s.Content)
		p := PayloadType{Name: s.Codec, ClockRate: s.ClockRate, Channels: s.Channels}
		fmt.Fprintf(&b, "a=rtpmap:%s %s\r\n", pt, p.Rtpmap())
		if s.Fmtp != "" {
			fmt.Fprintf(&b, "a=fmtp:%s %s\r\n", pt, s.Fmtp)
		}
		b.WriteString("a=recvonly\r\n")
	}
	return b.String()
}

// writeFileAtomic replaces path with data through a rename, so a reader
// never sees half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
