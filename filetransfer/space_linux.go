//go:build linux

package filetransfer

import "syscall"

// freeBytes returns the bytes available to us on the filesystem of path.
func freeBytes(path string) (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * st.Bsize, true
}
