// Sources: what a call sends, read from files (Ogg/Opus, WAV, IVF, H.264) at
// their own pace or from RTP arriving on a local UDP port.

package rtp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// Source feeds one local track of a call: a file read at its own pace, or
// RTP arriving on a local UDP port from ffmpeg or GStreamer.
type Source interface {
	// Codec is the codec the media is already encoded with. The call
	// offers (or accepts) only this codec for the source's content, since
	// nothing is transcoded.
	Codec() webrtc.RTPCodecCapability
	// Kind is audio or video.
	Kind() webrtc.RTPCodecType
	// Track returns the local track to add to the PeerConnection.
	Track() webrtc.TrackLocal
	// Run sends the media into the track until the source ends (nil), ctx
	// is done (nil), or reading fails. It is called once, after the
	// PeerConnection connected, so the first key frame is not lost.
	Run(ctx context.Context) error
	// Close releases the file or socket; it unblocks Run.
	Close() error
}

// Pauser is a Source that can stop sending for a while (mute, hold)
// without ending. The call pauses sources that implement it when we put
// the call on hold or mute a content (Call.Info).
type Pauser interface {
	SetPaused(paused bool)
}

// Source codecs. Payload type numbers are chosen at negotiation.
var (
	CodecOpus = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}
	CodecPCMU = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}
	CodecPCMA = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000, Channels: 1}
	CodecG722 = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeG722, ClockRate: 8000, Channels: 1}
	CodecVP8  = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	CodecVP9  = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000, SDPFmtpLine: "profile-id=0"}
	CodecH264 = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
)

// OpenFile opens a media file as a Source, choosing the reader by
// extension: .ogg/.opus (Ogg/Opus), .wav (PCM or G.711, encoded to
// G.722, PCMU or PCMA as negotiated; see OpenWAV), .ivf (VP8 or VP9,
// from the IVF header), .h264/.264 (H.264 Annex-B at fps frames per
// second; fps <= 0 means 30). id names the track (the content name is a
// good choice).
func OpenFile(path, id string, fps int) (Source, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ogg", ".opus", ".oga":
		return OpenOgg(path, id)
	case ".wav":
		return OpenWAV(path, id)
	case ".ivf":
		return OpenIVF(path, id)
	case ".h264", ".264":
		return OpenH264(path, id, fps)
	}
	return nil, fmt.Errorf("%w: %s (want .ogg, .wav, .ivf or .h264)", ErrUnknownMediaFile, path)
}

// sampleSource paces samples from a reader into a sample track.
type sampleSource struct {
	paused atomic.Bool
	codec  webrtc.RTPCodecCapability
	// codecs, when set, are the codecs the source can send, codec
	// first (a source that encodes; see SourceCodecs).
	codecs []webrtc.RTPCodecCapability
	track  sampleTrack
	file   *os.File
	next   func() (media.Sample, error)
}

// sampleTrack is pion's TrackLocalStaticSample or a codecTrack.
type sampleTrack interface {
	webrtc.TrackLocal
	WriteSample(media.Sample) error
}

// SourceCodecs returns the codecs src can send, in its preference order:
// its one codec for media that is already encoded, several for a source
// that encodes (a WAV file: G.722, PCMU, PCMA).
func SourceCodecs(src Source) []webrtc.RTPCodecCapability {
	if s, ok := src.(*sampleSource); ok && len(s.codecs) > 0 {
		return append([]webrtc.RTPCodecCapability(nil), s.codecs...)
	}
	return []webrtc.RTPCodecCapability{src.Codec()}
}

func newSampleSource(c webrtc.RTPCodecCapability, id string, f *os.File, next func() (media.Sample, error)) (*sampleSource, error) {
	kind := "audio"
	if strings.HasPrefix(c.MimeType, "video/") {
		kind = "video"
	}
	t, err := webrtc.NewTrackLocalStaticSample(c, id, "jingled-"+kind)
	if err != nil {
		return nil, fmt.Errorf("rtp: new %s track: %w", c.MimeType, err)
	}
	return &sampleSource{codec: c, track: t, file: f, next: next}, nil
}

