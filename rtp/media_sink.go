// Sinks: what a call does with a received track, recording it to an Ogg
// or IVF file among others.

package rtp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"

	pionrtp "github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264writer"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// Sink consumes the RTP of one remote track. pion's media.Writer has the
// same shape, so its Ogg and H.264 writers are sinks as they are.
type Sink interface {
	WriteRTP(p *pionrtp.Packet) error
	Close() error
}

// CopyingSink is a Sink whose WriteRTP keeps nothing of the packet (the
// struct, its payload, its header extensions) once it returns: what it
// needs later it copies. The call may then hand it packets in reused
// memory: on the direct receive path (direct.go) that spares two
// allocations per packet, about half of what a conference focus
// allocates. The method only marks the promise.
type CopyingSink interface {
	Sink
	CopiesRTP()
}

// SinkFactory makes the sink for a remote track when it starts; content
// is the Jingle content name the track belongs to. Returning nil, nil
// discards the track.
type SinkFactory func(content string, codec webrtc.RTPCodecParameters) (Sink, error)

// Recorder returns a SinkFactory writing PREFIX.ogg for Opus, PREFIX.ivf
// for VP8/VP9, PREFIX.h264 for H.264 and PREFIX.wav for G.711 and G.722,
// the payload as received (mu-law, A-law or G.722 WAV, which ffmpeg and
// most players read; nothing is transcoded). A second track of the same extension gets
// PREFIX-CONTENT.EXT so nothing is overwritten.
func Recorder(prefix string) SinkFactory {
	var mu sync.Mutex
	used := map[string]bool{}
	return func(content string, c webrtc.RTPCodecParameters) (Sink, error) {
		ext, err := recordingExt(c.MimeType)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		path := prefix + ext
		if used[path] {
			path = prefix + "-" + content + ext
		}
		used[path] = true
		mu.Unlock()
		return NewFileSink(path, c)
	}
}

func recordingExt(mime string) (string, error) {
	switch strings.ToLower(mime) {
	case strings.ToLower(webrtc.MimeTypeOpus):
		return ".ogg", nil
	case strings.ToLower(webrtc.MimeTypeVP8), strings.ToLower(webrtc.MimeTypeVP9):
		return ".ivf", nil
	case strings.ToLower(webrtc.MimeTypeH264):
		return ".h264", nil
	case strings.ToLower(webrtc.MimeTypePCMU), strings.ToLower(webrtc.MimeTypePCMA), strings.ToLower(webrtc.MimeTypeG722):
		return ".wav", nil
	}
	return "", fmt.Errorf("%w: cannot record %s", ErrUnknownMediaFile, mime)
}

// NewFileSink creates the recording file for codec c at path.
func NewFileSink(path string, c webrtc.RTPCodecParameters) (Sink, error) {
	switch strings.ToLower(c.MimeType) {
	case strings.ToLower(webrtc.MimeTypeOpus):
		ch := c.Channels
		if ch == 0 {
			ch = 2
		}
		w, err := oggwriter.New(path, 48000, ch)
		if err != nil {
			return nil, fmt.Errorf("rtp: creating %s: %w", path, err)
		}
		return w, nil
	case strings.ToLower(webrtc.MimeTypeVP8), strings.ToLower(webrtc.MimeTypeVP9):
		return newIVFSink(path, c.MimeType)
	case strings.ToLower(webrtc.MimeTypeH264):
		w, err := h264writer.New(path)
		if err != nil {
			return nil, fmt.Errorf("rtp: creating %s: %w", path, err)
		}
		return w, nil
	case strings.ToLower(webrtc.MimeTypePCMU):
		return newWAVSink(path, wavHeader(wavMuLaw, 1, 8000, 8000, 1, 8, 0))
	case strings.ToLower(webrtc.MimeTypePCMA):
		return newWAVSink(path, wavHeader(wavALaw, 1, 8000, 8000, 1, 8, 0))
	case strings.ToLower(webrtc.MimeTypeG722):
		// 16 kHz audio in 4 bits a sample, 8000 bytes a second.
		return newWAVSink(path, wavHeader(wavG722, 1, 16000, 8000, 1, 4, 0))
	}
	return nil, fmt.Errorf("%w: cannot record %s", ErrUnknownMediaFile, c.MimeType)
}

// ivfSink assembles VP8/VP9 frames with pion's sample builder and writes
// them to an IVF file. Unlike pion's ivfwriter it never writes a frame
// with a hole: a frame with lost packets is dropped, and so is everything
// up to the next key frame, because inter frames that reference a lost
// frame decode to garbage. NeedKeyFrame tells the call when to send a PLI.
type ivfSink struct {
	f       *os.File
	sb      *samplebuilder.SampleBuilder
	vp9     bool
	frames  uint32
	first   uint32
	started bool
	waitKey bool
	mu      sync.Mutex
}

func newIVFSink(path, mime string) (*ivfSink, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("rtp: %w", err)
	}
	s := &ivfSink{f: f, waitKey: true}
	fourcc := "VP80"
	var dep pionrtp.Depacketizer = &codecs.VP8Packet{}
	if strings.EqualFold(mime, webrtc.MimeTypeVP9) {
		fourcc, s.vp9, dep = "VP90", true, &codecs.VP9Packet{}
	}
	s.sb = samplebuilder.New(128, dep, 90000)
	if err := s.writeHeader(fourcc); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// writeHeader writes the 32-byte IVF header; width and height are
