package daemon

import (
	"io"
	"log/slog"
)

// NewLogger builds the daemon's structured logger from the [log] section.
// The level is a LevelVar so SIGHUP can change it without a restart.
func NewLogger(w io.Writer, level, format string, lv *slog.LevelVar) *slog.Logger {
	lv.Set(parseLevel(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func parseLevel(s string) slog.Level {
	switch s {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
