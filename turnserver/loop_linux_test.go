package turnserver

import (
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}

	return len(ents)
}

// Close leaves no socket, epoll or eventfd descriptor behind: listeners,
// relay sockets of live allocations, and the probe sockets pion opens and
// closes for EVEN-PORT all go.
func TestLoopClosesEveryDescriptor(t *testing.T) {
	before := openFDs(t)
	cfg := loopbackConfig()
	cfg.AllowPeers = []string{"127.0.0.1/32"}
	s, err := New(cfg, WithEphemeralPorts(), WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.loops) == 0 {
		t.Fatal("no event loop on Linux")
	}
	var clients []*rawClient
	for i := range 5 {
		c := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
		attrs := []stun.Setter{udpTransport()}
		if i%2 == 0 {
			attrs = append(attrs, stunRawAttr{stun.AttrEvenPort, []byte{0x80}})
		}
		if got := errCode(c.do(stun.MethodAllocate, attrs...)); got != 200 {
			t.Fatalf("Allocate %d: %d", i, got)
		}
		clients = append(clients, c)
	}
	if got := s.AllocationCount(); got != 5 {
		t.Fatalf("%d allocations, want 5", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		_ = c.conn.Close()
	}
	if after := openFDs(t); after != before {
		t.Fatalf("%d descriptors open after Close, %d before", after, before)
	}
}

// A reader that falls behind loses datagrams, counted, instead of the loop
// blocking or the queue growing without bound.
func TestLoopQueueOverflowDrops(t *testing.T) {
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	c := &loopConn{in: make(chan loopPacket, loopQueue), done: make(chan struct{})}
	from := netip.MustParseAddrPort("192.0.2.1:1000")
	for range loopQueue + 10 {
		c.deliver([]byte("x"), from, m)
	}
	if got := testutil.ToFloat64(m.dropped.WithLabelValues("overload")); got != 10 {
		t.Fatalf("overload drops = %v, want 10", got)
	}
	// Datagrams longer than the pooled buffers are queued whole.
	c2 := &loopConn{in: make(chan loopPacket, 1), done: make(chan struct{})}
	big := make([]byte, queuedSize+100)
	big[len(big)-1] = 7
	c2.deliver(big, from, m)
	p := make([]byte, len(big))
	n, got, err := c2.readAddrPort(p)
	if err != nil || n != len(big) || got != from || p[n-1] != 7 {
		t.Fatalf("read %d bytes from %v (%v), want %d from %v", n, got, err, len(big), from)
	}
	close(c2.done)
	if _, _, err := c2.readAddrPort(p); err != net.ErrClosed {
		t.Fatalf("read after close: %v", err)
	}
}

// A busy loop keeps its P only between yields: with GOMAXPROCS=1 (the loop
// holds the only P) other goroutines still run and garbage collections
// (which stop the world) finish while ChannelData streams through it. If
// the loop never yielded or could not be preempted this test would hang.
func TestLoopYieldsWhileBusy(t *testing.T) {
	cfg := loopbackConfig()
	cfg.AllowPeers = []string{"127.0.0.1/32"}
	cfg.UDPSockets = 1
	s := startServer(t, cfg)
	peer := echoPeer(t)
	pa := peer.LocalAddr().(*net.UDPAddr) //nolint:forcetypeassert // UDP.
	c := boundClient(t, s, pa)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // keep the loop busy
		defer wg.Done()
		frame := channelData(0x4000, make([]byte, 160))
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = c.conn.Write(frame)
		}
	}()
	go func() { // and drain the echoes
		defer wg.Done()
		buf := make([]byte, 1600)
		for {
			_ = c.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if _, err := c.conn.Read(buf); err != nil {
				select {
				case <-stop:
					return
				default:
				}
			}
		}
	}()
	for range 5 {
		runtime.GC()
		ran := make(chan struct{})
		go func() { close(ran) }()
		<-ran
	}
	close(stop)
	wg.Wait()
	if metricValue(t, s, "jingled_turn_relayed_packets_total", "direction", "from_peer") == 0 {
		t.Fatal("nothing was relayed while the test ran")
	}
}

// A server that fails to start (its TCP port is taken) closes the event
// loops and UDP sockets it had already opened.
func TestLoopFailedStartLeavesNothing(t *testing.T) {
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	before := openFDs(t)
	cfg := loopbackConfig()
	cfg.Port = busy.Addr().(*net.TCPAddr).Port //nolint:forcetypeassert // TCP.
	if _, err := New(cfg, WithLogger(testLogger(t))); err == nil {
		t.Fatal("New succeeded on a taken TCP port")
	}
	if after := openFDs(t); after != before {
		t.Fatalf("%d descriptors open after the failed start, %d before", after, before)
	}
}
