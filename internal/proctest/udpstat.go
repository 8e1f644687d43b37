package proctest

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// UDPRcvbufErrors reads RcvbufErrors from the Udp lines of /proc/net/snmp
// (a header line of names, then one of values): the datagrams the kernel
// dropped at full UDP receive buffers in the caller's network namespace.
// Under scripts/in-netns.sh that namespace is the test's own, so a
// difference over a run counts that run's drops.
func UDPRcvbufErrors() (int64, error) {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0, fmt.Errorf("UDP counters: %w", err)
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, name := range names {
			if name == "RcvbufErrors" && i < len(f) {
				return strconv.ParseInt(f[i], 10, 64)
			}
		}
	}
	return 0, errors.New("no Udp RcvbufErrors in /proc/net/snmp")
}
