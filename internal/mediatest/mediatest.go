// Package mediatest makes and checks media files with ffmpeg for the call
// tests: an Opus/Ogg sine tone, a VP8 IVF test pattern, and the analysis of
// what a call recorded (duration and dominant frequency of audio, frame
// count and a clean decode of video).
//
// ffmpeg (Debian package ffmpeg) is a real dependency of the tests, never
// replaced by a fake: the point is to prove that what a peer recorded is a
// standard file that a third-party decoder accepts and that it carries the
// tone that was sent.
package mediatest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/cmplx"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// AnalysisRate is the sample rate recordings are decoded to for analysis.
const AnalysisRate = 48000

// ErrNoFFmpeg is returned when the ffmpeg binary is not on PATH.
var ErrNoFFmpeg = errors.New("mediatest: ffmpeg not found on PATH (Debian package ffmpeg)")

// FFmpeg returns the path of the ffmpeg binary.
func FFmpeg() (string, error) {
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		return "", ErrNoFFmpeg
	}
	return p, nil
}

// run runs ffmpeg with args and returns stdout; stderr is kept for errors.
func run(ctx context.Context, args ...string) ([]byte, []byte, error) {
	bin, err := FFmpeg()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"-hide_banner", "-nostdin", "-y"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		return out.Bytes(), errb.Bytes(), fmt.Errorf("mediatest: ffmpeg %s: %w: %s", strings.Join(args, " "), err, lastLines(errb.String(), 5))
	}
	return out.Bytes(), errb.Bytes(), nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}

// secs formats a duration for ffmpeg's lavfi sources.
func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

// SineOpus writes an Ogg/Opus file at path holding a mono sine tone of
// freq Hz lasting d. Each Ogg page carries one 20 ms Opus packet, the
// framing WebRTC peers packetise, so a reader that sends page by page and
// one that splits pages into packets behave the same.
func SineOpus(ctx context.Context, path string, freq float64, d time.Duration) error {
	_, _, err := run(ctx,
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%g:sample_rate=48000:duration=%s", freq, secs(d)),
		"-ac", "1", "-c:a", "libopus", "-b:a", "48k", "-frame_duration", "20", "-application", "audio",
		"-page_duration", "20000", path)
	return err
}

// SineWAV writes a 16-bit mono PCM WAV sine tone (for checks of the
// analysis itself and for G.711/G.722 feeds).
func SineWAV(ctx context.Context, path string, freq float64, d time.Duration, rate int) error {
	_, _, err := run(ctx,
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%g:sample_rate=%d:duration=%s", freq, rate, secs(d)),
		"-ac", "1", "-c:a", "pcm_s16le", path)
	return err
}

// TestsrcVP8 writes a VP8 IVF of ffmpeg's testsrc pattern: frames frames of
// w x h at fps, every frame decodable on its own or from the previous key
// frame (a key frame each second so a receiver that joins late recovers).
func TestsrcVP8(ctx context.Context, path string, frames, fps, w, h int) error {
	return testsrc(ctx, path, "libvpx", frames, fps, w, h)
}

// TestsrcVP9 is TestsrcVP8 for VP9.
func TestsrcVP9(ctx context.Context, path string, frames, fps, w, h int) error {
	return testsrc(ctx, path, "libvpx-vp9", frames, fps, w, h)
}

func testsrc(ctx context.Context, path, codec string, frames, fps, w, h int) error {
	args := []string{
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=%dx%d:rate=%d", w, h, fps),
		"-frames:v", strconv.Itoa(frames), "-c:v", codec, "-b:v", "300k",
		"-g", strconv.Itoa(fps), "-deadline", "realtime", "-cpu-used", "8",
	}
	if codec == "libvpx" {
		// No alt-ref frames: they are invisible frames that a WebRTC
		// receiver does not count as frames.
		args = append(args, "-auto-alt-ref", "0")
	}
	args = append(args, "-f", "ivf", path)
	_, _, err := run(ctx, args...)
	return err
}

// TestsrcH264 writes an H.264 Annex-B stream (baseline profile, no B
// frames, as WebRTC's packetization-mode=1 expects).
func TestsrcH264(ctx context.Context, path string, frames, fps, w, h int) error {
	_, _, err := run(ctx,
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=%dx%d:rate=%d", w, h, fps),
		"-frames:v", strconv.Itoa(frames), "-c:v", "libx264", "-profile:v", "baseline",
		"-pix_fmt", "yuv420p", "-bf", "0", "-g", strconv.Itoa(fps), "-tune", "zerolatency",
		"-f", "h264", path)
	return err
}

