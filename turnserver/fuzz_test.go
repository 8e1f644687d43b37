package turnserver

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// FuzzServer feeds arbitrary datagrams and stream bytes to a running relay
// over real sockets. Run it long with `make fuzz-turn` (2 minutes by
// default). It fails if the server stops answering a Binding request, if
// allocations exceed what the fuzz clients could hold, or if the heap grows
// past fuzzHeapLimit: malformed input must never crash the relay or make it
// keep memory.
//
// Input layout: byte 0 picks the mode and the client socket, the rest is
// the payload. Mode "signed" re-signs a payload that parses as a STUN request
// with valid credentials and a fresh nonce, so the fuzzer gets past
// authentication into Allocate, Refresh, CreatePermission, ChannelBind,
// Connect and the data paths. The server denies every peer address, so no
// fuzz input can make it send traffic anywhere.
func FuzzServer(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Cleanup(closeFuzzHarness)
	f.Fuzz(func(t *testing.T, in []byte) {
		h := fuzzHarness(t)
		if len(in) == 0 {
			return
		}
		mode, client, payload := in[0]&0x3, int(in[0]>>2)%fuzzClients, in[1:]
		switch mode {
		case 0: // raw datagram
			h.sendUDP(t, client, payload)
		case 1: // authenticated datagram
			h.sendUDP(t, client, h.resign(payload))
		case 2: // raw stream bytes
			h.sendTCP(t, payload)
		case 3: // authenticated stream message
			h.sendTCP(t, h.resign(payload))
		}
		h.n++
		if h.n%64 == 0 {
			h.checkAlive(t)
		}
	})
}

const (
	fuzzClients   = 4
	fuzzHeapLimit = 256 << 20
)

type fuzzState struct {
	srv     *Server
	udp     [fuzzClients]*net.UDPConn
	tcp     net.Conn
	tcpAddr net.Addr
	nonce   stun.Nonce
	realm   string
	n       int
}

var (
	fuzzOnce sync.Once
	fuzzH    *fuzzState
	fuzzErr  error
)

// fuzzHarness starts one server per fuzz worker process; it lives until
// the process exits, as the fuzzer's workers do.
func fuzzHarness(t *testing.T) *fuzzState {
	t.Helper()
	fuzzOnce.Do(func() {
		cfg := loopbackConfig()
		cfg.DenyPeers = []string{"0.0.0.0/0", "::/0"}
		cfg.MaxAllocationsPerUser = fuzzClients + 1
		cfg.AuthFailuresPerMinute = 1 << 20 // Exercise auth, not the limiter.
		s, err := New(cfg, WithEphemeralPorts())
		if err != nil {
			fuzzErr = err

			return
		}
		h := &fuzzState{srv: s, tcpAddr: s.Addrs().TCP}
		for i := range h.udp {
			c, err := net.DialUDP("udp4", nil, s.Addrs().UDP.(*net.UDPAddr)) //nolint:forcetypeassert // UDP.
			if err != nil {
				fuzzErr = err

				return
			}
			h.udp[i] = c
		}
		fuzzErr = h.refreshNonce()
		fuzzH = h
	})
	if fuzzErr != nil {
		t.Fatalf("fuzz harness: %v", fuzzErr)
	}

	return fuzzH
}

// closeFuzzHarness stops the harness server after the seed corpus or a
// fuzzing run, so the leak check in TestMain sees nothing left running.
func closeFuzzHarness() {
	if fuzzH == nil {
		return
	}
	for _, c := range fuzzH.udp {
		if c != nil {
			_ = c.Close()
		}
	}
	if fuzzH.tcp != nil {
		_ = fuzzH.tcp.Close()
	}
	_ = fuzzH.srv.Close()
	fuzzH = nil
	fuzzOnce = sync.Once{}
}

// refreshNonce gets a nonce from an unauthenticated Allocate on a socket of
// its own (one of the fuzz clients may be rate-limited or busy).
func (h *fuzzState) refreshNonce() error {
	c, err := net.DialUDP("udp4", nil, h.srv.Addrs().UDP.(*net.UDPAddr)) //nolint:forcetypeassert // UDP.
	if err != nil {
		return err
	}
	defer c.Close()
	req, err := stun.Build(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), udpTransport())
	if err != nil {
		return err
	}
	if _, err := c.Write(req.Raw); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil {
		return fmt.Errorf("no 401 with nonce: %w", err)
	}
	m := &stun.Message{Raw: buf[:n]}
	if err := m.Decode(); err != nil {
		return err
	}
	var realm stun.Realm
	if err := h.nonce.GetFrom(m); err != nil {
		return err
	}
	if err := realm.GetFrom(m); err != nil {
		return err
	}
	h.realm = string(realm)

	return nil
}

