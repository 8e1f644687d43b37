package interop

import "syscall"

// peerProcAttr makes the kernel send the node peer SIGTERM if the test
// binary dies (a panic or a -timeout), so no peer outlives its test.
func peerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
