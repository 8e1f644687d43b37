// Command turnfwd is the upper limit in bench/turn/run.sh: a UDP forwarder
// that speaks just enough TURN for turnutils_uclient (Allocate, Refresh,
// CreatePermission, ChannelBind, ChannelData, Send/Data indications) and
// checks nothing: no integrity verification, no nonce, no permissions, no
// quotas, no metrics. Per datagram it does one read, one map lookup and one
// write, which is what any relay must do at least. Never deploy it.
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/pion/stun/v4"
	"github.com/pion/transport/v4/reuseport"
)

// udpSock is a UDP socket as the control path uses it: a *net.UDPConn, or
// a rawSock served by an epoll loop.
type udpSock interface {
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	LocalAddr() net.Addr
	Close() error
}

type alloc struct {
	relay    udpSock
	mu       sync.RWMutex
	channels map[uint16]netip.AddrPort
	peers    map[netip.AddrPort]uint16
}

type server struct {
	key    stun.MessageIntegrity
	realm  string
	mu     sync.RWMutex
	allocs map[netip.AddrPort]*alloc
	wg     sync.WaitGroup
	loop   string
	loops  map[udpSock]*epollLoop
	closed atomic.Bool
}

func main() {
	listen := flag.String("listen", "127.0.0.1:3478", "UDP address")
	user := flag.String("user", "alice", "username (responses are signed with its key)")
	pass := flag.String("password", "wonderland", "password")
	realm := flag.String("realm", "bench", "realm")
	sockets := flag.Int("sockets", 1, "SO_REUSEPORT sockets")
	loop := flag.String("loop", "netpoll", "read loops: netpoll (a goroutine per socket), syscall or raw (one epoll thread per listener socket)")
	flag.Parse()
	s := &server{
		key:    stun.NewLongTermIntegrity(*user, *realm, *pass),
		realm:  *realm,
		allocs: map[netip.AddrPort]*alloc{},
		loop:   *loop,
		loops:  map[udpSock]*epollLoop{},
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lc := net.ListenConfig{Control: reuseport.Control}
	var conns []udpSock
	for range *sockets {
		if *loop != "netpoll" {
			rs, err := listenRaw(*listen)
			if err != nil {
				fmt.Fprintln(os.Stderr, "turnfwd:", err)
				os.Exit(1)
			}
			conns = append(conns, rs)
			s.wg.Add(1)
			go s.serveEpoll(rs, *loop == "raw")

			continue
		}
		pc, err := lc.ListenPacket(ctx, "udp4", *listen)
		if err != nil {
			fmt.Fprintln(os.Stderr, "turnfwd:", err)
			os.Exit(1)
		}
		c := pc.(*net.UDPConn) //nolint:forcetypeassert // udp4.
		conns = append(conns, c)
		s.wg.Add(1)
		go s.serve(c)
	}
	<-ctx.Done()
	s.closed.Store(true)
	for _, c := range conns {
		_ = c.Close()
	}
	s.mu.Lock()
	for _, a := range s.allocs {
		_ = a.relay.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *server) serve(c *net.UDPConn) {
	defer s.wg.Done()
	buf := make([]byte, 1600)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		p := buf[:n]
		if n >= 4 && p[0]&0xC0 == 0x40 {
			s.mu.RLock()
			a := s.allocs[from]
			s.mu.RUnlock()
			if a == nil {
				continue
			}
			ch := binary.BigEndian.Uint16(p[0:2])
			l := int(binary.BigEndian.Uint16(p[2:4]))
			a.mu.RLock()
			peer, ok := a.channels[ch]
			a.mu.RUnlock()
			if ok && 4+l <= n {
				_, _ = a.relay.WriteToUDPAddrPort(p[4:4+l], peer)
			}

			continue
		}
		s.control(c, from, p)
	}
}

func (s *server) control(c udpSock, from netip.AddrPort, p []byte) {
	m := &stun.Message{Raw: append([]byte(nil), p...)}
	if m.Decode() != nil {
		return
	}
	reply := func(setters ...stun.Setter) {
		r, err := stun.Build(append([]stun.Setter{&stun.Message{TransactionID: m.TransactionID}}, setters...)...)
		if err == nil {
			_, _ = c.WriteToUDPAddrPort(r.Raw, from)
		}
	}
	ok := stun.NewType(m.Type.Method, stun.ClassSuccessResponse)
	mapped := &stun.XORMappedAddress{IP: from.Addr().AsSlice(), Port: int(from.Port())}
	switch {
	case m.Type == stun.BindingRequest:
		reply(stun.BindingSuccess, mapped, stun.Fingerprint)
	case m.Type.Method == stun.MethodSend && m.Type.Class == stun.ClassIndication:
		s.mu.RLock()
		a := s.allocs[from]
		s.mu.RUnlock()
		var peer stun.XORMappedAddress
		data, err := m.Get(stun.AttrData)
		if a != nil && err == nil && peer.GetFromAs(m, stun.AttrXORPeerAddress) == nil {
			ap, _ := netip.AddrFromSlice(peer.IP)
			_, _ = a.relay.WriteToUDPAddrPort(data, netip.AddrPortFrom(ap.Unmap(), uint16(peer.Port))) //nolint:gosec // Port.
		}
	case m.Type.Class != stun.ClassRequest:
	case !m.Contains(stun.AttrMessageIntegrity):
		reply(stun.NewType(m.Type.Method, stun.ClassErrorResponse), stun.CodeUnauthorized,
			stun.NewNonce("turnfwd"), stun.NewRealm(s.realm))
	case m.Type.Method == stun.MethodAllocate:
		s.mu.Lock()
		a := s.allocs[from]
		if a == nil {
			var rc udpSock
			var err error
			if s.loop == "netpoll" {
				rc, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			} else {
				rc, err = listenRaw("127.0.0.1:0")
			}
			if err != nil {
				s.mu.Unlock()

				return
			}
			a = &alloc{relay: rc, channels: map[uint16]netip.AddrPort{}, peers: map[netip.AddrPort]uint16{}}
			s.allocs[from] = a
			if l := s.loops[c]; l != nil {
				l.adopt(a, from)
			} else {
				s.wg.Add(1)
				go s.relayLoop(c.(*net.UDPConn), from, a) //nolint:forcetypeassert // netpoll mode.
			}
		}
		s.mu.Unlock()
		ra := a.relay.LocalAddr().(*net.UDPAddr) //nolint:forcetypeassert // UDP.
		relayed := &xorAttr{stun.XORMappedAddress{IP: ra.IP, Port: ra.Port}, stun.AttrXORRelayedAddress}
		reply(ok, relayed, mapped, lifetime(600), s.key, stun.Fingerprint)
	case m.Type.Method == stun.MethodChannelBind:
		var peer stun.XORMappedAddress
		num, err := m.Get(stun.AttrChannelNumber)
		s.mu.RLock()
		a := s.allocs[from]
		s.mu.RUnlock()
		if a != nil && err == nil && len(num) >= 2 && peer.GetFromAs(m, stun.AttrXORPeerAddress) == nil {
			ap, _ := netip.AddrFromSlice(peer.IP)
			pa := netip.AddrPortFrom(ap.Unmap(), uint16(peer.Port)) //nolint:gosec // Port.
			ch := binary.BigEndian.Uint16(num)
			a.mu.Lock()
			a.channels[ch], a.peers[pa] = pa, ch
			a.mu.Unlock()
		}
		reply(ok, s.key, stun.Fingerprint)
	case m.Type.Method == stun.MethodRefresh:
		reply(ok, lifetime(600), s.key, stun.Fingerprint)
	default:
		reply(ok, s.key, stun.Fingerprint)
	}
}

// relayLoop sends what peers send back to the client, over its channel.
func (s *server) relayLoop(c *net.UDPConn, client netip.AddrPort, a *alloc) {
	defer s.wg.Done()
	buf := make([]byte, 1604)
	for {
		n, from, err := a.relay.(*net.UDPConn).ReadFromUDPAddrPort(buf[4:]) //nolint:forcetypeassert // netpoll mode.
		if err != nil {
			return
		}
		a.mu.RLock()
		ch, ok := a.peers[from]
		a.mu.RUnlock()
		if !ok {
			continue
		}
		binary.BigEndian.PutUint16(buf[0:2], ch)
		binary.BigEndian.PutUint16(buf[2:4], uint16(n)) //nolint:gosec // n <= 1600.
		_, _ = c.WriteToUDPAddrPort(buf[:4+n], client)
	}
}

type xorAttr struct {
	stun.XORMappedAddress
	t stun.AttrType
}

func (x *xorAttr) AddTo(m *stun.Message) error { return x.AddToAs(m, x.t) }

type lifetime uint32

func (l lifetime) AddTo(m *stun.Message) error {
	v := make([]byte, 4)
	binary.BigEndian.PutUint32(v, uint32(l))
	m.Add(stun.AttrLifetime, v)

	return nil
}
