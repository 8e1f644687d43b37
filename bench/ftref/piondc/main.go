// Command piondc measures pion/webrtc datachannel throughput (RFC 8831 data
// channels over SCTP, DTLS and ICE) between two PeerConnections in this one
// process on loopback: no XMPP, no Jingle, no file. It is the library
// baseline `make bench-ft-ref` prints beside libwebrtc's datachannel
// (bench/ftref/libwebrtc-dc.mjs) and raw loopback TCP, so that jingled's
// datachannel file-transfer rate in `make bench-ft` can be read as "pion vs
// libwebrtc" plus "our Jingle/XMPP/file overhead".
//
// Each run builds a fresh pair, opens one reliable, ordered channel and
// sends -size random bytes; the receiver hashes them (sha-256, checked
// against the sender's). Timing runs from the first send to the last byte
// received; ICE, DTLS and SCTP set-up are reported apart.
//
// -rcvbuf sets SO_RCVBUF on the ICE sockets, to show how much of pion's
// rate is lost to UDP receive-buffer drops on loopback (the UDP
// RcvbufErrors counter bench/ftref/run.sh reports). -rtomax caps SCTP's
// retransmission timeout, whose floor in pion is RFC 4960's 1 s: a loss
// that fast retransmit does not repair then costs less than a second.
//
// Two ways of writing, chosen by -mode:
//
//   - flow (default): what libwebrtc-dc.mjs and browsers do. 16 KiB
//     messages through DataChannel.Send; the sender stops while
//     BufferedAmount is above -high and resumes on OnBufferedAmountLow at
//     -low (pion's examples/data-channels-flow-control).
//   - detached: what filetransfer/datachannel does. Detached channels with
//     blocking writes (SettingEngine.DetachDataChannels and
//     EnableDataChannelBlockWrite) and 65535-byte messages, so SCTP itself
//     holds the writer back.
//
// ICE gathers on loopback only (interface lo, loopback IPs, UDP4, no mDNS)
// and no STUN or TURN server is configured, so no packet leaves this
// machine even outside a network namespace.
//
//	go run ./bench/ftref/piondc [-mode flow|detached] [-size BYTES] [-chunk BYTES] [-runs N] [-rcvbuf BYTES] [-rtomax DURATION]
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/pion/datachannel"
	pionice "github.com/pion/ice/v4"
	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/bench/ftref/internal/report"
	"github.com/jingled/jingled/internal/proccpu"
)

// Chunk sizes of the two modes: browsers' and StanzaJS's 16 KiB, and the
// 65535 bytes filetransfer/datachannel writes when the peer announces no
// smaller max-message-size.
const (
	flowChunk     = 16 << 10
	detachedChunk = 65535
)

var (
	errMode     = errors.New("piondc: -mode must be flow or detached")
	errArgs     = errors.New("piondc: bad arguments")
	errShort    = errors.New("piondc: receiver got fewer bytes than sent")
	errHash     = errors.New("piondc: sha-256 mismatch")
	errTooLarge = errors.New("piondc: receiver got more bytes than sent")
)