// unknown to a receiver and left 0 (decoders take them from the
// bitstream); the frame count is patched on Close.
func (s *ivfSink) writeHeader(fourcc string) error {
	var h [32]byte
	copy(h[0:], "DKIF")
	binary.LittleEndian.PutUint16(h[6:], 32)
	copy(h[8:], fourcc)
	binary.LittleEndian.PutUint32(h[16:], 90000) // timebase: RTP clock
	binary.LittleEndian.PutUint32(h[20:], 1)
	if _, err := s.f.Write(h[:]); err != nil {
		return fmt.Errorf("rtp: writing IVF header: %w", err)
	}
	return nil
}

// WriteRTP implements Sink.
func (s *ivfSink) WriteRTP(p *pionrtp.Packet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sb.Push(p)
	return s.drain()
}

// drain writes the frames the sample builder completed.
func (s *ivfSink) drain() error {
	for sample := s.sb.Pop(); sample != nil; sample = s.sb.Pop() {
		if sample.PrevDroppedPackets > 0 {
			s.waitKey = true
		}
		if s.waitKey {
			if !s.keyFrame(sample.Data) {
				continue
			}
			s.waitKey = false
		}
		if !s.started {
			s.first, s.started = sample.PacketTimestamp, true
		}
		var fh [12]byte
		binary.LittleEndian.PutUint32(fh[0:], uint32(len(sample.Data)))
		binary.LittleEndian.PutUint64(fh[4:], uint64(sample.PacketTimestamp-s.first))
		if _, err := s.f.Write(fh[:]); err != nil {
			return fmt.Errorf("rtp: writing IVF frame: %w", err)
		}
		if _, err := s.f.Write(sample.Data); err != nil {
			return fmt.Errorf("rtp: writing IVF frame: %w", err)
		}
		s.frames++
	}
	return nil
}

// NeedKeyFrame reports whether the sink is waiting for a key frame.
func (s *ivfSink) NeedKeyFrame() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waitKey
}

// keyFrame inspects the frame header: VP8 (RFC 6386 §9.1) has the
// inverse key-frame flag in bit 0; VP9 (VP9 bitstream §6.2) has
// frame_marker, profile, show_existing_frame and frame_type in the first
// bits.
func (s *ivfSink) keyFrame(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if !s.vp9 {
		return b[0]&1 == 0
	}
	if b[0]>>6 != 2 {
		return false
	}
	profile := (b[0]>>5)&1 | ((b[0]>>4)&1)<<1
	bit := 3 // next bit index from the MSB
	if profile == 3 {
		bit++
	}
	if (b[0]>>(7-bit))&1 == 1 { // show_existing_frame
		return false
	}
	bit++
	return (b[0]>>(7-bit))&1 == 0
}

// Close flushes the builder and patches the frame count into the header.
func (s *ivfSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	// The builder holds the last frame until the next one starts; a
	// complete last frame is still a frame.
	s.sb.Flush()
	werr := s.drain()
	var nb [4]byte
	binary.LittleEndian.PutUint32(nb[:], s.frames)
	_, err := s.f.WriteAt(nb[:], 24)
	err = errors.Join(werr, err, s.f.Close())
	s.f = nil
	if err != nil {
		return fmt.Errorf("rtp: closing IVF recording: %w", err)
	}
	return nil
}

// wavSink writes G.711 or G.722 payloads into a WAV file whose header
// says which, patching the sizes on Close. Lost packets leave no gap:
// these recordings are for listening, not timing.
type wavSink struct {
	f    *os.File
	n    uint32
	mu   sync.Mutex
	done bool
}

func newWAVSink(path string, header []byte) (*wavSink, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("rtp: %w", err)
	}
	if _, err := f.Write(header); err != nil {
		f.Close()
		return nil, fmt.Errorf("rtp: writing WAV header: %w", err)
	}
	return &wavSink{f: f}, nil
}

func (w *wavSink) WriteRTP(p *pionrtp.Packet) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return os.ErrClosed
	}
	n, err := w.f.Write(p.Payload)
	w.n += uint32(n)
	if err != nil {
		return fmt.Errorf("rtp: writing WAV data: %w", err)
	}
	return nil
}

func (w *wavSink) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil
	}
	w.done = true
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], 36+w.n)
	_, err1 := w.f.WriteAt(b[:], 4)
	binary.LittleEndian.PutUint32(b[:], w.n)
	_, err2 := w.f.WriteAt(b[:], 40)
	if err := errors.Join(err1, err2, w.f.Close()); err != nil {
		return fmt.Errorf("rtp: closing WAV recording: %w", err)
	}
	return nil
}

// UDPSink forwards received RTP to a local UDP address (for ffmpeg,
// GStreamer or a player reading an SDP file), unchanged.
type UDPSink struct {
	conn net.Conn
}

// DialUDPSink sends to addr, e.g. "127.0.0.1:5006".
func DialUDPSink(addr string) (*UDPSink, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("rtp: RTP sink: %w", err)
	}
	return &UDPSink{conn: c}, nil
}

// WriteRTP implements Sink. A refused datagram (nobody listening yet) is
// not an error: the consumer may start late.
func (u *UDPSink) WriteRTP(p *pionrtp.Packet) error {
	b, err := p.Marshal()
	if err != nil {
		return fmt.Errorf("rtp: marshalling RTP: %w", err)
	}
	if _, err := u.conn.Write(b); err != nil && !isRefused(err) {
		return fmt.Errorf("rtp: sending RTP: %w", err)
	}
	return nil
}

// Close implements Sink.
func (u *UDPSink) Close() error { return u.conn.Close() }

func isRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "refused")
}

var (
	_ Sink = (*ivfSink)(nil)
	_ Sink = (*wavSink)(nil)
	_ Sink = (*UDPSink)(nil)
	_ Sink = media.Writer(nil)
	_      = io.EOF
)
