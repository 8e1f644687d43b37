package mixer

import (
	"testing"
	"time"
)

func TestOptionsDefaults(t *testing.T) {
	tests := []struct {
		name          string
		in            Options
		speakers      int
		frame, jitter time.Duration
	}{
		{"zero", Options{}, 3, 20 * time.Millisecond, 20 * time.Millisecond},
		{"set", Options{MaxSpeakers: 5, FrameDuration: 10 * time.Millisecond, JitterDelay: 60 * time.Millisecond}, 5, 10 * time.Millisecond, 60 * time.Millisecond},
		{"unsupported frame", Options{FrameDuration: 25 * time.Millisecond}, 3, 20 * time.Millisecond, 20 * time.Millisecond},
		{"negative", Options{MaxSpeakers: -1, JitterDelay: -time.Second}, 3, 20 * time.Millisecond, 20 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.in.withDefaults()
			if o.MaxSpeakers != tt.speakers || o.FrameDuration != tt.frame || o.JitterDelay != tt.jitter || o.Logger == nil {
				t.Errorf("withDefaults = %+v", o)
			}
		})
	}
}
