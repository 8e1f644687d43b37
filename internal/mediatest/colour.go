package mediatest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// ColourVP8 writes a VP8 IVF of one solid colour (an ffmpeg colour name
// such as "red") lasting d at fps, with a key frame every third of a
// second: the conference video tests tell whose video a receiver is shown
// by its colour, and a file, unlike an encoder, cannot answer the room's
// key-frame request at a switch, so key frames come often.
func ColourVP8(ctx context.Context, path, colour string, seconds, fps int) error {
	return Colour(ctx, path, "vp8", colour, seconds, fps)
}

// Colour is ColourVP8 for any codec a call sends: "vp8" and "vp9" write
// IVF, "h264" (Constrained Baseline), "h264-main" and "h264-high" an
// H.264 Annex-B stream without B frames (WebRTC's packetization-mode 1
// carries none).
func Colour(ctx context.Context, path, codec, colour string, seconds, fps int) error {
	args := []string{"-f", "lavfi", "-i", fmt.Sprintf("color=c=%s:size=160x120:rate=%d", colour, fps),
		"-t", strconv.Itoa(seconds), "-g", strconv.Itoa(max(fps/3, 1)), "-pix_fmt", "yuv420p"}
	switch codec {
	case "vp8", "vp9":
		lib := map[string]string{"vp8": "libvpx", "vp9": "libvpx-vp9"}[codec]
		args = append(args, "-c:v", lib, "-b:v", "100k", "-deadline", "realtime", "-cpu-used", "8", "-auto-alt-ref", "0", "-f", "ivf")
	case "h264", "h264-main", "h264-high":
		profile := map[string]string{"h264": "baseline", "h264-main": "main", "h264-high": "high"}[codec]
		args = append(args, "-c:v", "libx264", "-profile:v", profile, "-bf", "0", "-tune", "zerolatency", "-f", "h264")
	default:
		return fmt.Errorf("mediatest: no colour video in codec %q", codec)
	}
	_, _, err := run(ctx, append(args, path)...)
	return err
}

// SineEnvelopeOpus writes an Ogg/Opus sine at freq whose amplitude
// follows volume, an ffmpeg volume expression of t in seconds (e.g.
// "if(lt(t,8),1,0.05)"): a participant who talks loudly, then softly.
func SineEnvelopeOpus(ctx context.Context, path string, freq float64, seconds int, volume string) error {
	_, _, err := run(ctx,
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%g:sample_rate=48000:duration=%d", freq, seconds),
		"-af", fmt.Sprintf("volume='%s':eval=frame", volume),
		"-c:a", "libopus", "-b:a", "48k", "-f", "ogg", path)
	return err
}

// RGB is a mean colour.
type RGB struct{ R, G, B float64 }

// Name is the primary colour that dominates c ("red", "green", "blue"),
// or "" when none clearly does.
func (c RGB) Name() string {
	switch {
	case c.R > 120 && c.G < 80 && c.B < 80:
		return "red"
	case c.G > 80 && c.R < 80 && c.B < 80:
		return "green"
	case c.B > 120 && c.R < 80 && c.G < 80:
		return "blue"
	}
	return ""
}

// FrameColours decodes a video file and returns each frame's mean colour,
// in order, one per frame of the file (no frame dropped or repeated to
// fill a frame rate: pts are renumbered, so two frames close together
// after a switch do not collide). Decoder complaints are errors, as in
// DecodeVideo.
func FrameColours(ctx context.Context, path string) ([]RGB, error) {
	out, errb, err := run(ctx, "-v", "error", "-i", path, "-vf", "scale=8:8,setpts=N", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
	if err != nil {
		return nil, err
	}
	if len(errb) > 0 {
		return nil, fmt.Errorf("mediatest: ffmpeg reported errors decoding %s: %s", path, lastLines(string(errb), 5))
	}
	const px = 8 * 8
	var cs []RGB
	for i := 0; i+3*px <= len(out); i += 3 * px {
		var c RGB
		for j := 0; j < px; j++ {
			c.R += float64(out[i+3*j])
			c.G += float64(out[i+3*j+1])
			c.B += float64(out[i+3*j+2])
		}
		cs = append(cs, RGB{c.R / px, c.G / px, c.B / px})
	}
	return cs, nil
}

// IVFTimes returns the presentation time of each frame of an IVF file,
// from its header's timebase (our recordings use the RTP clock, so these
// are the sender's timestamps, relative to the first frame).
func IVFTimes(path string) ([]time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mediatest: %w", err)
	}
	defer f.Close()
	r, h, err := ivfreader.NewWith(f)
	if err != nil {
		return nil, fmt.Errorf("mediatest: reading IVF header of %s: %w", path, err)
	}
	if h.TimebaseDenominator == 0 {
		return nil, fmt.Errorf("mediatest: %s: IVF timebase 0", path)
	}
	var out []time.Duration
	for {
		_, fh, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("mediatest: %s frame %d: %w", path, len(out), err)
		}
		// pion's reader hands out pts*den/num ("timestamp"); the pts is
		// in units of num/den seconds.
		pts := float64(fh.Timestamp) * float64(h.TimebaseNumerator) / float64(h.TimebaseDenominator)
		out = append(out, time.Duration(pts*float64(h.TimebaseNumerator)/float64(h.TimebaseDenominator)*float64(time.Second)))
	}
}
