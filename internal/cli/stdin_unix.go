//go:build unix

package cli

import (
	"errors"
	"os/signal"
	"syscall"
)

// ignoreBackgroundRead keeps a call command started in the background
// of an interactive shell (`jingle answer … &`) running: its first read
// of the terminal would stop it (SIGTTIN); ignored, the read fails with
// EIO instead and readLines tries again later (after fg).
func ignoreBackgroundRead() { signal.Ignore(syscall.SIGTTIN) }

// isBackgroundRead is the error of such a read.
func isBackgroundRead(err error) bool { return errors.Is(err, syscall.EIO) }
