// Package netnstest builds NAT topologies out of Linux network namespaces
// for tests that must show ICE (RFC 8445) and TURN (RFC 8656) working
// across real NATs: real kernel connection tracking, real iptables
// MASQUERADE, real sockets, nothing emulated.
//
// The topology, for every Variant:
//
//	     public segment 203.0.113.0/24 (bridge in the "pub" namespace)
//	pub: 203.0.113.10 (Prosody, TURN relay)
//	  |                                   |
//	natA: wan 203.0.113.2              natB: wan 203.0.113.3
//	      lan 10.11.0.1/24                   lan 192.168.22.1/24
//	  |                                   |
//	lanA: 10.11.0.2 (peer A)           lanB: 192.168.22.2 (peer B)
//
// The routers masquerade their LAN behind their WAN address and filter
// statefully (nothing unsolicited from the WAN reaches the router or the
// LAN). How they map and filter depends on the Variant; see its
// constants. Nothing in the topology routes anywhere else: the namespaces
// are created fresh, hold only the links made here, and have no default
// route out of the public segment, so traffic never leaves them.
//
// Building needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN), iproute2 and
// iptables; Available says what is missing. Names carry the process id
// and a counter, so concurrent test binaries never collide, and Close
// (registered with t.Cleanup by New) kills every process left in the
// namespaces and deletes them, also when the test failed.
package netnstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Variant selects how the two NAT routers behave.
type Variant string

const (
	// Symmetric: both routers MASQUERADE with --random-fully, so every
	// new destination gets a fresh random port (address- and
	// port-dependent mapping, RFC 4787 section 4.1), and filter
	// statefully. A server-reflexive candidate learnt from the STUN/TURN
	// server is useless for any other peer: only the relay connects.
	Symmetric Variant = "symmetric"
	// Cone: both routers MASQUERADE port-preservingly (the same external
	// port for every destination: endpoint-independent mapping, RFC 4787
	// section 4.1) and forward ConePorts back to their peer with DNAT
	// (endpoint-independent filtering): a full-cone NAT for a peer bound
	// in ConePorts. A peer on any other port sees a port-restricted cone
	// (the filtering stays address- and port-dependent), through which ICE
	// still connects without the relay: each side's checks to the other's
	// server-reflexive address open the way for the other's (hole
	// punching works because the mapping does not change per destination).
	Cone Variant = "cone"
	// UDPBlocked: router A is port-preserving as in Cone; router B lets
	// only TCP to port OpenPort (443, HTTPS) out of its LAN, as the
	// strictest corporate and hotel firewalls do: UDP is rejected with
	// ICMP, other TCP with a reset. Peer B reaches the XMPP server and the
	// relay on 443 only, so its media goes over TURN-over-TLS (or plain
	// TURN-over-TCP) on 443 (RFC 6062 is not needed: the relayed leg
	// stays UDP on the server side).
	UDPBlocked Variant = "udp-blocked"
	// Only443: both routers are router B of UDPBlocked: each peer reaches
	// only TCP port OpenPort, so the media goes from relay to relay, each
	// side's allocation reached over TURN on 443.
	Only443 Variant = "only-443"
)

// Variants lists every Variant, for table tests.
var Variants = []Variant{Symmetric, Cone, UDPBlocked, Only443}

// OpenPort is the one TCP destination port router B of UDPBlocked (and
// both routers of Only443) forward.
const OpenPort = 443

// ConePorts is the UDP port range the Cone routers forward to their peer
// (the range a peer binds to be behind a full cone).
var ConePorts = [2]uint16{40000, 40999}

// Addresses of the topology (documentation and private ranges only).
var (
	// PublicIP is the public host; PublicPrefix the public segment.
	PublicIP     = netip.MustParseAddr("203.0.113.10")
	PublicPrefix = netip.MustParsePrefix("203.0.113.0/24")
	wanIPs       = [2]netip.Addr{netip.MustParseAddr("203.0.113.2"), netip.MustParseAddr("203.0.113.3")}
	lanNets      = [2]netip.Prefix{netip.MustParsePrefix("10.11.0.0/24"), netip.MustParsePrefix("192.168.22.0/24")}
	routerLAN    = [2]netip.Addr{netip.MustParseAddr("10.11.0.1"), netip.MustParseAddr("192.168.22.1")}
	peerLANIPs   = [2]netip.Addr{netip.MustParseAddr("10.11.0.2"), netip.MustParseAddr("192.168.22.2")}
)

