package mediatest

import (
	"context"
	"fmt"
	"time"
)

// Tail is what TailTone found at the end of a recording.
type Tail struct {
	// Total is the decoded length of the whole recording.
	Total time.Duration
	// Frequency is the dominant frequency of the tail, in Hz.
	Frequency float64
	// Level is ToneLevel of the tail at the frequency asked for.
	Level float64
}

// TailTone decodes a recording and analyses its last d: whether media
// still flowed at the end of a call, e.g. after its path was restored.
func TailTone(ctx context.Context, path string, freq float64, d time.Duration) (Tail, error) {
	s, err := PCM(ctx, path)
	if err != nil {
		return Tail{}, err
	}
	t := Tail{Total: time.Duration(float64(len(s)) / AnalysisRate * float64(time.Second))}
	n := int(d.Seconds() * AnalysisRate)
	if n <= 0 || len(s) < n {
		return t, fmt.Errorf("mediatest: %s holds %v of audio, less than the %v asked for", path, t.Total, d)
	}
	tail := s[len(s)-n:]
	t.Frequency = DominantFrequency(tail, AnalysisRate)
	t.Level = ToneLevel(tail, AnalysisRate, freq)
	return t, nil
}