type options struct {
	mode      string
	size      int
	chunk     int
	high, low uint64
	runs      int
	timeout   time.Duration
	rcvbuf    int
	rtoMax    time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	data := make([]byte, o.size)
	_, _ = rand.Read(data) // never fails (crypto/rand documents it)
	want := sha256.Sum256(data)
	api, err := newAPI(o.mode, o.rcvbuf, o.rtoMax)
	if err != nil {
		return err
	}
	name := "pion-dc"
	if o.mode == "detached" {
		name = "pion-dc-detached"
	}
	if o.rcvbuf > 0 {
		name += fmt.Sprintf("-rcvbuf%dk", o.rcvbuf>>10)
	}
	if o.rtoMax > 0 {
		name += fmt.Sprintf("-rtomax%dms", o.rtoMax.Milliseconds())
	}
	runs := make([]report.Run, 0, o.runs)
	for i := range o.runs {
		r, err := transfer(ctx, api, o, data, want)
		if err != nil {
			return fmt.Errorf("%s run %d: %w", name, i+1, err)
		}
		runs = append(runs, r)
		if err := report.PrintRun(out, name, i+1, o.runs, r, "sha-256 ok"); err != nil {
			return err
		}
	}
	bp := fmt.Sprintf("OnBufferedAmountLow: stop above %d, resume at %d", o.high, o.low)
	if o.mode == "detached" {
		bp = "detached, blocking Write (SCTP holds the writer)"
	}
	return report.Summarize(name, "pion/webrtc "+pionVersion(), o.chunk, bp, runs).Print(out)
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("piondc", flag.ContinueOnError)
	var o options
	var high, low int
	fs.StringVar(&o.mode, "mode", "flow", "flow (Send + OnBufferedAmountLow, as browsers) or detached (blocking writes, as filetransfer/datachannel)")
	fs.IntVar(&o.size, "size", 32<<20, "bytes per run (the Go file-transfer benchmark's -ft.benchsize default)")
	fs.IntVar(&o.chunk, "chunk", 0, "bytes per message (0: 16384 for flow, 65535 for detached)")
	fs.IntVar(&high, "high", 1<<20, "flow: stop sending while BufferedAmount is above this")
	fs.IntVar(&low, "low", 512<<10, "flow: resume when BufferedAmount falls to this")
	fs.IntVar(&o.runs, "runs", 3, "transfers, each over a fresh pair of PeerConnections")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "limit per run, set-up included")
	fs.DurationVar(&o.rtoMax, "rtomax", 0, "cap on SCTP's retransmission timeout (0: pion's default; its floor is 1 s, so a tail loss on loopback stalls a second)")
	fs.IntVar(&o.rcvbuf, "rcvbuf", 0, "SO_RCVBUF for the ICE UDP sockets (0: the kernel's default, as jingled uses; Linux caps it at net.core.rmem_max)")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("%w: %w", errArgs, err)
	}
	switch o.mode {
	case "flow":
		if o.chunk == 0 {
			o.chunk = flowChunk
		}
	case "detached":
		if o.chunk == 0 {
			o.chunk = detachedChunk
		}
	default:
		return o, errMode
	}
	if fs.NArg() > 0 || o.size <= 0 || o.chunk <= 0 || o.runs <= 0 || low < 0 || low >= high || o.timeout <= 0 || o.rcvbuf < 0 || o.rtoMax < 0 {
		return o, fmt.Errorf("%w: need positive -size, -chunk, -runs, -timeout, 0 <= -low < -high and -rcvbuf >= 0", errArgs)
	}
	o.high, o.low = uint64(high), uint64(low)
	return o, nil
}

// newAPI confines ICE to loopback the way filetransfer/datachannel does
// with its loopback option, and detaches channels in detached mode.
// rcvbuf > 0 sets SO_RCVBUF on every ICE UDP socket: at the kernel's
// default (net.core.rmem_default, 208 KiB here) a burst from pion's SCTP
// overflows the receiving socket on loopback, and the lost packets cost
// retransmissions and a smaller congestion window.
func newAPI(mode string, rcvbuf int, rtoMax time.Duration) (*webrtc.API, error) {
	var se webrtc.SettingEngine
	if rtoMax > 0 {
		se.SetSCTPRTOMax(rtoMax)
	}
	if rcvbuf > 0 {
		n, err := stdnet.NewNet()
		if err != nil {
			return nil, fmt.Errorf("piondc: %w", err)
		}
		se.SetNet(rcvbufNet{Net: n, size: rcvbuf})
	}
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(pionice.MulticastDNSModeDisabled)
	if mode == "detached" {
		se.DetachDataChannels()
		se.EnableDataChannelBlockWrite(true)
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se)), nil
}

// rcvbufNet is the host network with a receive buffer size set on each
// UDP socket ICE opens for its host candidates.
type rcvbufNet struct {
	transport.Net
	size int
}

