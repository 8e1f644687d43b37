package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// output prints either human-readable lines or, with --json, one JSON
// object per event ({"event": ..., ...}) and a final summary object, so a
// script can follow a call or transfer line by line.
type output struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
}

// Event prints an event. human is the text for people; fields go to JSON.
func (o *output) Event(name, human string, fields map[string]any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.json {
		if human != "" {
			fmt.Fprintln(o.w, human)
		}
		return
	}
	m := map[string]any{"event": name, "time": time.Now().UTC().Format(time.RFC3339Nano)}
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		b, _ = json.Marshal(map[string]any{"event": name, "error": err.Error()})
	}
	fmt.Fprintln(o.w, string(b))
}

// Result prints the final summary: v as JSON, or human text.
func (o *output) Result(human string, v any) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.json {
		_, err := fmt.Fprintln(o.w, human)
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(o.w, string(b))
	return err
}
