// WAV files: the header of a recording, and reading 16-bit PCM, A-law
// and mu-law files as mono 20 ms frames, resampled to a codec's rate.

package rtp

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/zaf/g711"
)

// WAV format tags (RFC 2361, and ffmpeg's riff.c for G.722).
const (
	wavPCM        = 0x0001
	wavALaw       = 0x0006
	wavMuLaw      = 0x0007
	wavG722       = 0x028f
	wavExtensible = 0xfffe
)

// wavHeader is the 44-byte header of a WAV file with one data chunk of
// dataLen bytes (0 while recording; patched on close).
func wavHeader(format uint16, channels, rate, byteRate, blockAlign, bits int, dataLen uint32) []byte {
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36+dataLen)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], format)
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(byteRate))
	binary.LittleEndian.PutUint16(h[32:], uint16(blockAlign))
	binary.LittleEndian.PutUint16(h[34:], uint16(bits))
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], dataLen)
	return h
}

// wavReader reads the samples of a WAV file as mono 16-bit PCM: 16-bit
// PCM, A-law and mu-law (G.711) files, any number of channels (mixed
// down) at any rate.
type wavReader struct {
	r        *bufio.Reader
	format   uint16
	channels int
	rate     int
	left     int64 // bytes of the data chunk not read yet
}

// newWAVReader parses the header up to the data chunk.
func newWAVReader(r io.Reader) (*wavReader, error) {
	br := bufio.NewReader(r)
	var riff [12]byte
	if _, err := io.ReadFull(br, riff[:]); err != nil {
		return nil, fmt.Errorf("%w: reading the RIFF header: %w", ErrUnknownMediaFile, err)
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not a RIFF/WAVE file", ErrUnknownMediaFile)
	}
	w := &wavReader{r: br}
	bits := 0
	for {
		var ch [8]byte
		if _, err := io.ReadFull(br, ch[:]); err != nil {
			return nil, fmt.Errorf("%w: no data chunk: %w", ErrUnknownMediaFile, err)
		}
		size := int64(binary.LittleEndian.Uint32(ch[4:]))
		switch string(ch[0:4]) {
		case "fmt ":
			if size < 16 {
				return nil, fmt.Errorf("%w: fmt chunk of %d bytes", ErrUnknownMediaFile, size)
			}
			f := make([]byte, size+size%2)
			if _, err := io.ReadFull(br, f); err != nil {
				return nil, fmt.Errorf("%w: reading the fmt chunk: %w", ErrUnknownMediaFile, err)
			}
			w.format = binary.LittleEndian.Uint16(f[0:])
			w.channels = int(binary.LittleEndian.Uint16(f[2:]))
			w.rate = int(binary.LittleEndian.Uint32(f[4:]))
			bits = int(binary.LittleEndian.Uint16(f[14:]))
			if w.format == wavExtensible && size >= 26 {
				w.format = binary.LittleEndian.Uint16(f[24:]) // the sub-format GUID's first two bytes
			}
		case "data":
			if w.format == 0 {
				return nil, fmt.Errorf("%w: data chunk before the fmt chunk", ErrUnknownMediaFile)
			}
			w.left = size
			return w, w.check(bits)
		default:
			if _, err := br.Discard(int(size + size%2)); err != nil {
				return nil, fmt.Errorf("%w: skipping chunk %q: %w", ErrUnknownMediaFile, ch[0:4], err)
			}
		}
	}
}

// check refuses what read cannot decode, naming what the file holds.
func (w *wavReader) check(bits int) error {
	switch {
	case w.format == wavPCM && bits != 16:
		return fmt.Errorf("%w: WAV holds %d-bit PCM (want 16-bit PCM, A-law or mu-law)", ErrUnknownMediaFile, bits)
	case w.format != wavPCM && w.format != wavALaw && w.format != wavMuLaw:
		return fmt.Errorf("%w: WAV holds format 0x%04x (want 16-bit PCM, A-law or mu-law)", ErrUnknownMediaFile, w.format)
	case w.channels < 1 || w.rate < 50 || w.rate%50 != 0:
		return fmt.Errorf("%w: WAV of %d channels at %d Hz (want a rate that is a multiple of 50 Hz, for 20 ms frames)", ErrUnknownMediaFile, w.channels, w.rate)
	}
	return nil
}

// frameSamples is how many samples per channel 20 ms holds.
func (w *wavReader) frameSamples() int { return w.rate / 50 }

// read returns the next 20 ms as mono samples; a short last frame is
// padded with silence, and io.EOF follows it.
func (w *wavReader) read(dst []int16) ([]int16, error) {
	width := 1
	if w.format == wavPCM {
		width = 2
	}
	n := w.frameSamples()
	buf := make([]byte, n*w.channels*width)
	want := min(int64(len(buf)), w.left)
	if want <= 0 {
		return dst[:0], io.EOF
	}
	got, err := io.ReadFull(w.r, buf[:want])
	w.left -= int64(got)
	if got == 0 {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		return dst[:0], err
	}
	dst = dst[:0]
	for i := 0; i < n; i++ {
		sum := 0
		for c := 0; c < w.channels; c++ {
			off := (i*w.channels + c) * width
			if off+width > got {
				continue // silence past the end
			}
			switch w.format {
			case wavPCM:
				sum += int(int16(binary.LittleEndian.Uint16(buf[off:])))
			case wavALaw:
				sum += int(g711.DecodeAlawFrame(buf[off]))
			case wavMuLaw:
				sum += int(g711.DecodeUlawFrame(buf[off]))
			}
		}
		dst = append(dst, int16(sum/w.channels))
	}
	return dst, nil
}

// resampler converts a stream of 20 ms frames between rates by linear
// interpolation, carrying the last input sample over so that frames
// join smoothly. It has no anti-aliasing filter: content above the
// target's Nyquist frequency folds back, so feed 8 kHz audio for G.711
// and 16 kHz for G.722 when that matters (a tone does not care).
type resampler struct {
	last int16 // the previous frame's last sample
}

// frame resamples in (one 20 ms frame) to out samples.
func (r *resampler) frame(dst, in []int16, out int) []int16 {
	dst = dst[:0]
	if len(in) == out {
		dst = append(dst, in...)
	} else {
		step := float64(len(in)) / float64(out)
		at := func(i int) float64 {
			if i < 0 {
				return float64(r.last)
			}
			return float64(in[min(i, len(in)-1)])
		}
		for k := 0; k < out; k++ {
			// Output k sits at input position (k+1)*step - 1: the
			// last output lands on the last input sample, the first
			// may fall between the previous frame's last and ours.
			p := float64(k+1)*step - 1
			i := int(p+1) - 1 // floor, also for p in [-1, 0)
			f := p - float64(i)
			dst = append(dst, int16(at(i)+(at(i+1)-at(i))*f))
		}
	}
	if len(in) > 0 {
		r.last = in[len(in)-1]
	}
	return dst
}
