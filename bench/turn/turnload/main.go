// Command turnload is bench/turn's top-rate load generator. turnutils_uclient
// is single-threaded and, on the same two CPUs as the server, saturates
// before any relay does; turnload spends less per datagram (sendmmsg and
// recvmmsg in batches, no per-message timing) so that a relay confined to
// part of one CPU (bench/turn/toprate.sh) saturates first.
//
// It opens -clients UDP allocations with a static long-term user, binds one
// channel each to its own echo peer socket, then offers ChannelData at each
// of -rates datagrams per second for -step, and prints one line per rate:
//
//	rate=OFFERED sent=S peer=P back=R relayed_per_s=X loss_pct=L
//
// where relayed counts the datagrams the relay sent (to the peer and back
// to the clients) and loss is 1 - R/S. With -window it runs the closed
// loop instead (closed.go, bench/turn/closedloop.sh): each client keeps
// that many messages in flight, and a line per window gives the echo rate,
// round-trip times and, with -pid, the server's CPU per echo. Loopback
// only: the server and the peer are given as addresses, the peer binds
// 127.0.0.1.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun/v4"
	"golang.org/x/net/ipv4"
)

type client struct {
	conn *net.UDPConn
	pc   *ipv4.PacketConn
}

func main() {
	server := flag.String("server", "127.0.0.1:3478", "TURN server (UDP)")
	user := flag.String("user", "alice", "long-term username")
	pass := flag.String("password", "wonderland", "password")
	clients := flag.Int("clients", 16, "allocations")
	size := flag.Int("size", 160, "payload bytes per datagram")
	rates := flag.String("rates", "20000,40000,80000", "offered client datagrams per second, comma-separated")
	step := flag.Duration("step", 2*time.Second, "time per rate (and per window with -window)")
	window := flag.String("window", "", "closed loop instead of -rates: comma-separated messages in flight per client (closed.go)")
	pid := flag.Int("pid", 0, "with -window: the server's process id, whose CPU time per echo is reported")
	flag.Parse()
	if err := run(*server, *user, *pass, *clients, *size, *rates, *window, *pid, *step); err != nil {
		fmt.Fprintln(os.Stderr, "turnload:", err)
		os.Exit(1)
	}
}

func run(server, user, pass string, nclients, size int, rateList, windowList string, pid int, step time.Duration) error {
	var windows []int
	if windowList != "" {
		var err error
		if windows, err = parseWindows(windowList); err != nil {
			return err
		}
	}
	srv, err := net.ResolveUDPAddr("udp4", server)
	if err != nil {
		return err
	}
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	var peerRecv, back atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); echo(ipv4.NewPacketConn(peer), &peerRecv) }()

	cs := make([]*client, 0, nclients)
	defer func() {
		for _, c := range cs {
			_ = c.conn.Close()
		}
		_ = peer.Close()
		wg.Wait()
	}()
	for i := range nclients {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return err
		}
		_ = conn.SetReadBuffer(4 << 20)
		_ = conn.SetWriteBuffer(4 << 20)
		c := &client{conn: conn, pc: ipv4.NewPacketConn(conn)}
		cs = append(cs, c)
		if err := allocate(conn, srv, user, pass, peer.LocalAddr().(*net.UDPAddr)); err != nil { //nolint:forcetypeassert // UDP.
			return fmt.Errorf("client %d: %w", i, err)
		}
		if windows == nil {
			wg.Add(1)
			go func() { defer wg.Done(); drain(c.pc, &back) }()
		}
	}
	if windows != nil {
		return runClosed(cs, srv, size, windows, pid, 500*time.Millisecond, step)
	}

	frame := make([]byte, 4+size+3)
	frame[0], frame[1] = 0x40, 0x00
	frame[2], frame[3] = byte(size>>8), byte(size)
	frame = frame[:(4+size+3)&^3]
	const batch = 32
	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		msgs[i] = ipv4.Message{Buffers: [][]byte{frame}, Addr: srv}
	}

	for _, f := range splitList(rateList) {
		rate, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || rate <= 0 {
			return fmt.Errorf("bad rate %q", f)
		}
		time.Sleep(300 * time.Millisecond) // let the last step's echoes land
		peerRecv.Store(0)
		back.Store(0)
		sent := 0
		start := time.Now()
		next := 0
		for {
			el := time.Since(start)
			if el >= step {
				break
			}
			due := int(float64(rate)*el.Seconds()) - sent
			for due > 0 {
				n := min(due, batch)
				c := cs[next%len(cs)]
				next++
				k, err := c.pc.WriteBatch(msgs[:n], 0)
				if err != nil {
					k = n // counted as sent and lost
				}
				sent += k
				due -= k
			}
			time.Sleep(200 * time.Microsecond)
		}
		time.Sleep(300 * time.Millisecond)
		secs := step.Seconds()
		p, r := peerRecv.Load(), back.Load()
		loss := 0.0
		if sent > 0 {
			loss = 100 * (1 - float64(r)/float64(sent))
		}
		fmt.Printf("rate=%d sent=%d peer=%d back=%d relayed_per_s=%.0f loss_pct=%.2f\n",
			rate, sent, p, r, float64(p+r)/secs, loss)
	}

	return nil
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}

	return out
}

