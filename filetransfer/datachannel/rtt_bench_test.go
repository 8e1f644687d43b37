package datachannel

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/transport/v4/packetio"
	"github.com/pion/webrtc/v4"
	"golang.org/x/net/ipv4"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/internal/pionbuf"
	"github.com/jingled/jingled/internal/proctest"
	"github.com/jingled/jingled/jingle"
)

var rttBenchSize = flag.Int("dc.rttsize", 16<<20, "bytes per BenchmarkRTT transfer")

// rttWindows are SCTP receive windows BenchmarkRTT tries beside the
// transport's own (receiveWindow, 4 MiB): pion's default 1 MiB, for the
// comparison. 6 and 8 MiB were tried too (128 MiB at 50 ms: 312-363
// Mbit/s at 6 MiB against 323-354 at 4); they are left out so that make
// bench-smoke, which runs every benchmark once, stays short.
var rttWindows = []uint32{1 << 20}

// BenchmarkRTT measures one data channel's stream at 20, 50 and 100 ms
// round-trip time, beside TCP over the same kind of path. This kernel has
// no netem, so the delay is a userspace hop on loopback: delayUDP holds
// every datagram for half the RTT in each direction, and the handles are
// told each other's address at the hop (the candidates in the offer and
// the answer are rewritten on their way). The TCP row goes through
// delayTCP, which holds each chunk it reads for half the RTT each way and
// keeps at most delayTCPWindow bytes in flight per direction: its own
// sockets see no delay, so the row is the ceiling of a TCP whose window
// covers the bandwidth-delay product, not a model of Linux's window
// growth. Set-up is outside the timer; -benchtime 1x gives one transfer
// per fresh connection (slow start included).
//
//	./scripts/in-netns.sh go test -run '^$' -bench RTT -benchtime 1x ./filetransfer/datachannel
//
// rtt=0s is the hop alone: the most this harness carries, both ends and
// the hop sharing the machine's cores. The datachannel-pion1MB rows run
// the transport with pion's datagram buffers at upstream's 1 MB (no
// internal/pionbuf floor), to show the losses the floor removes.
func BenchmarkRTT(b *testing.B) {
	for _, rtt := range []time.Duration{0, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond} {
		b.Run(fmt.Sprintf("tcp/rtt=%s", rtt), func(b *testing.B) { benchTCPRTT(b, rtt) })
		b.Run(fmt.Sprintf("datachannel/rtt=%s", rtt), func(b *testing.B) { benchDCRTT(b, rtt, nil) })
		if rtt == 0 {
			continue
		}
		b.Run(fmt.Sprintf("datachannel-pion1MB/rtt=%s", rtt), func(b *testing.B) {
			packetio.SetLimitSizeFloor(0)
			defer pionbuf.Apply()
			benchDCRTT(b, rtt, nil)
		})
		for _, w := range rttWindows {
			b.Run(fmt.Sprintf("datachannel-rwnd%dK/rtt=%s", w>>10, rtt), func(b *testing.B) {
				benchDCRTT(b, rtt, func(se *webrtc.SettingEngine) { se.SetSCTPMaxReceiveBufferSize(w) })
			})
		}
	}
}

// benchDCRTT runs one transfer through a hop of rtt, with configure (if
// set) applied to both ends' setting engines, and reports beside the rate
// what SCTP ended with and every loss on the way: the hop's, the kernel's
// at full socket buffers, webrtc's mux buffer's, and SCTP's recoveries
// (lossCounter), both ends summed.
func benchDCRTT(b *testing.B, rtt time.Duration, configure func(*webrtc.SettingEngine)) {
	d := newDelayUDP(b, rtt/2)
	losses := &lossCounter{}
	opts := []Option{WithLoopbackOnly(), WithSettingEngine(func(se *webrtc.SettingEngine) {
		if configure != nil {
			configure(se)
		}
		se.LoggerFactory = losses
	})}
	a, c := pairVia(b, New(opts...).Dialect(ice.NSDataChannel1), d.rewrite)
	ca, cb := openConns(b, a, c)
	rcvbuf, rerr := proctest.UDPRcvbufErrors()
	benchCopy(b, ca, cb, int64(*rttBenchSize))
	if after, err := proctest.UDPRcvbufErrors(); rerr == nil && err == nil {
		b.ReportMetric(float64(after-rcvbuf), "udp-drops")
	}
	st := a.pc.SCTP().Stats()
	b.ReportMetric(st.SmoothedRoundTripTime*1000, "srtt-ms")
	b.ReportMetric(float64(st.CongestionWindow)/(1<<10), "cwnd-KiB")
	b.ReportMetric(float64(d.dropped()), "hop-drops")
	b.ReportMetric(float64(losses.iceDrops.Load()), "ice-drops")
	b.ReportMetric(float64(losses.muxDrops.Load()), "mux-drops")
	b.ReportMetric(float64(losses.rwndDrops.Load()), "rwnd-drops")
	b.ReportMetric(float64(losses.fastRetransmits.Load()), "fast-rtx")
	b.ReportMetric(float64(losses.t3Timeouts.Load()), "rto")
}

