package rtp

import (
	"context"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/jingle"
)

// drain reads every sample of a sample source without pacing.
func drain(t *testing.T, s Source) (n int, total time.Duration) {
	t.Helper()
	ss, ok := s.(*sampleSource)
	if !ok {
		t.Fatalf("%T is not a file source", s)
	}
	for {
		sample, err := ss.next()
		if errors.Is(err, io.EOF) {
			return n, total
		}
		if err != nil {
			t.Fatalf("sample %d: %v", n, err)
		}
		if len(sample.Data) == 0 {
			t.Fatalf("sample %d is empty", n)
		}
		n++
		total += sample.Duration
	}
}

func TestFileSources(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	ogg := filepath.Join(dir, "a.ogg")
	vp8 := filepath.Join(dir, "v.ivf")
	vp9 := filepath.Join(dir, "v9.ivf")
	h264 := filepath.Join(dir, "v.h264")
	if err := mediatest.SineOpus(ctx, ogg, 440, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := mediatest.TestsrcVP8(ctx, vp8, 30, 15, 160, 120); err != nil {
		t.Fatal(err)
	}
	if err := mediatest.TestsrcVP9(ctx, vp9, 30, 15, 160, 120); err != nil {
		t.Fatal(err)
	}
	if err := mediatest.TestsrcH264(ctx, h264, 30, 15, 160, 120); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path   string
		mime   string
		n      int
		length time.Duration
	}{
		{ogg, CodecOpus.MimeType, 50, time.Second},
		{vp8, CodecVP8.MimeType, 30, 2 * time.Second},
		{vp9, CodecVP9.MimeType, 30, 2 * time.Second},
		{h264, CodecH264.MimeType, 30, time.Second}, // 30 fps assumed for Annex-B
	} {
		s, err := OpenFile(tc.path, "x", 0)
		if err != nil {
			t.Fatal(err)
		}
		if s.Codec().MimeType != tc.mime {
			t.Errorf("%s: codec %s, want %s", filepath.Base(tc.path), s.Codec().MimeType, tc.mime)
		}
		n, total := drain(t, s)
		if n != tc.n && !(tc.mime == CodecOpus.MimeType && n == tc.n+1) { // +1: Opus pre-skip
			t.Errorf("%s: %d samples, want %d", filepath.Base(tc.path), n, tc.n)
		}
		if d := total - tc.length; d < -100*time.Millisecond || d > 100*time.Millisecond {
			t.Errorf("%s: samples last %v, want %v", filepath.Base(tc.path), total, tc.length)
		}
		s.Close()
	}
	if _, err := OpenFile(filepath.Join(dir, "x.mp3"), "x", 0); !errors.Is(err, ErrUnknownMediaFile) {
		t.Errorf("OpenFile(.mp3) = %v, want ErrUnknownMediaFile", err)
	}
	if _, err := OpenOgg(vp8, "x"); err == nil {
		t.Error("OpenOgg of an IVF file succeeded")
	}
}

func TestOpusDuration(t *testing.T) {
	for _, tc := range []struct {
		toc  []byte
		want time.Duration
	}{
		{[]byte{0xf8}, 20 * time.Millisecond},           // CELT FB 20 ms, 1 frame
		{[]byte{0xf9}, 40 * time.Millisecond},           // two frames
		{[]byte{0x1b, 0x03}, 3 * 60 * time.Millisecond}, // SILK 60 ms, code 3 x3
		{[]byte{0xe0}, 2500 * time.Microsecond},
	} {
		got, err := opusDuration(tc.toc)
		if err != nil || got != tc.want {
			t.Errorf("opusDuration(%x) = %v, %v; want %v", tc.toc, got, err, tc.want)
		}
	}
	if _, err := opusDuration(nil); err == nil {
		t.Error("empty packet accepted")
	}
}