func (s *sampleSource) Codec() webrtc.RTPCodecCapability { return s.codec }
func (s *sampleSource) Track() webrtc.TrackLocal         { return s.track }
func (s *sampleSource) Close() error                     { return s.file.Close() }

// SetPaused implements Pauser.
func (s *sampleSource) SetPaused(p bool) { s.paused.Store(p) }

func (s *sampleSource) Kind() webrtc.RTPCodecType {
	if strings.HasPrefix(s.codec.MimeType, "video/") {
		return webrtc.RTPCodecTypeVideo
	}
	return webrtc.RTPCodecTypeAudio
}

// Run writes each sample when its time comes: the schedule is the sum of
// sample durations from the start, so pacing does not drift with the
// time spent writing.
func (s *sampleSource) Run(ctx context.Context) error {
	start := time.Now()
	var at time.Duration
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		sample, err := s.next()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, os.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		if wait := time.Until(start.Add(at)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return nil
		}
		at += sample.Duration
		if s.paused.Load() {
			// Muted or on hold: the file plays on in silence, like a
			// microphone that is muted, so unmuting resumes in step.
			continue
		}
		if err := s.track.WriteSample(sample); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			return fmt.Errorf("rtp: writing %s sample: %w", s.codec.MimeType, err)
		}
	}
}

// OpenOgg opens an Ogg/Opus file. Pages are split into Opus packets with
// the Ogg lacing values (pion's oggreader returns whole pages, which only
// works for files with one packet per page); each packet's duration comes
// from its TOC byte (RFC 6716 §3.1).
func OpenOgg(path, id string) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rtp: %w", err)
	}
	r := &oggPackets{r: bufio.NewReader(f)}
	head, err := r.packet()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("rtp: %s: reading OpusHead: %w", path, err)
	}
	h, err := oggreader.ParseOpusHead(head)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("rtp: %s: not Ogg/Opus: %w", path, err)
	}
	if _, err := r.packet(); err != nil { // OpusTags
		f.Close()
		return nil, fmt.Errorf("rtp: %s: reading OpusTags: %w", path, err)
	}
	c := CodecOpus
	_ = h.Channels // RTP Opus is always signalled as 2 channels (RFC 7587 §7).
	next := func() (media.Sample, error) {
		for {
			p, err := r.packet()
			if err != nil {
				return media.Sample{}, err
			}
			d, err := opusDuration(p)
			if err != nil {
				continue // Skip a malformed packet rather than the file.
			}
			return media.Sample{Data: p, Duration: d}, nil
		}
	}
	return newSampleSource(c, id, f, next)
}

// oggPackets reassembles packets from Ogg pages (RFC 3533 §6).
type oggPackets struct {
	r       *bufio.Reader
	pending [][]byte // complete packets of the current page
	partial []byte   // a packet continued on the next page
}

func (o *oggPackets) packet() ([]byte, error) {
	for len(o.pending) == 0 {
		if err := o.page(); err != nil {
			return nil, err
		}
	}
	p := o.pending[0]
	o.pending = o.pending[1:]
	return p, nil
}

func (o *oggPackets) page() error {
	var h [27]byte
	if _, err := io.ReadFull(o.r, h[:]); err != nil {
		return err
	}
	if string(h[:4]) != "OggS" {
		return fmt.Errorf("%w: bad Ogg page signature", ErrUnknownMediaFile)
	}
	lacing := make([]byte, h[26])
	if _, err := io.ReadFull(o.r, lacing); err != nil {
		return err
	}
	for _, l := range lacing {
		seg := make([]byte, l)
		if _, err := io.ReadFull(o.r, seg); err != nil {
			return err
		}
		o.partial = append(o.partial, seg...)
		if l < 255 {
			o.pending = append(o.pending, o.partial)
			o.partial = nil
		}
	}
	return nil
}

