//go:build unix

package filetransfer

import (
	"errors"
	"os"
	"syscall"
)

// lockPartial takes an exclusive advisory lock (flock) on a resumable
// partial file, so that another process receiving into the same directory
// (a second daemon, a CLI receive beside one) cannot write into it at the
// same time; Dir's set of names in use covers this process. It reports
// false only when someone else holds the lock: a filesystem without
// locks leaves the in-process guard alone. The lock goes with the
// descriptor.
func lockPartial(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return true
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) {
		lerr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
	}); err != nil {
		return true
	}
	return !errors.Is(lerr, syscall.EWOULDBLOCK)
}