// echo sends every datagram back where it came from (the relay address).
func echo(pc *ipv4.PacketConn, count *atomic.Int64) {
	const batch = 64
	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 2048)}
	}
	out := make([]ipv4.Message, batch)
	for {
		n, err := pc.ReadBatch(msgs, 0)
		if err != nil {
			return
		}
		count.Add(int64(n))
		for i := range n {
			out[i] = ipv4.Message{Buffers: [][]byte{msgs[i].Buffers[0][:msgs[i].N]}, Addr: msgs[i].Addr}
		}
		for done := 0; done < n; {
			k, err := pc.WriteBatch(out[done:n], 0)
			if err != nil {
				break
			}
			done += k
		}
	}
}

// drain counts ChannelData coming back to a client.
func drain(pc *ipv4.PacketConn, count *atomic.Int64) {
	const batch = 64
	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 2048)}
	}
	for {
		n, err := pc.ReadBatch(msgs, 0)
		if err != nil {
			return
		}
		k := 0
		for i := range n {
			if msgs[i].N >= 4 && msgs[i].Buffers[0][0]&0xC0 == 0x40 {
				k++
			}
		}
		count.Add(int64(k))
	}
}

var errNoAnswer = errors.New("no answer from the server")

// allocate makes an allocation with long-term credentials and binds
// channel 0x4000 to peer.
func allocate(conn *net.UDPConn, srv *net.UDPAddr, user, pass string, peer *net.UDPAddr) error {
	do := func(setters ...stun.Setter) (*stun.Message, error) {
		m, err := stun.Build(append([]stun.Setter{stun.TransactionID}, setters...)...)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, 2048)
		for range 3 {
			if _, err := conn.WriteToUDP(m.Raw, srv); err != nil {
				return nil, err
			}
			_ = conn.SetReadDeadline(time.Now().Add(time.Second))
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				continue
			}
			r := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if err := r.Decode(); err != nil || r.TransactionID != m.TransactionID {
				continue
			}
			_ = conn.SetReadDeadline(time.Time{})

			return r, nil
		}

		return nil, errNoAnswer
	}
	transport := stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}
	first, err := do(stun.NewType(stun.MethodAllocate, stun.ClassRequest), transport, stun.Fingerprint)
	if err != nil {
		return err
	}
	var nonce stun.Nonce
	var realm stun.Realm
	if err := nonce.GetFrom(first); err != nil {
		return fmt.Errorf("allocate: no nonce in the first answer: %w", err)
	}
	if err := realm.GetFrom(first); err != nil {
		return fmt.Errorf("allocate: no realm: %w", err)
	}
	key := stun.NewLongTermIntegrity(user, realm.String(), pass)
	auth := []stun.Setter{stun.NewUsername(user), realm, nonce}
	r, err := do(append([]stun.Setter{stun.NewType(stun.MethodAllocate, stun.ClassRequest), transport}, append(auth, key, stun.Fingerprint)...)...)
	if err != nil {
		return err
	}
	if err := refused(r, "allocate"); err != nil {
		return err
	}
	ch := stun.RawAttribute{Type: stun.AttrChannelNumber, Value: []byte{0x40, 0x00, 0, 0}}
	xpeer := &xorPeer{stun.XORMappedAddress{IP: peer.IP, Port: peer.Port}}
	r, err = do(append([]stun.Setter{stun.NewType(stun.MethodChannelBind, stun.ClassRequest), ch, xpeer}, append(auth, key, stun.Fingerprint)...)...)
	if err != nil {
		return err
	}

	return refused(r, "channel bind")
}

type xorPeer struct{ stun.XORMappedAddress }

func (x *xorPeer) AddTo(m *stun.Message) error { return x.AddToAs(m, stun.AttrXORPeerAddress) }

// refused turns an error response into an error naming its code.
func refused(r *stun.Message, what string) error {
	if r.Type.Class == stun.ClassSuccessResponse {
		return nil
	}
	var code stun.ErrorCodeAttribute
	_ = code.GetFrom(r)

	return fmt.Errorf("%s refused: %v", what, code)
}