func benchTCPRTT(b *testing.B, rtt time.Duration) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	d := newDelayTCP(b, l.Addr().String(), rtt/2)
	ca, err := net.Dial("tcp", d.addr())
	if err != nil {
		b.Fatal(err)
	}
	defer ca.Close()
	cb, ok := <-accepted
	if !ok {
		b.Fatal("no connection through the TCP hop")
	}
	defer cb.Close()
	benchCopy(b, ca, cb, int64(*rttBenchSize))
}

// benchCopy sends n bytes from w to r per iteration.
func benchCopy(b *testing.B, w io.Writer, r io.Reader, n int64) {
	buf := make([]byte, 256<<10)
	b.SetBytes(n)
	b.ResetTimer()
	for range b.N {
		done := make(chan error, 1)
		go func() {
			_, err := io.CopyN(io.Discard, r, n)
			done <- err
		}()
		for sent := int64(0); sent < n; sent += int64(len(buf)) {
			if _, err := w.Write(buf[:min(int64(len(buf)), n-sent)]); err != nil {
				b.Fatal(err)
			}
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)*8/1e6/b.Elapsed().Seconds(), "Mbit/s")
}

// delayUDP is a UDP hop on loopback that holds each datagram for delay.
// It has a socket facing each side: what the offerer sends to faceA goes
// out of faceB to the answerer, and back the other way, so each side
// sees its peer at one address, the socket facing it, which rewrite
// gives it as the peer's only candidate.
type delayUDP struct {
	delay time.Duration
	faceA *net.UDPConn // the offerer's side
	faceB *net.UDPConn // the answerer's side
	wg    sync.WaitGroup

	mu    sync.Mutex
	addrA *net.UDPAddr // the offerer's real address, from its offer
	addrB *net.UDPAddr // the answerer's, from its answer
	drops int
}

// hopQueue bounds the datagrams held per direction, like a router's
// queue: beyond it the hop drops.
const hopQueue = 1 << 16

func newDelayUDP(tb testing.TB, delay time.Duration) *delayUDP {
	tb.Helper()
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			tb.Fatal(err)
		}
		_ = c.SetReadBuffer(socketBuffer)
		_ = c.SetWriteBuffer(socketBuffer)
		return c
	}
	d := &delayUDP{delay: delay, faceA: listen(), faceB: listen()}
	d.forward(d.faceA, d.faceB, func() *net.UDPAddr { return d.peer(&d.addrB) })
	d.forward(d.faceB, d.faceA, func() *net.UDPAddr { return d.peer(&d.addrA) })
	tb.Cleanup(func() {
		_ = d.faceA.Close()
		_ = d.faceB.Close()
		d.wg.Wait()
	})
	return d
}

func (d *delayUDP) peer(p **net.UDPAddr) *net.UDPAddr {
	d.mu.Lock()
	defer d.mu.Unlock()
	return *p
}

func (d *delayUDP) dropped() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.drops
}

type held struct {
	due time.Time
	b   []byte
}

// holdEarly is how early a held packet may leave: sleeping until each
// one's due time wakes late by tens of microseconds on a busy machine,
// which over a burst of a thousand packets added 40 ms to the RTT.
const holdEarly = time.Millisecond

// holdUntil waits until due, less holdEarly.
func holdUntil(due time.Time) {
	if w := time.Until(due); w > holdEarly {
		time.Sleep(w - holdEarly/2)
	}
}