func (n rcvbufNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, fmt.Errorf("piondc: listen %s %s: %w", network, laddr, err)
	}
	if err := c.SetReadBuffer(n.size); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("piondc: SO_RCVBUF %d: %w", n.size, err)
	}
	return c, nil
}

// receiver hashes and counts what arrives and reports once, when it holds
// every byte or more than was sent.
type receiver struct {
	want [32]byte
	size int

	mu   sync.Mutex
	n    int
	h    hashWriter
	done chan error // buffered 1; one value
	sent bool
	end  time.Time
}

type hashWriter interface {
	io.Writer
	Sum([]byte) []byte
}

func newReceiver(size int, want [32]byte) *receiver {
	return &receiver{want: want, size: size, h: sha256.New(), done: make(chan error, 1)}
}

// add takes one message; it returns true once the receiver has reported.
func (r *receiver) add(p []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sent {
		return true
	}
	r.n += len(p)
	_, _ = r.h.Write(p) // hash.Hash never fails
	switch {
	case r.n > r.size:
		r.finish(fmt.Errorf("%w: %d > %d", errTooLarge, r.n, r.size))
	case r.n == r.size:
		var err error
		if got := r.h.Sum(nil); [32]byte(got) != r.want {
			err = fmt.Errorf("%w: got %x, want %x", errHash, got, r.want)
		}
		r.finish(err)
	}
	return r.sent
}

// fail reports err unless the receiver has already reported.
func (r *receiver) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.sent {
		r.finish(fmt.Errorf("%w after %d of %d bytes: %w", errShort, r.n, r.size, err))
	}
}

func (r *receiver) finish(err error) {
	r.end = time.Now()
	r.sent = true
	r.done <- err
}

func (r *receiver) endTime() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.end
}

// transfer runs one measured transfer over a fresh pair.
func transfer(ctx context.Context, api *webrtc.API, o options, data []byte, want [32]byte) (report.Run, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	setupStart := time.Now()
	offerer, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return report.Run{}, fmt.Errorf("offerer: %w", err)
	}
	answerer, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		_ = offerer.Close()
		return report.Run{}, fmt.Errorf("answerer: %w", err)
	}
	// The detached reader goroutine ends when its channel closes, which
	// closing the answerer does; wait for it before returning.
	var readers sync.WaitGroup
	defer func() {
		_ = offerer.Close()
		_ = answerer.Close()
		readers.Wait()
	}()

	recv := newReceiver(len(data), want)
	recvOpen := make(chan struct{})
	answerer.OnDataChannel(func(d *webrtc.DataChannel) {
		if o.mode != "detached" {
			d.OnOpen(func() { close(recvOpen) })
			d.OnMessage(func(m webrtc.DataChannelMessage) { recv.add(m.Data) })
			d.OnClose(func() { recv.fail(errClosed) })
			return
		}
		d.OnOpen(func() {
			rwc, err := d.Detach()
			if err != nil {
				recv.fail(fmt.Errorf("detach: %w", err))
				close(recvOpen)
				return
			}
			readers.Add(1)
			go func() {
				defer readers.Done()
				readDetached(rwc, recv)
			}()
			close(recvOpen)
		})
	})

	ordered := true
	dc, err := offerer.CreateDataChannel("ftref", &webrtc.DataChannelInit{Ordered: &ordered})
	if err != nil {
		return report.Run{}, fmt.Errorf("create data channel: %w", err)
	}
	type opened struct {
		rwc datachannel.ReadWriteCloser
		err error
	}
	sendOpen := make(chan opened, 1)
	dc.OnOpen(func() {
		if o.mode != "detached" {
			sendOpen <- opened{}
			return
		}
		rwc, err := dc.Detach()
		sendOpen <- opened{rwc, err}
	})
	low := make(chan struct{}, 1)
	dc.SetBufferedAmountLowThreshold(o.low)
	dc.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})

	if err := signalPair(ctx, offerer, answerer); err != nil {
		return report.Run{}, err
	}
	var s opened
	select {
	case s = <-sendOpen:
	case <-ctx.Done():
		return report.Run{}, fmt.Errorf("sender channel open: %w", ctx.Err())
	}
	if s.err != nil {
		return report.Run{}, fmt.Errorf("detach: %w", s.err)
	}
	select {
	case <-recvOpen:
	case <-ctx.Done():
		return report.Run{}, fmt.Errorf("receiver channel open: %w", ctx.Err())
	}
	setup := time.Since(setupStart)

	start, cpu0 := time.Now(), proccpu.Used()
	if o.mode == "detached" {
		err = sendDetached(s.rwc, data, o.chunk)
	} else {
		err = sendFlow(ctx, dc, low, data, o)
	}
	if err != nil {
		return report.Run{}, err
	}
	select {
	case err := <-recv.done:
		if err != nil {
			return report.Run{}, err
		}
	case <-ctx.Done():
		return report.Run{}, fmt.Errorf("receive: %w", ctx.Err())
	}
	return report.Run{Bytes: len(data), Transfer: recv.endTime().Sub(start), Setup: setup, CPU: proccpu.Used() - cpu0}, nil
}