// opusDuration returns the duration of an Opus packet from its TOC byte
// and frame count code (RFC 6716 §3.1, §3.2).
func opusDuration(p []byte) (time.Duration, error) {
	if len(p) == 0 {
		return 0, fmt.Errorf("%w: empty Opus packet", ErrUnknownMediaFile)
	}
	cfg := p[0] >> 3
	var frame time.Duration
	switch {
	case cfg < 12: // SILK: 10, 20, 40, 60 ms
		frame = []time.Duration{10, 20, 40, 60}[cfg%4] * time.Millisecond
	case cfg < 16: // Hybrid: 10, 20 ms
		frame = []time.Duration{10, 20}[cfg%2] * time.Millisecond
	default: // CELT: 2.5, 5, 10, 20 ms
		frame = []time.Duration{2500, 5000, 10000, 20000}[cfg%4] * time.Microsecond
	}
	n := 1
	switch p[0] & 3 {
	case 1, 2:
		n = 2
	case 3:
		if len(p) < 2 {
			return 0, fmt.Errorf("%w: truncated Opus code 3 packet", ErrUnknownMediaFile)
		}
		n = int(p[1] & 0x3f)
	}
	return frame * time.Duration(n), nil
}

// OpenIVF opens an IVF file holding VP8 or VP9, paced by the frame
// timestamps in the file's timebase.
func OpenIVF(path, id string) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rtp: %w", err)
	}
	r, h, err := ivfreader.NewWith(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("rtp: %s: %w", path, err)
	}
	var c webrtc.RTPCodecCapability
	switch h.FourCC {
	case "VP80":
		c = CodecVP8
	case "VP90":
		c = CodecVP9
	default:
		f.Close()
		return nil, fmt.Errorf("%w: %s: IVF codec %q (want VP80 or VP90)", ErrUnknownMediaFile, path, h.FourCC)
	}
	if h.TimebaseDenominator == 0 {
		f.Close()
		return nil, fmt.Errorf("%w: %s: IVF timebase denominator 0", ErrUnknownMediaFile, path)
	}
	// pion's reader reports pts*den/num as the frame timestamp; the
	// frame's time in seconds is pts*num/den, hence the squared ratio.
	num, den := float64(h.TimebaseNumerator), float64(h.TimebaseDenominator)
	if num == 0 {
		num = 1
	}
	unit := float64(time.Second) * num * num / (den * den)
	tick := time.Duration(float64(time.Second) * num / den)
	var prev uint64
	first := true
	next := func() (media.Sample, error) {
		frame, fh, err := r.ParseNextFrame()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				// A truncated last frame (a recording cut short) ends
				// the file like EOF does.
				return media.Sample{}, fmt.Errorf("%w: %w", io.EOF, err)
			}
			return media.Sample{}, err
		}
		d := tick
		if !first && fh.Timestamp > prev {
			d = time.Duration(unit * float64(fh.Timestamp-prev))
		}
		first, prev = false, fh.Timestamp
		return media.Sample{Data: frame, Duration: d}, nil
	}
	return newSampleSource(c, id, f, next)
}

