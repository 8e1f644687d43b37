package prosodytest

import "syscall"

// terminateSignal asks Prosody to shut down cleanly.
var terminateSignal = syscall.SIGTERM

// sysProcAttr makes the kernel stop Prosody if the test binary dies without
// running Close (a crashed or killed `go test`), so no server outlives it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
