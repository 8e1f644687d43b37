package turnserver

import (
	"log/slog"

	"github.com/jingled/jingled/internal/pionlog"
)

// pionLogs sends pion/turn's logs to our slog logger. pion logs each
// refused or unroutable packet at Info and Error; on a public relay those
// are attacker-driven, so everything below Warn becomes Debug (pionlog
// does that for every pion subsystem) and pion's Error becomes Warn.
func pionLogs(log *slog.Logger) pionlog.Factory {
	return pionlog.Factory{Log: log, ErrorLevel: slog.LevelWarn}
}