var errClosed = errors.New("channel closed")

// readDetached reads messages until the receiver has reported or the
// channel ends.
func readDetached(rwc datachannel.ReadWriteCloser, recv *receiver) {
	buf := make([]byte, 1<<18) // our max-message-size, above any chunk
	for {
		n, err := rwc.Read(buf)
		if n > 0 && recv.add(buf[:n]) {
			return
		}
		if err != nil {
			recv.fail(err)
			return
		}
	}
}

// sendFlow sends with the browser pattern: pause above o.high until
// OnBufferedAmountLow says the queue fell to o.low. A stale signal from an
// earlier drain only makes the loop look at BufferedAmount again.
func sendFlow(ctx context.Context, dc *webrtc.DataChannel, low <-chan struct{}, data []byte, o options) error {
	for off := 0; off < len(data); off += o.chunk {
		for dc.BufferedAmount() > o.high {
			select {
			case <-low:
			case <-ctx.Done():
				return fmt.Errorf("send at offset %d: %w", off, ctx.Err())
			}
		}
		if err := dc.Send(data[off:min(off+o.chunk, len(data))]); err != nil {
			return fmt.Errorf("send at offset %d: %w", off, err)
		}
	}
	return nil
}

// sendDetached writes as filetransfer/datachannel's conn does: one
// message per chunk, each Write blocking until SCTP takes it.
func sendDetached(w io.Writer, data []byte, chunk int) error {
	for off := 0; off < len(data); off += chunk {
		if _, err := w.Write(data[off:min(off+chunk, len(data))]); err != nil {
			return fmt.Errorf("write at offset %d: %w", off, err)
		}
	}
	return nil
}

// signalPair exchanges complete (non-trickle) descriptions: on loopback
// gathering finishes in milliseconds.
func signalPair(ctx context.Context, offerer, answerer *webrtc.PeerConnection) error {
	offer, err := offerer.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(offerer)
	if err := offerer.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("offerer local description: %w", err)
	}
	if err := waitGathered(ctx, gathered); err != nil {
		return fmt.Errorf("offerer: %w", err)
	}
	if err := answerer.SetRemoteDescription(*offerer.LocalDescription()); err != nil {
		return fmt.Errorf("answerer remote description: %w", err)
	}
	answer, err := answerer.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("create answer: %w", err)
	}
	gathered = webrtc.GatheringCompletePromise(answerer)
	if err := answerer.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("answerer local description: %w", err)
	}
	if err := waitGathered(ctx, gathered); err != nil {
		return fmt.Errorf("answerer: %w", err)
	}
	if err := offerer.SetRemoteDescription(*answerer.LocalDescription()); err != nil {
		return fmt.Errorf("offerer remote description: %w", err)
	}
	return nil
}

func waitGathered(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("gathering: %w", ctx.Err())
	}
}

// pionVersion names the pion/webrtc module this binary was built with.
func pionVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/pion/webrtc/v4" {
				return d.Version
			}
		}
	}
	return "v4"
}
