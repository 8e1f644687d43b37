package benchproc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// UDPDrops sums the datagrams the kernel dropped at the UDP sockets of
// process pid because their receive buffers were full: the last column
// of /proc/net/udp and udp6 (per socket, for the socket's life), the
// sockets matched to the process by inode through /proc/PID/fd. The
// machine-wide RcvbufErrors cannot say whose socket overflowed; on
// loopback, where nothing else drops, this says which end lost a packet.
// The files are the network namespace's of the caller.
func UDPDrops(pid int) (uint64, error) { return udpSum(pid, dropsColumn) }

// UDPQueued sums the bytes waiting in the receive queues of process
// pid's UDP sockets (the rx_queue half of /proc/net/udp's fifth column,
// in the kernel's accounting: about 800 bytes per small datagram on
// loopback): how far behind its reading the process is.
func UDPQueued(pid int) (uint64, error) { return udpSum(pid, rxQueueColumn) }

// udpSum adds column over the rows of /proc/net/udp and udp6 that are
// pid's sockets.
func udpSum(pid int, column func([]string) (uint64, error)) (uint64, error) {
	inodes, err := socketInodes(pid)
	if err != nil {
		return 0, err
	}
	var total uint64
	for _, name := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		f, err := os.Open(name)
		if err != nil {
			if os.IsNotExist(err) {
				continue // no IPv6
			}
			return 0, err
		}
		n, err := sumColumn(f, inodes, column)
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		total += n
	}
	return total, nil
}

// socketInodes is the set of socket inodes among pid's open files.
func socketInodes(pid int) (map[string]bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, e := range ents {
		l, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed since the listing
		}
		if s, ok := strings.CutPrefix(l, "socket:["); ok {
			out[strings.TrimSuffix(s, "]")] = true
		}
	}
	return out, nil
}

// sumDrops adds the drops column of the /proc/net/udp rows whose inode
// (the tenth column) is in inodes.
func sumDrops(r io.Reader, inodes map[string]bool) (uint64, error) {
	return sumColumn(r, inodes, dropsColumn)
}

// sumColumn adds column over the /proc/net/udp rows whose inode is in
// inodes.
func sumColumn(r io.Reader, inodes map[string]bool, column func([]string) (uint64, error)) (uint64, error) {
	sc := bufio.NewScanner(r)
	var total uint64
	for first := true; sc.Scan(); first = false {
		f := strings.Fields(sc.Text())
		if first || len(f) < 13 {
			continue // the header
		}
		if !inodes[f[9]] {
			continue
		}
		v, err := column(f)
		if err != nil {
			return 0, err
		}
		total += v
	}
	return total, sc.Err()
}

// dropsColumn is the last column.
func dropsColumn(f []string) (uint64, error) {
	d, err := strconv.ParseUint(f[len(f)-1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("drops column %q: %w", f[len(f)-1], err)
	}
	return d, nil
}

// rxQueueColumn is the hex number after the colon of "tx_queue:rx_queue".
func rxQueueColumn(f []string) (uint64, error) {
	_, rx, ok := strings.Cut(f[4], ":")
	if !ok {
		return 0, fmt.Errorf("queue column %q: no colon", f[4])
	}
	q, err := strconv.ParseUint(rx, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("queue column %q: %w", f[4], err)
	}
	return q, nil
}