// resign rebuilds a payload that parses as STUN with alice's credentials;
// anything else goes out as is.
func (h *fuzzState) resign(p []byte) []byte {
	m := &stun.Message{Raw: append([]byte(nil), p...)}
	if m.Decode() != nil {
		return p
	}
	out := &stun.Message{}
	out.TransactionID = m.TransactionID
	out.Type = m.Type
	out.WriteHeader()
	for _, a := range m.Attributes {
		switch a.Type {
		case stun.AttrUsername, stun.AttrRealm, stun.AttrNonce, stun.AttrMessageIntegrity,
			stun.AttrMessageIntegritySHA256, stun.AttrFingerprint:
			continue
		}
		out.Add(a.Type, a.Value)
	}
	// Not out.Build: it resets the message first.
	for _, set := range []stun.Setter{
		stun.NewUsername("alice"), stun.NewRealm(h.realm), h.nonce,
		stun.NewLongTermIntegrity("alice", h.realm, "wonderland"), stun.Fingerprint,
	} {
		if set.AddTo(out) != nil {
			return p
		}
	}

	return out.Raw
}

func (h *fuzzState) sendUDP(t *testing.T, client int, p []byte) {
	t.Helper()
	if _, err := h.udp[client].Write(p); err != nil && !errors.Is(err, net.ErrClosed) {
		// ECONNREFUSED from an earlier ICMP is fine; the server is checked below.
		h.drain()
	}
}

func (h *fuzzState) sendTCP(t *testing.T, p []byte) {
	t.Helper()
	if h.tcp == nil {
		c, err := net.Dial("tcp", h.tcpAddr.String())
		if err != nil {
			t.Fatalf("TCP dial: %v", err)
		}
		h.tcp = c
	}
	_ = h.tcp.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := h.tcp.Write(p); err != nil {
		_ = h.tcp.Close() // The server cut a bad stream: reconnect next time.
		h.tcp = nil
	}
}

// drain discards answers so socket buffers never fill.
func (h *fuzzState) drain() {
	buf := make([]byte, 1500)
	for _, c := range h.udp {
		for {
			_ = c.SetReadDeadline(time.Now())
			if _, err := c.Read(buf); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
			}
		}
	}
}

// checkAlive asserts the server still answers STUN and holds bounded state.
func (h *fuzzState) checkAlive(t *testing.T) {
	t.Helper()
	h.drain()
	c, err := net.DialUDP("udp4", nil, h.srv.Addrs().UDP.(*net.UDPAddr)) //nolint:forcetypeassert // UDP.
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := stun.Build(stun.TransactionID, stun.BindingRequest)
	buf := make([]byte, 1500)
	answered := false
	for try := 0; try < 3 && !answered; try++ {
		_, _ = c.Write(req.Raw)
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if n, err := c.Read(buf); err == nil {
			m := &stun.Message{Raw: buf[:n]}
			answered = m.Decode() == nil && m.TransactionID == req.TransactionID
		}
	}
	if !answered {
		t.Fatal("server stopped answering Binding requests")
	}
	// Each fuzz client socket and the TCP connection hold one allocation at most.
	if n := h.srv.AllocationCount(); n > fuzzClients+1 {
		t.Fatalf("%d allocations from %d clients", n, fuzzClients+1)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapInuse > fuzzHeapLimit {
		t.Fatalf("heap in use %d MiB after %d inputs", ms.HeapInuse>>20, h.n)
	}
	if h.n%4096 == 0 {
		_ = h.refreshNonce() // Nonces expire; keep the signed mode useful.
	}
}

// fuzzSeeds are well-formed messages of each kind the relay handles.
func fuzzSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	build := func(setters ...stun.Setter) []byte {
		m, err := stun.Build(append([]stun.Setter{stun.TransactionID}, setters...)...)
		if err != nil {
			tb.Fatal(err)
		}

		return m.Raw
	}
	req := func(m stun.Method) stun.Setter { return stun.NewType(m, stun.ClassRequest) }
	seeds := [][]byte{
		build(stun.BindingRequest),
		build(req(stun.MethodAllocate), udpTransport()),
		build(req(stun.MethodAllocate), stunRawAttr{stun.AttrRequestedTransport, []byte{6, 0, 0, 0}}),
		build(req(stun.MethodAllocate), udpTransport(), stunRawAttr{stun.AttrEvenPort, []byte{0x80}}),
		build(req(stun.MethodRefresh), lifetimeAttr(600)),
		build(req(stun.MethodRefresh), lifetimeAttr(0)),
		build(req(stun.MethodCreatePermission), peerAttr("8.8.8.8", 1), peerAttr("::ffff:127.0.0.1", 2)),
		build(req(stun.MethodChannelBind), channelAttr(0x4000), peerAttr("64:ff9b::a9fe:a9fe", 80)),
		build(req(stun.MethodConnect), peerAttr("127.0.0.1", 22)),
		build(stun.NewType(stun.MethodSend, stun.ClassIndication), peerAttr("8.8.8.8", 53), stunRawAttr{stun.AttrData, []byte("x")}),
		{0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4},
	}
	var out [][]byte
	for mode := range 4 {
		for _, s := range seeds {
			out = append(out, append([]byte{byte(mode)}, s...))
		}
	}

	return out
}
