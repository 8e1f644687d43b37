package turnserver

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// slogFactory sends pion/turn's logs to our slog logger. pion logs each
// refused or unroutable packet at Info and Error; on a public relay those
// are attacker-driven, so everything below Warn becomes Debug and pion's
// Error becomes Warn.
type slogFactory struct{ log *slog.Logger }

func (f slogFactory) NewLogger(scope string) logging.LeveledLogger {
	return slogLeveled{f.log.With("scope", "pion/"+scope)}
}

type slogLeveled struct{ l *slog.Logger }

func (s slogLeveled) at(level slog.Level, msg string) {
	s.l.Log(context.Background(), level, msg)
}

func (s slogLeveled) atf(level slog.Level, format string, args ...any) {
	if s.l.Enabled(context.Background(), level) {
		s.l.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (s slogLeveled) Trace(msg string)                  { s.at(slog.LevelDebug-4, msg) }
func (s slogLeveled) Tracef(format string, args ...any) { s.atf(slog.LevelDebug-4, format, args...) }
func (s slogLeveled) Debug(msg string)                  { s.at(slog.LevelDebug, msg) }
func (s slogLeveled) Debugf(format string, args ...any) { s.atf(slog.LevelDebug, format, args...) }
func (s slogLeveled) Info(msg string)                   { s.at(slog.LevelDebug, msg) }
func (s slogLeveled) Infof(format string, args ...any)  { s.atf(slog.LevelDebug, format, args...) }
func (s slogLeveled) Warn(msg string)                   { s.at(slog.LevelWarn, msg) }
func (s slogLeveled) Warnf(format string, args ...any)  { s.atf(slog.LevelWarn, format, args...) }
func (s slogLeveled) Error(msg string)                  { s.at(slog.LevelWarn, msg) }
func (s slogLeveled) Errorf(format string, args ...any) { s.atf(slog.LevelWarn, format, args...) }