// TestUDPSourcePCMU feeds a call from ffmpeg over local RTP: ffmpeg
// encodes a 440 Hz tone as G.711 mu-law and sends it to our UDP source;
// the call offers only PCMU, the callee echoes, and the caller records
// the echo to WAV, which must still be the 440 Hz tone.
func TestUDPSourcePCMU(t *testing.T) {
	dir := t.TempDir()
	src, err := ListenUDP("127.0.0.1:0", CodecPCMU, "audio")
	if err != nil {
		t.Fatal(err)
	}
	l := newLink()
	bobApp := NewApplication(ApplicationOptions{Peer: loopback(t), AutoAnswer: &MediaOptions{Echo: true}})
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.manager(t, bob, bobApp.Options()...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	call, err := Dial(ctx, aliceMgr, bob, CallOptions{
		MediaOptions: MediaOptions{AudioSource: src, Record: filepath.Join(dir, "alice")},
		Peer:         loopback(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ev := &events{ch: call.Events()}
	ev.wait(t, EventConnected, "")
	bin, err := mediatest.FFmpeg()
	if err != nil {
		t.Fatal(err)
	}
	ff := exec.CommandContext(ctx, bin, "-hide_banner", "-nostdin", "-v", "error", "-re",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000:duration=2",
		"-c:a", "pcm_mulaw", "-ar", "8000", "-ac", "1", "-f", "rtp", "rtp://"+src.Addr().String())
	if out, err := ff.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	// Wait for the echo of the last packets still in flight.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if st := call.Stats(); st.PacketsReceived >= st.PacketsSent {
			break
		}
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	st := call.Stats()
	if len(st.Streams) == 0 || st.Streams[0].Codec != webrtc.MimeTypePCMU {
		t.Fatalf("streams %+v, want PCMU", st.Streams)
	}
	a, err := mediatest.AnalyzeAudio(ctx, filepath.Join(dir, "alice.wav"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("alice.wav: %v, %.1f Hz", a.Duration, a.Frequency)
	if a.Frequency < 435 || a.Frequency > 445 || a.Duration < 1500*time.Millisecond {
		t.Errorf("echoed PCMU: %v at %.1f Hz, want ~2s of 440 Hz", a.Duration, a.Frequency)
	}
}

// TestH264Call sends an H.264 Annex-B file (libx264, baseline); the
// callee records PREFIX.h264, which ffmpeg must decode with at least 90%
// of the frames.
func TestH264Call(t *testing.T) {
	const frames = 45
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	in264 := filepath.Join(dir, "in.h264")
	if err := mediatest.TestsrcH264(ctx, in264, frames, 30, 160, 120); err != nil {
		t.Fatal(err)
	}
	l := newLink()
	bobOpts := ApplicationOptions{Peer: loopback(t), AutoAnswer: &MediaOptions{Record: filepath.Join(dir, "bob")}}
	incoming := incomingCalls(&bobOpts)
	bobApp := NewApplication(bobOpts)
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.manager(t, bob, bobApp.Options()...)
	call, err := Dial(ctx, aliceMgr, bob, CallOptions{
		MediaOptions: MediaOptions{Video: in264, Duration: 3 * time.Second},
		Peer:         loopback(t), NoAudio: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	bc := <-incoming
	if r := waitEnd(t, call, 30*time.Second); r.Condition != jingle.ReasonSuccess {
		t.Fatalf("call ended with %s", r)
	}
	waitEnd(t, bc, 10*time.Second)
	if st := call.Stats(); len(st.Streams) != 1 || st.Streams[0].Codec != webrtc.MimeTypeH264 {
		t.Fatalf("streams %+v, want one H.264 stream", st.Streams)
	}
	n, err := mediatest.DecodeVideo(ctx, filepath.Join(dir, "bob.h264"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bob.h264: %d frames decoded of %d sent", n, frames)
	if n*10 < frames*9 {
		t.Errorf("decoded %d frames of %d sent, want >= 90%%", n, frames)
	}
}

// TestUDPSink forwards RTP unchanged to a local UDP consumer.
func TestUDPSink(t *testing.T) {
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sink, err := DialUDPSink(ln.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	for i := range 5 {
		p := &pionrtp.Packet{Header: pionrtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(100 + i), SSRC: 42}, Payload: []byte{0xf8, byte(i)}}
		if err := sink.WriteRTP(p); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		p := readRTP(t, ln)
		if p.SequenceNumber != uint16(100+i) || p.SSRC != 42 || p.Payload[1] != byte(i) {
			t.Errorf("packet %d: %+v", i, p.Header)
		}
	}
	// Nobody listening any more: not an error (the consumer may start late).
	ln.Close()
	if err := sink.WriteRTP(&pionrtp.Packet{Header: pionrtp.Header{Version: 2}}); err != nil {
		t.Errorf("write with no consumer: %v", err)
	}
}