// PCM decodes any audio file ffmpeg reads into mono float samples at
// AnalysisRate.
func PCM(ctx context.Context, path string) ([]float64, error) {
	out, _, err := run(ctx, "-v", "error", "-i", path, "-ac", "1", "-ar", strconv.Itoa(AnalysisRate), "-f", "s16le", "-")
	if err != nil {
		return nil, err
	}
	s := make([]float64, len(out)/2)
	for i := range s {
		s[i] = float64(int16(binary.LittleEndian.Uint16(out[2*i:]))) / 32768
	}
	return s, nil
}

// Audio is what Analyze found in a recording.
type Audio struct {
	// Duration is the decoded length.
	Duration time.Duration
	// Frequency is the dominant frequency in Hz.
	Frequency float64
	// RMS is the signal level (0..1); silence is near 0.
	RMS float64
}

// AnalyzeAudio decodes path with ffmpeg and reports its duration and
// dominant frequency.
func AnalyzeAudio(ctx context.Context, path string) (Audio, error) {
	s, err := PCM(ctx, path)
	if err != nil {
		return Audio{}, err
	}
	if len(s) == 0 {
		return Audio{}, fmt.Errorf("mediatest: %s decodes to no samples", path)
	}
	return Audio{
		Duration:  time.Duration(float64(len(s)) / AnalysisRate * float64(time.Second)),
		Frequency: DominantFrequency(s, AnalysisRate),
		RMS:       rms(s),
	}, nil
}

func rms(s []float64) float64 {
	var sum float64
	for _, v := range s {
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(s)))
}

// DominantFrequency returns the frequency of the strongest spectral peak
// of s (sampled at rate), using a Hann-windowed FFT over up to 2^16
// samples from the middle of s, refined by parabolic interpolation of the
// log magnitudes (sub-bin accuracy, well under 1 Hz for a clean tone).
func DominantFrequency(s []float64, rate int) float64 {
	n := 1
	for n < len(s) && n < 1<<16 {
		n <<= 1
	}
	if n > len(s) {
		n >>= 1
	}
	if n < 16 {
		return 0
	}
	start := (len(s) - n) / 2
	x := make([]complex128, n)
	for i := range n {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		x[i] = complex(s[start+i]*w, 0)
	}
	fft(x)
	best, bestMag := 1, 0.0
	for i := 1; i < n/2-1; i++ {
		if m := cmplx.Abs(x[i]); m > bestMag {
			best, bestMag = i, m
		}
	}
	a := math.Log(cmplx.Abs(x[best-1]) + 1e-12)
	b := math.Log(bestMag + 1e-12)
	c := math.Log(cmplx.Abs(x[best+1]) + 1e-12)
	off := 0.0
	if d := a - 2*b + c; d != 0 {
		off = 0.5 * (a - c) / d
	}
	return (float64(best) + off) * float64(rate) / float64(n)
}

// fft is an in-place iterative radix-2 FFT; len(x) must be a power of 2.
func fft(x []complex128) {
	n := len(x)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		w := cmplx.Exp(complex(0, -2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			wk := complex(1, 0)
			for k := range size / 2 {
				u, v := x[start+k], x[start+k+size/2]*wk
				x[start+k], x[start+k+size/2] = u+v, u-v
				wk *= w
			}
		}
	}
}

// IVF is what CountIVF found in an IVF file.
type IVF struct {
	// FourCC is the codec tag (VP80, VP90, AV01).
	FourCC string
	Width  int
	Height int
	// Frames is the number of frames actually present (the header's count
	// is not trusted: writers that are killed never update it).
	Frames int
}

// CountIVF parses an IVF file with pion's reader and counts its frames.
func CountIVF(path string) (IVF, error) {
	f, err := os.Open(path)
	if err != nil {
		return IVF{}, fmt.Errorf("mediatest: %w", err)
	}
	defer f.Close()
	r, h, err := ivfreader.NewWith(f)
	if err != nil {
		return IVF{}, fmt.Errorf("mediatest: reading IVF header of %s: %w", path, err)
	}
	info := IVF{FourCC: h.FourCC, Width: int(h.Width), Height: int(h.Height)}
	for {
		_, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return info, nil
		}
		if err != nil {
			return info, fmt.Errorf("mediatest: reading IVF frame %d of %s: %w", info.Frames, path, err)
		}
		info.Frames++
	}
}

// DecodeVideo decodes path fully with ffmpeg and returns the number of
// decoded frames. Any decoder complaint (ffmpeg's error log level) is an
// error: a recording with corrupt frames must not pass.
func DecodeVideo(ctx context.Context, path string) (int, error) {
	out, errb, err := run(ctx, "-v", "error", "-i", path, "-f", "framemd5", "-")
	if err != nil {
		return 0, err
	}
	if msg := strings.TrimSpace(string(errb)); msg != "" {
		return 0, fmt.Errorf("mediatest: ffmpeg reported errors decoding %s: %s", path, lastLines(msg, 5))
	}
	n := 0
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			n++
		}
	}
	return n, nil
}