// ErrUnavailable is returned by Available and Build when namespaces cannot
// be built here (not root, or iproute2/iptables missing).
var ErrUnavailable = errors.New("netnstest: network namespaces unavailable")

// Available reports why topologies cannot be built, or nil.
func Available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: needs root (run `make test` as root, or `sudo go test`)", ErrUnavailable)
	}
	for _, bin := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%w: %s not in PATH: install iproute2 and iptables (`make deps`)", ErrUnavailable, bin)
		}
	}
	return nil
}

// Side is one NAT router and the LAN behind it.
type Side struct {
	// Router and LAN are namespace names.
	Router, LAN string
	// WANIP is the router's public address (what the peer's srflx and
	// the relay's peer permissions show).
	WANIP netip.Addr
	// LANNet is the private subnet, RouterIP the router's address in it
	// and PeerIP the peer's.
	LANNet   netip.Prefix
	RouterIP netip.Addr
	PeerIP   netip.Addr
	// UDPBlocked: the router forwards no UDP from the LAN, and TCP only
	// to OpenPort.
	UDPBlocked bool
}

// Topology is a built set of namespaces. Close tears it down.
type Topology struct {
	Variant Variant
	// Public is the namespace of the public host (PublicIP), where the
	// XMPP server and the TURN relay run.
	Public string
	// PublicIP is the public host's address; PublicNet the segment.
	PublicIP  netip.Addr
	PublicNet netip.Prefix
	// Sides are the two NAT routers with their LANs (A, B).
	Sides [2]Side

	mu     sync.Mutex
	ns     []string
	closed bool
}

var counter atomic.Int32

// Build creates the namespaces, links, addresses, routes and firewall
// rules of variant v. On error everything created so far is removed.
func Build(ctx context.Context, v Variant) (_ *Topology, err error) {
	switch v {
	case Symmetric, Cone, UDPBlocked, Only443:
	default:
		return nil, fmt.Errorf("netnstest: unknown variant %q", v)
	}
	if err := Available(); err != nil {
		return nil, err
	}
	prefix := fmt.Sprintf("jn%d-%d", os.Getpid(), counter.Add(1))
	t := &Topology{Variant: v, Public: prefix + "-pub", PublicIP: PublicIP, PublicNet: PublicPrefix}
	for i, name := range []string{"a", "b"} {
		t.Sides[i] = Side{
			Router: prefix + "-nat" + name, LAN: prefix + "-lan" + name,
			WANIP: wanIPs[i], LANNet: lanNets[i], RouterIP: routerLAN[i], PeerIP: peerLANIPs[i],
			UDPBlocked: v == Only443 || (v == UDPBlocked && i == 1),
		}
	}
	defer func() {
		if err != nil {
			_ = t.Close()
		}
	}()
	if err := t.build(ctx); err != nil {
		return nil, fmt.Errorf("netnstest: building %s topology: %w", v, err)
	}
	return t, nil
}

func (t *Topology) addNS(ctx context.Context, name string) error {
	if err := run(ctx, "ip", "netns", "add", name); err != nil {
		return err
	}
	t.mu.Lock()
	t.ns = append(t.ns, name)
	t.mu.Unlock()
	return t.ip(ctx, name, "link", "set", "lo", "up")
}

// ip runs `ip -n ns args...`.
func (t *Topology) ip(ctx context.Context, ns string, args ...string) error {
	return run(ctx, "ip", append([]string{"-n", ns}, args...)...)
}

