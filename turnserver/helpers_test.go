package turnserver

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
	dto "github.com/prometheus/client_model/go"
)

// testLogger writes to the test log only with -v and JINGLED_TEST_LOG set,
// so normal runs stay quiet.
func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	if os.Getenv("JINGLED_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}

	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// loopbackConfig is a server on 127.0.0.1 with relay ports on 127.0.0.1.
func loopbackConfig() Config {
	return Config{
		Address:      "127.0.0.1",
		Realm:        "test.example",
		Users:        map[string]string{"alice": "wonderland"},
		Secrets:      []string{"s3cret"},
		UDPSockets:   2,
		RelayPortMin: 40000,
		RelayPortMax: 49999,
	}
}

// testClock is a settable clock for credential expiry.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Now().UnixNano())

	return c
}
func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func startServer(t *testing.T, cfg Config, opts ...Option) *Server {
	t.Helper()
	opts = append([]Option{WithEphemeralPorts(), WithLogger(testLogger(t))}, opts...)
	s, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})

	return s
}

// rawClient speaks TURN by hand so tests see exact error codes, which the
// pion client folds into error strings.
type rawClient struct {
	t          *testing.T
	conn       net.Conn
	stream     bool
	user, pass string
	realm      string
	nonce      stun.Nonce
}

func dialRaw(t *testing.T, network string, addr net.Addr, user, pass string) *rawClient {
	t.Helper()
	c, err := net.Dial(network, addr.String())
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })

	return &rawClient{t: t, conn: c, stream: network == "tcp", user: user, pass: pass}
}

func (c *rawClient) send(m *stun.Message) {
	c.t.Helper()
	if _, err := c.conn.Write(m.Raw); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

var errNoResponse = errors.New("no response")

// recv returns the next STUN message, or errNoResponse after wait.
func (c *rawClient) recv(wait time.Duration) (*stun.Message, error) {
	if err := c.conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return nil, err
	}
	buf := make([]byte, 1600)
	var n int
	var err error
	if c.stream {
		if _, err = io.ReadFull(c.conn, buf[:20]); err == nil {
			l := int(buf[2])<<8 | int(buf[3])
			_, err = io.ReadFull(c.conn, buf[20:20+l])
			n = 20 + l
		}
	} else {
		n, err = c.conn.Read(buf)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil, errNoResponse
	}
	if err != nil {
		return nil, err
	}
	m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
	if err := m.Decode(); err != nil {
		return nil, err
	}

	return m, nil
}

func (c *rawClient) build(method stun.Method, auth bool, attrs ...stun.Setter) *stun.Message {
	c.t.Helper()
	setters := []stun.Setter{stun.TransactionID, stun.NewType(method, stun.ClassRequest)}
	setters = append(setters, attrs...)
	if auth {
		setters = append(setters, stun.NewUsername(c.user), stun.NewRealm(c.realm), c.nonce,
			stun.NewLongTermIntegrity(c.user, c.realm, c.pass))
	}
	setters = append(setters, stun.Fingerprint)
	m, err := stun.Build(setters...)
	if err != nil {
		c.t.Fatalf("build: %v", err)
	}

	return m
}

// do sends an authenticated request, first fetching realm and nonce with
// an unauthenticated one if needed, and returns the response.
func (c *rawClient) do(method stun.Method, attrs ...stun.Setter) *stun.Message {
	c.t.Helper()
	m, err := c.try(method, attrs...)
	if err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}

	return m
}

func (c *rawClient) try(method stun.Method, attrs ...stun.Setter) (*stun.Message, error) {
	c.t.Helper()
	if c.nonce == nil {
		c.send(c.build(method, false, attrs...))
		m, err := c.recv(2 * time.Second)
		if err != nil {
			return nil, err
		}
		var realm stun.Realm
		if err := c.nonce.GetFrom(m); err != nil {
			c.t.Fatalf("first %s answer has no nonce: %v (code %d)", method, err, errCode(m))
		}
		if err := realm.GetFrom(m); err != nil {
			c.t.Fatalf("no realm: %v", err)
		}
		c.realm = string(realm)
	}
	c.send(c.build(method, true, attrs...))

	return c.recv(2 * time.Second)
}

func errCode(m *stun.Message) int {
	var ec stun.ErrorCodeAttribute
	if m.Type.Class == stun.ClassSuccessResponse {
		return 200
	}
	if err := ec.GetFrom(m); err != nil {
		return -1
	}

	return int(ec.Code)
}

func udpTransport() stun.Setter {
	return stunRawAttr{stun.AttrRequestedTransport, []byte{17, 0, 0, 0}}
}

type stunRawAttr struct {
	t stun.AttrType
	v []byte
}

func (a stunRawAttr) AddTo(m *stun.Message) error { m.Add(a.t, a.v); return nil }

func peerAttr(ip string, port int) stun.Setter {
	return &xorPeer{stun.XORMappedAddress{IP: net.ParseIP(ip), Port: port}}
}

type xorPeer struct{ stun.XORMappedAddress }

func (p *xorPeer) AddTo(m *stun.Message) error { return p.AddToAs(m, stun.AttrXORPeerAddress) }

func channelAttr(n uint16) stun.Setter {
	return stunRawAttr{stun.AttrChannelNumber, []byte{byte(n >> 8), byte(n), 0, 0}}
}

func lifetimeAttr(sec uint32) stun.Setter {
	return stunRawAttr{stun.AttrLifetime, []byte{byte(sec >> 24), byte(sec >> 16), byte(sec >> 8), byte(sec)}}
}

// echoPeer is a UDP peer on loopback that echoes what it gets.
func echoPeer(t *testing.T) *net.UDPConn {
	t.Helper()
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 1600)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); wg.Wait() })

	return pc
}

// pionClient allocates on s with the pion client, as an ICE agent would.
func pionClient(t *testing.T, turnAddr net.Addr, conn net.PacketConn, user, pass, realm string) (*turn.Client, net.PacketConn) {
	t.Helper()
	c, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: turnAddr.String(),
		TURNServerAddr: turnAddr.String(),
		Conn:           conn,
		Username:       user,
		Password:       pass,
		Realm:          realm,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	t.Cleanup(func() { _ = relay.Close() })

	return c, relay
}

// metricValue sums a counter or gauge over the series whose labels contain
// the given name=value pairs.
func metricValue(t *testing.T, s *Server, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := s.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !hasLabels(m, labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Histogram != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}

	return sum
}

func hasLabels(m *dto.Metric, want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == want[i] && l.GetValue() == want[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}

	return true
}

// eventually polls cond until it holds or 5 s pass; for state that settles
// asynchronously (allocation teardown), never for measuring speed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func allMetricText(t *testing.T, s *Server) string {
	t.Helper()
	mfs, err := s.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		b.WriteString(mf.String())
	}

	return b.String()
}

func writeFile(path, content string) error {
	return os.WriteFile(path, []byte(content), 0o600)
}

// boundClient allocates over UDP as alice and binds channel 0x4000 to pa.
func boundClient(t *testing.T, s *Server, pa *net.UDPAddr) *rawClient {
	t.Helper()
	c := dialRaw(t, "udp", s.Addrs().UDP, "alice", "wonderland")
	if got := errCode(c.do(stun.MethodAllocate, udpTransport())); got != 200 {
		t.Fatalf("Allocate: %d", got)
	}
	if got := errCode(c.do(stun.MethodChannelBind, channelAttr(0x4000), peerAttr(pa.IP.String(), pa.Port))); got != 200 {
		t.Fatalf("ChannelBind: %d", got)
	}

	return c
}
