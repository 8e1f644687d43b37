//go:build !linux

package prosodytest

import (
	"os"
	"syscall"
)

// terminateSignal asks Prosody to shut down cleanly.
var terminateSignal = os.Interrupt

func sysProcAttr() *syscall.SysProcAttr { return nil }
