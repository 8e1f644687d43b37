// Tee: each received track given to several sinks at once.

package rtp

import (
	"errors"

	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Tee returns a SinkFactory giving every received track to each of
// factories (nil ones are skipped), so a call can be recorded and
// forwarded to ffmpeg at once. A factory that fails fails the track, and
// the sinks made before it are closed.
func Tee(factories ...SinkFactory) SinkFactory {
	var fs []SinkFactory
	for _, f := range factories {
		if f != nil {
			fs = append(fs, f)
		}
	}
	if len(fs) == 1 {
		return fs[0]
	}
	return func(content string, c webrtc.RTPCodecParameters) (Sink, error) {
		var t teeSink
		for _, f := range fs {
			s, err := f(content, c)
			if err != nil {
				_ = t.Close()
				return nil, err
			}
			if s != nil {
				t = append(t, s)
			}
		}
		if len(t) == 0 {
			return nil, nil
		}
		return t, nil
	}
}

// teeSink writes each packet to every sink.
type teeSink []Sink

func (t teeSink) WriteRTP(p *pionrtp.Packet) error {
	var errs []error
	for _, s := range t {
		if err := s.WriteRTP(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (t teeSink) Close() error {
	var errs []error
	for _, s := range t {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// NeedKeyFrame asks for a key frame while any sink wants one; a sink that
// cannot say (a UDP forward) always does, as the call treats it alone.
func (t teeSink) NeedKeyFrame() bool {
	for _, s := range t {
		k, ok := s.(interface{ NeedKeyFrame() bool })
		if !ok || k.NeedKeyFrame() {
			return true
		}
	}
	return false
}

// SetHeaderExtensions passes the negotiated extensions to the sinks that
// read them.
func (t teeSink) SetHeaderExtensions(exts []webrtc.RTPHeaderExtensionParameter) {
	for _, s := range t {
		if hs, ok := s.(HeaderExtensionSink); ok {
			hs.SetHeaderExtensions(exts)
		}
	}
}

var _ HeaderExtensionSink = teeSink(nil)