// OpenH264 opens an H.264 Annex-B byte stream. NAL units are grouped into
// access units (a frame ends with its coded slice) so that SPS/PPS travel
// with the key frame and each frame gets one timestamp.
func OpenH264(path, id string, fps int) (Source, error) {
	if fps <= 0 {
		fps = 30
	}
	codec, err := h264FileCodec(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rtp: %w", err)
	}
	r, err := h264reader.NewReader(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("rtp: %s: %w", path, err)
	}
	frame := time.Second / time.Duration(fps)
	// An access unit ends where the next one starts: at a non-VCL NAL
	// (SPS, PPS, AUD, SEI) after a slice, or at a slice whose
	// first_mb_in_slice is 0 (the ue(v) code "1") after a slice.
	// Encoders that cut frames into several slices (libx264's sliced
	// threads) thus still give one sample per frame.
	var held *h264reader.NAL
	next := func() (media.Sample, error) {
		var au []byte
		vcl := false
		for {
			nal := held
			held = nil
			if nal == nil {
				var err error
				nal, err = r.NextNAL()
				if err != nil {
					if len(au) > 0 && errors.Is(err, io.EOF) {
						return media.Sample{Data: au, Duration: frame}, nil
					}
					return media.Sample{}, err
				}
			}
			isVCL := nal.UnitType == h264reader.NalUnitTypeCodedSliceNonIdr || nal.UnitType == h264reader.NalUnitTypeCodedSliceIdr
			firstSlice := isVCL && len(nal.Data) > 1 && nal.Data[1]&0x80 != 0
			if vcl && (!isVCL || firstSlice) {
				held = nal
				return media.Sample{Data: au, Duration: frame}, nil
			}
			vcl = vcl || isVCL
			au = append(au, 0, 0, 0, 1)
			au = append(au, nal.Data...)
		}
	}
	return newSampleSource(codec, id, f, next)
}

// UDPSource receives RTP on a local UDP socket and forwards it into a
// track, rewriting SSRC and payload type (pion's TrackLocalStaticRTP does
// that), so `ffmpeg -re -i in -c:a libopus -f rtp rtp://127.0.0.1:PORT`
// can feed a call.
type UDPSource struct {
	paused atomic.Bool
	codec  webrtc.RTPCodecCapability
	track  *webrtc.TrackLocalStaticRTP
	conn   net.PacketConn
}

// ListenUDP opens a UDPSource on addr (e.g. "127.0.0.1:5004"; port 0
// picks one, see Addr) for media encoded with codec.
func ListenUDP(addr string, codec webrtc.RTPCodecCapability, id string) (*UDPSource, error) {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("rtp: listening for RTP: %w", err)
	}
	kind := "audio"
	if strings.HasPrefix(codec.MimeType, "video/") {
		kind = "video"
	}
	t, err := webrtc.NewTrackLocalStaticRTP(codec, id, "jingled-"+kind)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("rtp: new %s track: %w", codec.MimeType, err)
	}
	return &UDPSource{codec: codec, track: t, conn: conn}, nil
}

// Addr is the local address to send RTP to.
func (u *UDPSource) Addr() net.Addr { return u.conn.LocalAddr() }

// Codec implements Source.
func (u *UDPSource) Codec() webrtc.RTPCodecCapability { return u.codec }

// Track implements Source.
func (u *UDPSource) Track() webrtc.TrackLocal { return u.track }

// Close implements Source.
func (u *UDPSource) Close() error { return u.conn.Close() }

// SetPaused implements Pauser: packets received while paused are
// dropped.
func (u *UDPSource) SetPaused(p bool) { u.paused.Store(p) }

// Kind implements Source.
func (u *UDPSource) Kind() webrtc.RTPCodecType {
	if strings.HasPrefix(u.codec.MimeType, "video/") {
		return webrtc.RTPCodecTypeVideo
	}
	return webrtc.RTPCodecTypeAudio
}

// Run forwards packets until Close or ctx is done. RTCP that arrives on
// the same port (rtcp-mux senders) is recognised by its payload type
// range (RFC 5761 §4) and dropped.
func (u *UDPSource) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { u.conn.Close() })
	defer stop()
	buf := make([]byte, 1500)
	for {
		n, _, err := u.conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("rtp: reading RTP: %w", err)
		}
		if n < 12 || (buf[1]&0x7f >= 64 && buf[1]&0x7f <= 95) {
			continue
		}
		var p pionrtp.Packet
		if err := p.Unmarshal(buf[:n]); err != nil || u.paused.Load() {
			continue
		}
		if err := u.track.WriteRTP(&p); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			return fmt.Errorf("rtp: forwarding RTP: %w", err)
		}
	}
}
