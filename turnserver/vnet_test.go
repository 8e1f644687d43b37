package turnserver

import (
	"net"
	"testing"

	"github.com/pion/transport/v4/vnet"
)

// The relay on pion's virtual network (WithNet), as the call tests put it
// on the WAN between NATed peers: a client allocates and relays to a peer,
// all in memory.
func TestRelayOnVNet(t *testing.T) {
	wan, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "1.2.3.0/24", LoggerFactory: pionLogs(testLogger(t))})
	if err != nil {
		t.Fatal(err)
	}
	host := func(ip string) *vnet.Net {
		n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ip}})
		if err != nil {
			t.Fatal(err)
		}
		if err := wan.AddNet(n); err != nil {
			t.Fatal(err)
		}

		return n
	}
	serverNet, clientNet, peerNet := host("1.2.3.4"), host("1.2.3.5"), host("1.2.3.6")
	if err := wan.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wan.Stop() })

	cfg := loopbackConfig()
	cfg.Address = "1.2.3.4"
	cfg.Port = 3478
	s := startServer(t, cfg, WithNet(serverNet))
	if s.Addrs().TCP != nil || len(s.udp) != 1 {
		t.Fatalf("vnet: want one UDP socket and no TCP, got %+v", s.Addrs())
	}

	peer, err := peerNet.ListenPacket("udp4", "1.2.3.6:5000")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := peer.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = peer.WriteTo(buf[:n], from)
		}
	}()
	t.Cleanup(func() { _ = peer.Close(); <-done })

	conn, err := clientNet.ListenPacket("udp4", "1.2.3.5:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, relay := pionClient(t, s.Addrs().UDP, conn, "alice", "wonderland", cfg.Realm)
	if ra := relay.LocalAddr().(*net.UDPAddr); !ra.IP.Equal(net.IPv4(1, 2, 3, 4)) { //nolint:forcetypeassert // UDP.
		t.Fatalf("relayed address %v, want on 1.2.3.4", ra)
	}
	roundTrip(t, relay, peer.LocalAddr())
}
