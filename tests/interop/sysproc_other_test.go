//go:build !linux

package interop

import "syscall"

// peerProcAttr has nothing to set where there is no parent-death signal.
func peerProcAttr() *syscall.SysProcAttr { return nil }
