//go:build linux

package filetransfer

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing n bytes of f from off
// to the disk, without waiting for them (sync_file_range(2) with
// SYNC_FILE_RANGE_WRITE only). It is a hint: an error is dropped, since
// the fsync that publishes the file reports any failure to write it.
func startWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}