// in runs a command inside ns.
func (t *Topology) in(ctx context.Context, ns string, args ...string) error {
	return run(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
}

func (t *Topology) build(ctx context.Context) error {
	if err := t.addNS(ctx, t.Public); err != nil {
		return err
	}
	pfx := func(a netip.Addr, p netip.Prefix) string { return netip.PrefixFrom(a, p.Bits()).String() }
	steps := [][]string{
		{"link", "add", "br0", "type", "bridge"},
		{"link", "set", "br0", "up"},
		{"addr", "add", pfx(t.PublicIP, t.PublicNet), "dev", "br0"},
	}
	for _, s := range steps {
		if err := t.ip(ctx, t.Public, s...); err != nil {
			return err
		}
	}
	for i := range t.Sides {
		if err := t.buildSide(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

// buildSide wires router i to the bridge and its LAN, then configures
// forwarding and the firewall of the variant.
func (t *Topology) buildSide(ctx context.Context, i int) error {
	s := t.Sides[i]
	for _, ns := range []string{s.Router, s.LAN} {
		if err := t.addNS(ctx, ns); err != nil {
			return err
		}
	}
	port := "port" + strconv.Itoa(i)
	// Each veth end is created directly in its namespace, so names never
	// clash with anything in the namespace running the test.
	if err := run(ctx, "ip", "link", "add", "wan0", "netns", s.Router, "type", "veth", "peer", "name", port, "netns", t.Public); err != nil {
		return err
	}
	if err := run(ctx, "ip", "link", "add", "lan0", "netns", s.Router, "type", "veth", "peer", "name", "eth0", "netns", s.LAN); err != nil {
		return err
	}
	pfx := func(a netip.Addr, p netip.Prefix) string { return netip.PrefixFrom(a, p.Bits()).String() }
	cmds := []struct {
		ns   string
		args []string
	}{
		{t.Public, []string{"link", "set", port, "master", "br0"}},
		{t.Public, []string{"link", "set", port, "up"}},
		{s.Router, []string{"addr", "add", pfx(s.WANIP, t.PublicNet), "dev", "wan0"}},
		{s.Router, []string{"link", "set", "wan0", "up"}},
		{s.Router, []string{"addr", "add", pfx(s.RouterIP, s.LANNet), "dev", "lan0"}},
		{s.Router, []string{"link", "set", "lan0", "up"}},
		{s.LAN, []string{"addr", "add", pfx(s.PeerIP, s.LANNet), "dev", "eth0"}},
		{s.LAN, []string{"link", "set", "eth0", "up"}},
		{s.LAN, []string{"route", "add", "default", "via", s.RouterIP.String()}},
	}
	for _, c := range cmds {
		if err := t.ip(ctx, c.ns, c.args...); err != nil {
			return err
		}
	}
	if err := t.in(ctx, s.Router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"); err != nil {
		return err
	}
	for _, rule := range t.rules(s) {
		if err := t.in(ctx, s.Router, append([]string{"iptables", "-w"}, rule...)...); err != nil {
			return err
		}
	}
	return nil
}

// rules returns the iptables rules of side s. The filter part is common:
// a stateful firewall that lets the LAN out and only replies (conntrack
// ESTABLISHED/RELATED) back in, to the router itself as well as to the
// LAN. Dropping unsolicited packets to the router in INPUT matters for
// the port-preserving variants: a dropped packet's conntrack entry is
// never confirmed, so it cannot claim the router's port and push a later
// outgoing mapping to another port (which would turn the cone into a
// symmetric NAT for that flow).
func (t *Topology) rules(s Side) [][]string {
	masq := []string{"-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-j", "MASQUERADE"}
	if t.Variant == Symmetric {
		masq = append(masq, "--random-fully")
	}
	r := [][]string{
		masq,
		{"-P", "FORWARD", "DROP"},
		{"-A", "FORWARD", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"},
	}
	if s.UDPBlocked {
		r = append(r,
			[]string{"-A", "FORWARD", "-i", "lan0", "-o", "wan0", "-p", "tcp", "--dport", strconv.Itoa(OpenPort), "-j", "ACCEPT"},
			[]string{"-A", "FORWARD", "-i", "lan0", "-p", "udp", "-j", "REJECT", "--reject-with", "icmp-port-unreachable"},
			[]string{"-A", "FORWARD", "-i", "lan0", "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"},
			[]string{"-A", "FORWARD", "-i", "lan0", "-j", "REJECT", "--reject-with", "icmp-admin-prohibited"},
		)
	} else {
		r = append(r, []string{"-A", "FORWARD", "-i", "lan0", "-o", "wan0", "-j", "ACCEPT"})
	}
	r = append(r,
		[]string{"-A", "INPUT", "-i", "wan0", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"},
		[]string{"-A", "INPUT", "-i", "wan0", "-j", "DROP"},
	)
	if t.Variant == Cone {
		ports := fmt.Sprintf("%d:%d", ConePorts[0], ConePorts[1])
		r = append(r,
			[]string{"-t", "nat", "-A", "PREROUTING", "-i", "wan0", "-p", "udp", "--dport", ports, "-j", "DNAT", "--to-destination", s.PeerIP.String()},
			[]string{"-A", "FORWARD", "-i", "wan0", "-o", "lan0", "-p", "udp", "-m", "conntrack", "--ctstate", "DNAT", "-j", "ACCEPT"},
		)
	}
	return r
}

// Namespaces returns every namespace of the topology.
func (t *Topology) Namespaces() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.ns...)
}

// Command returns a command that runs name with args inside namespace ns
// (through `ip netns exec`). The kernel kills it if the calling thread's
// process dies, so no server outlives a crashed test; Close kills what is
// left anyway.
func (t *Topology) Command(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs a command inside ns and returns its combined output.
func (t *Topology) Run(ctx context.Context, ns, name string, args ...string) (string, error) {
	out, err := t.Command(ctx, ns, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("netnstest: %s %s in %s: %w: %s", name, strings.Join(args, " "), ns, err, out)
	}
	return string(out), nil
}

// Dump describes the topology's state (addresses, routes, rules,
// conntrack counters) for a failing test's log.
func (t *Topology) Dump(ctx context.Context) string {
	var b strings.Builder
	for _, s := range t.Sides {
		for _, c := range [][]string{{"iptables", "-w", "-S"}, {"iptables", "-w", "-t", "nat", "-S"}, {"iptables", "-w", "-L", "-v", "-n"}} {
			out, _ := t.Command(ctx, s.Router, c[0], c[1:]...).CombinedOutput()
			fmt.Fprintf(&b, "--- %s: %s\n%s", s.Router, strings.Join(c, " "), out)
		}
	}
	return b.String()
}

// Close kills the processes left in the namespaces and deletes them. It
// is safe to call more than once.
func (t *Topology) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	names := t.ns
	t.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var errs []error
	for i := len(names) - 1; i >= 0; i-- {
		killAll(ctx, names[i])
		if err := run(ctx, "ip", "netns", "del", names[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// killAll kills every process in ns and waits briefly for them to go, so
// that deleting the namespace really frees its links and sockets.
func killAll(ctx context.Context, ns string) {
	for range 50 {
		out, err := exec.CommandContext(ctx, "ip", "netns", "pids", ns).Output()
		if err != nil {
			return
		}
		pids := strings.Fields(string(out))
		if len(pids) == 0 {
			return
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil && pid != os.Getpid() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

// Account adds counting rules (no verdict) at the top of router side's
// FORWARD chain for traffic between its LAN and the public host's
// proto/port, both directions, so a test can prove which path its
// traffic took. Read them with Counter.
func (t *Topology) Account(ctx context.Context, side int, name, proto string, port int) error {
	pub, p := t.PublicIP.String(), strconv.Itoa(port)
	for _, r := range [][]string{
		{"-i", "lan0", "-d", pub, "-p", proto, "--dport", p},
		{"-i", "wan0", "-s", pub, "-p", proto, "--sport", p},
	} {
		args := append([]string{"iptables", "-w", "-I", "FORWARD", "1"}, r...)
		if err := t.in(ctx, t.Sides[side].Router, append(args, "-m", "comment", "--comment", name)...); err != nil {
			return err
		}
	}
	return nil
}

// Counter returns the packets and bytes counted, both directions
// together, by the rules named name (see Account) on router side.
func (t *Topology) Counter(ctx context.Context, side int, name string) (packets, bytes uint64, err error) {
	out, err := t.Run(ctx, t.Sides[side].Router, "iptables", "-w", "-L", "FORWARD", "-v", "-x", "-n")
	if err != nil {
		return 0, 0, err
	}
	found := false
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "/* "+name+" */") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		pk, err1 := strconv.ParseUint(f[0], 10, 64)
		by, err2 := strconv.ParseUint(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, 0, fmt.Errorf("netnstest: parsing counter line %q", line)
		}
		packets, bytes, found = packets+pk, bytes+by, true
	}
	if !found {
		return 0, 0, fmt.Errorf("netnstest: no rule %q on %s", name, t.Sides[side].Router)
	}
	return packets, bytes, nil
}
