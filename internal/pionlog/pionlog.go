// Package pionlog routes pion's leveled loggers (webrtc, ice, dtls, sctp,
// turn) into log/slog. It is the one adapter the project uses, so every
// pion subsystem logs the same way: scoped by pion's subsystem name, with
// pion's chatty Info level (every candidate-pair change, every refused
// relay packet) moved down to Debug, and formatting skipped when the level
// is off, since pion formats on hot paths.
package pionlog

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// Factory is a logging.LoggerFactory over a slog.Logger.
type Factory struct {
	// Log receives every record; nil discards.
	Log *slog.Logger
	// ErrorLevel is the slog level of pion's Error. A relay's peers drive
	// pion/turn's errors (malformed or unroutable packets), so the relay
	// logs them at Warn; zero keeps slog.LevelError.
	ErrorLevel slog.Level
	// Args, when set, rewrites the arguments of a formatted record before
	// formatting. rtp uses it to describe pion's remote tracks through
	// their locking accessors: pion formats a *TrackRemote with %+v, which
	// reads its fields without the lock while another goroutine sets them.
	Args func([]any) []any
}

// NewLogger implements logging.LoggerFactory.
func (f Factory) NewLogger(scope string) logging.LeveledLogger {
	l := f.Log
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	el := f.ErrorLevel
	if el == 0 {
		el = slog.LevelError
	}
	return leveled{l: l.With("pion", scope), errorLevel: el, args: f.Args}
}

type leveled struct {
	l          *slog.Logger
	errorLevel slog.Level
	args       func([]any) []any
}

func (s leveled) at(level slog.Level, msg string) {
	s.l.Log(context.Background(), level, msg)
}

func (s leveled) atf(level slog.Level, format string, args ...any) {
	if !s.l.Enabled(context.Background(), level) {
		return
	}
	if s.args != nil {
		args = s.args(args)
	}
	s.l.Log(context.Background(), level, fmt.Sprintf(format, args...))
}

// traceLevel sits below Debug: pion's Trace is per packet.
const traceLevel = slog.LevelDebug - 4

func (s leveled) Trace(msg string)                  { s.at(traceLevel, msg) }
func (s leveled) Tracef(format string, args ...any) { s.atf(traceLevel, format, args...) }
func (s leveled) Debug(msg string)                  { s.at(slog.LevelDebug, msg) }
func (s leveled) Debugf(format string, args ...any) { s.atf(slog.LevelDebug, format, args...) }
func (s leveled) Info(msg string)                   { s.at(slog.LevelDebug, msg) }
func (s leveled) Infof(format string, args ...any)  { s.atf(slog.LevelDebug, format, args...) }
func (s leveled) Warn(msg string)                   { s.at(slog.LevelWarn, msg) }
func (s leveled) Warnf(format string, args ...any)  { s.atf(slog.LevelWarn, format, args...) }
func (s leveled) Error(msg string)                  { s.at(s.errorLevel, msg) }
func (s leveled) Errorf(format string, args ...any) { s.atf(s.errorLevel, format, args...) }