// forward reads from in and, delay later, writes from out to dst(). It
// moves datagrams in batches (recvmmsg, sendmmsg: up to hopBatch a system
// call), so that the hop, which stands for the network, takes as little
// as it can of the cores the two ends share with it: one datagram per
// call held the hop's own ceiling (rtt=0s) at about 420 Mbit/s.
func (d *delayUDP) forward(in, out *net.UDPConn, dst func() *net.UDPAddr) {
	q := make(chan held, hopQueue)
	d.wg.Add(2)
	go func() {
		defer d.wg.Done()
		defer close(q)
		pc := ipv4.NewPacketConn(in)
		ms := make([]ipv4.Message, hopBatch)
		for i := range ms {
			ms[i].Buffers = [][]byte{make([]byte, 1500)}
		}
		for {
			n, err := pc.ReadBatch(ms, 0)
			if err != nil {
				return
			}
			due := time.Now().Add(d.delay)
			for i := range ms[:n] {
				select {
				case q <- held{due, ms[i].Buffers[0][:ms[i].N]}:
					ms[i].Buffers[0] = make([]byte, 1500)
				default:
					d.mu.Lock()
					d.drops++
					d.mu.Unlock()
				}
			}
		}
	}()
	go func() {
		defer d.wg.Done()
		pc := ipv4.NewPacketConn(out)
		ms := make([]ipv4.Message, 0, hopBatch)
		var next *held
		for {
			if next == nil {
				h, ok := <-q
				if !ok {
					return
				}
				next = &h
			}
			holdUntil(next.due)
			// next is due: send it with every queued datagram that is
			// due too.
			to := dst()
			ms = ms[:0]
			for next != nil && len(ms) < hopBatch && time.Until(next.due) <= holdEarly {
				ms = append(ms, ipv4.Message{Buffers: [][]byte{next.b}, Addr: to})
				next = nil
				select {
				case h, ok := <-q:
					if ok {
						next = &h
					}
				default:
				}
			}
			if to != nil {
				for sent := 0; sent < len(ms); {
					n, err := pc.WriteBatch(ms[sent:], 0)
					if err != nil {
						break
					}
					sent += n
				}
			}
		}
	}()
}

// hopBatch is the most datagrams the hop moves in one system call.
const hopBatch = 64

// rewrite gives the other side the hop's socket that faces it as the
// only candidate, and notes the real address of the side that wrote e.
func (d *delayUDP) rewrite(e jingle.Element, offer bool) jingle.Element {
	t, dc, err := ice.Decode(&e)
	if err != nil || dc == nil {
		panic(fmt.Sprintf("delayUDP: %v", err)) // our own element: not reached
	}
	var real *net.UDPAddr
	for _, c := range t.Candidates {
		if ip := net.ParseIP(c.IP); ip != nil && ip.To4() != nil && c.Protocol == "udp" {
			real = &net.UDPAddr{IP: ip, Port: int(c.Port)}
			break
		}
	}
	face := d.faceB // the answerer reaches the offerer at faceB
	d.mu.Lock()
	if offer {
		d.addrA = real
	} else {
		d.addrB, face = real, d.faceA
	}
	d.mu.Unlock()
	hop := face.LocalAddr().(*net.UDPAddr)
	c := t.Candidates[0]
	c.IP, c.Port, c.Protocol, c.ID = hop.IP.String(), uint16(hop.Port), "udp", "hop"+strconv.Itoa(hop.Port)
	c.Type, c.RelAddr, c.RelPort = ice.TypeHost, "", 0
	t.Candidates = []ice.Candidate{c}
	dc.ICE = t
	out, err := jingle.NewElement(dc)
	if err != nil {
		panic(fmt.Sprintf("delayUDP: %v", err))
	}
	return out
}

// delayTCPWindow bounds the bytes delayTCP holds per direction.
const delayTCPWindow = 16 << 20

// delayTCP is a TCP hop on loopback that holds what it reads for delay
// before writing it on; see BenchmarkRTT for what it models.
type delayTCP struct {
	l  net.Listener
	wg sync.WaitGroup
}

func newDelayTCP(tb testing.TB, to string, delay time.Duration) *delayTCP {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	d := &delayTCP{l: l}
	var mu sync.Mutex
	var conns []net.Conn
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		a, err := l.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", to)
		if err != nil {
			_ = a.Close()
			return
		}
		mu.Lock()
		conns = append(conns, a, b)
		mu.Unlock()
		d.pipe(a, b, delay)
		d.pipe(b, a, delay)
	}()
	tb.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		d.wg.Wait()
	})
	return d
}

func (d *delayTCP) addr() string { return d.l.Addr().String() }

// pipe copies from in to out, each chunk delay after it was read.
func (d *delayTCP) pipe(in, out net.Conn, delay time.Duration) {
	const chunk = 64 << 10
	q := make(chan held, delayTCPWindow/chunk)
	d.wg.Add(2)
	go func() {
		defer d.wg.Done()
		defer close(q)
		for {
			buf := make([]byte, chunk)
			n, err := in.Read(buf)
			if n > 0 {
				q <- held{time.Now().Add(delay), buf[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		defer d.wg.Done()
		for h := range q {
			holdUntil(h.due)
			if _, err := out.Write(h.b); err != nil && !errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}()
}
