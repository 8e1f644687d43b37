package benchproc

import (
	"net"
	"os"
	"strings"
	"testing"
)

// TestSumDrops: only the rows of the given inodes count, the header and
// short lines are skipped, and a malformed drops column is an error.
func TestSumDrops(t *testing.T) {
	const table = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  101: 0100007F:9C40 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4001 2 0000000000000000 17
  102: 0100007F:9C41 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4002 2 0000000000000000 5
  103: 0100007F:9C42 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 4003 2 0000000000000000 0
`
	for _, tc := range []struct {
		inodes []string
		want   uint64
	}{
		{[]string{"4001"}, 17},
		{[]string{"4001", "4002", "4003"}, 22},
		{[]string{"9999"}, 0},
		{nil, 0},
	} {
		set := map[string]bool{}
		for _, i := range tc.inodes {
			set[i] = true
		}
		got, err := sumDrops(strings.NewReader(table), set)
		if err != nil || got != tc.want {
			t.Errorf("inodes %v: %d, %v; want %d", tc.inodes, got, err, tc.want)
		}
	}
	bad := strings.Replace(table, "0000000000000000 17", "0000000000000000 x", 1)
	if _, err := sumDrops(strings.NewReader(bad), map[string]bool{"4001": true}); err == nil {
		t.Error("a malformed drops column was accepted")
	}
}

// TestUDPDropsOwnSocket: a socket of this process that never reads,
// with the smallest receive buffer, is flooded from another: UDPDrops
// finds it through its inode and counts what the kernel dropped there.
func TestUDPDropsOwnSocket(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetReadBuffer(1); err != nil { // the kernel's minimum
		t.Fatal(err)
	}
	before, err := UDPDrops(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	s, err := net.DialUDP("udp", nil, c.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := make([]byte, 1000)
	for range 200 {
		if _, err := s.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	after, err := UDPDrops(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 100 {
		t.Fatalf("drops went from %d to %d after 200 datagrams into a ~2 KiB buffer", before, after)
	}
}

// TestSumRxQueue: the queue column's receive half, in hex, of the given
// inodes' rows; a column without its colon is an error.
func TestSumRxQueue(t *testing.T) {
	const table = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  101: 0100007F:9C40 00000000:0000 07 00000000:00000340 00:00000000 00000000     0        0 4001 2 0000000000000000 17
  102: 0100007F:9C41 00000000:0000 07 00000010:00100000 00:00000000 00000000     0        0 4002 2 0000000000000000 5
`
	got, err := sumColumn(strings.NewReader(table), map[string]bool{"4001": true, "4002": true}, rxQueueColumn)
	if want := uint64(0x340 + 0x100000); err != nil || got != want {
		t.Errorf("%d, %v; want %d", got, err, want)
	}
	bad := strings.Replace(table, "00000000:00000340", "0000000000000340", 1)
	if _, err := sumColumn(strings.NewReader(bad), map[string]bool{"4001": true}, rxQueueColumn); err == nil {
		t.Error("a queue column without its colon was accepted")
	}
}
