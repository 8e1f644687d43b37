package turnserver

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// BenchmarkChannelRoundTrip measures one ChannelData datagram from a client
// through the relay to an echo peer and back (two relayed datagrams), for
// our server and for bare pion/turn on the same sockets. The difference is
// what auth gate, peer policy, quotas and metrics cost per packet; the issue
// allows 10%. Allocations and cpu-µs/op (user+system CPU from getrusage)
// are the whole process's (client, peer, server); ns/op is latency.
//
//	go test -run '^$' -bench ChannelRoundTrip -benchmem ./turnserver
func benchServer(b *testing.B, disableLoop bool) net.Addr {
	b.Helper()
	cfg := loopbackConfig()
	cfg.AllowPeers = []string{"127.0.0.1/32"}
	cfg.UDPSockets = 1
	cfg.DisableUDPLoop = disableLoop
	s, err := New(cfg, WithEphemeralPorts())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })

	return s.Addrs().UDP
}

func BenchmarkChannelRoundTrip(b *testing.B) {
	for _, tc := range []struct {
		name  string
		start func(b *testing.B) net.Addr
	}{
		{"jingled", func(b *testing.B) net.Addr { return benchServer(b, false) }},
		{"jingled-goroutine", func(b *testing.B) net.Addr { return benchServer(b, true) }},
		{"pion", func(b *testing.B) net.Addr {
			pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			key := turn.GenerateAuthKey("alice", "test.example", "wonderland")
			s, err := turn.NewServer(turn.ServerConfig{
				Realm: "test.example",
				AuthHandler: func(*turn.RequestAttributes) (string, []byte, bool) {
					return "alice", key, true
				},
				PacketConnConfigs: []turn.PacketConnConfig{{
					PacketConn: pc,
					RelayAddressGenerator: &turn.RelayAddressGeneratorPortRange{
						RelayAddress: net.IPv4(127, 0, 0, 1), Address: "127.0.0.1", MinPort: 40000, MaxPort: 49999,
					},
				}},
			})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })

			return pc.LocalAddr()
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			addr := tc.start(b)
			peer := echoPeerB(b)
			pa := peer.LocalAddr().(*net.UDPAddr) //nolint:forcetypeassert // UDP.
			c := dialRaw(&testing.T{}, "udp", addr, "alice", "wonderland")
			if got := errCode(c.do(stun.MethodAllocate, udpTransport())); got != 200 {
				b.Fatalf("Allocate: %d", got)
			}
			if got := errCode(c.do(stun.MethodChannelBind, channelAttr(0x4000), peerAttr(pa.IP.String(), pa.Port))); got != 200 {
				b.Fatalf("ChannelBind: %d", got)
			}
			frame := append([]byte{0x40, 0x00, 0x00, 160}, make([]byte, 160)...)
			buf := make([]byte, 1600)
			_ = c.conn.SetReadDeadline(time.Now().Add(time.Minute))
			b.ReportAllocs()
			b.SetBytes(2 * 160)
			cpu0 := processCPU(b)
			b.ResetTimer()
			for range b.N {
				if _, err := c.conn.Write(frame); err != nil {
					b.Fatal(err)
				}
				if _, err := c.conn.Read(buf); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

func processCPU(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}

	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func echoPeerB(b *testing.B) *net.UDPConn {
	b.Helper()
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1600)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	b.Cleanup(func() { _ = pc.Close(); <-done })

	return pc
}
