package turnserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/reuseport"
	"github.com/pion/transport/v4/stdnet"
	"github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// Server is a running relay. Build it with New; stop it with Shutdown
// (drains) or Close (at once).
type Server struct {
	cfg      Config
	log      *slog.Logger
	gate     *gate
	book     *book
	metrics  *metrics
	registry *prometheus.Registry
	turn     *turn.Server
	certs    *certReloader

	udp      []net.PacketConn
	gated    []*gatedPacketConn
	loops    []*udpLoop
	tcp, tls net.Listener

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
	closed    chan struct{}
}

// Option adjusts a Server beyond what the config file says.
type Option func(*options)

type options struct {
	log       *slog.Logger
	reg       prometheus.Registerer
	net       transport.Net
	ephemeral bool
	now       func() time.Time
}

// WithLogger sets the logger; the default discards. Logs never carry
// passwords, secrets or usernames.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithRegisterer registers the metrics there (jingled's /metrics registry).
// Without it they go to a private registry that Gatherer returns.
func WithRegisterer(r prometheus.Registerer) Option { return func(o *options) { o.reg = r } }

// WithNet opens every socket through n, for tests on pion's vnet. vnet has
// no TCP and no SO_REUSEPORT, so only one UDP socket is served then.
func WithNet(n transport.Net) Option { return func(o *options) { o.net = n } }

// WithEphemeralPorts binds the listeners to free ports instead of the
// configured ones; Addrs tells which. For tests and for embedding.
func WithEphemeralPorts() Option { return func(o *options) { o.ephemeral = true } }

// withClock replaces time.Now for credential expiry (tests).
func withClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Addrs are the bound listener addresses; nil for a disabled listener.
type Addrs struct {
	UDP net.Addr
	TCP net.Addr
	TLS net.Addr
}

// New validates cfg, opens the listeners and starts serving.
func New(cfg Config, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	customNet := o.net != nil
	if !customNet {
		n, err := stdnet.NewNet()
		if err != nil {
			return nil, fmt.Errorf("turnserver: network: %w", err)
		}
		o.net = n
	}
	s := &Server{cfg: cfg, log: o.log.With("component", "turn"), closed: make(chan struct{})}
	if o.reg == nil {
		s.registry = prometheus.NewRegistry()
		o.reg = s.registry
	}
	var err error
	if s.metrics, err = newMetrics(o.reg); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		err := s.build(cfg, o, customNet)
		if err == nil {
			return s, nil
		}
		s.closeSockets()
		s.closeLoops()
		s.udp, s.gated, s.tcp, s.tls, s.certs = nil, nil, nil, nil, nil
		// With ephemeral ports the TCP and TLS listeners take the port
		// the first UDP socket got, which some other TCP socket on the
		// machine may hold already (a parallel test's connection): then
		// a new port, a few times.
		if !o.ephemeral || attempt == ephemeralAttempts || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, err
		}
	}
}

// ephemeralAttempts bounds New's tries for a free port pair with
// WithEphemeralPorts.
const ephemeralAttempts = 5

func (s *Server) build(cfg Config, o options, customNet bool) error {
	listenIP := netip.MustParseAddr(cfg.Address)
	self, subnets, err := localAddrs(o.net)
	if err != nil {
		return err
	}
	bindIP, err := relayBindIP(cfg, listenIP, self)
	if err != nil {
		return err
	}
	advertised := bindIP
	if cfg.ExternalIP != "" {
		advertised = netip.MustParseAddr(cfg.ExternalIP)
		self = append(self, advertised)
	}
	self = append(self, bindIP)
	policy, err := NewPeerPolicy(cfg.AllowPeers, cfg.DenyPeers, self, subnets,
		uint16(cfg.RelayPortMin), uint16(cfg.RelayPortMax)) //nolint:gosec // Validated 1..65535.
	if err != nil {
		return err
	}
	s.book = newBook(cfg.MaxAllocations, cfg.MaxAllocationsPerUser, s.metrics, o.now)
	s.gate = &gate{
		realm:   cfg.Realm,
		policy:  policy,
		limiter: newFailLimiter(cfg.AuthFailuresPerMinute),
		book:    s.book,
		metrics: s.metrics,
		log:     s.log,
		now:     o.now,
		permCap: cfg.MaxPermissionsPerAllocation,
	}
	s.gate.creds.Store(newCredentials(cfg.Realm, cfg.Users, cfg.Secrets))
	gen := &relayGenerator{
		net: o.net, bindIP: bindIP.AsSlice(), advertised: advertised.AsSlice(),
		min: cfg.RelayPortMin, max: cfg.RelayPortMax, policy: policy, metrics: s.metrics,
		userBW: cfg.UserBandwidth, users: newUserLimiters(cfg.UserBandwidth),
	}
	if cfg.TotalBandwidth > 0 {
		gen.total = newBucket(cfg.TotalBandwidth)
	}

	sc := turn.ServerConfig{
		Realm:         cfg.Realm,
		LoggerFactory: pionLogs(s.log),
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			return s.gate.authHandler(ra.Username, ra.Realm)
		},
		QuotaHandler:       func(user, _ string, _ net.Addr) bool { return s.book.admit(user) },
		ChannelBindTimeout: channelBindLifetime,
		PermissionTimeout:  permissionLifetime,
		AllocationLifetime: cfg.AllocationLifetime,
		EventHandler: turn.EventHandler{
			OnAllocationCreated: func(src, dst net.Addr, _, userID, _ string, _ net.Addr, _ int) {
				s.book.allocationCreated(src, dst, userID)
			},
			OnAllocationDeleted: func(src, dst net.Addr, _, userID, _ string) {
				s.book.allocationDeleted(src, dst, userID)
			},
			OnPermissionCreated: func(src, dst net.Addr, _, _, _ string, _ net.Addr, _ net.IP) {
				s.book.permissionDelta(src, dst, 1)
			},
			OnPermissionDeleted: func(src, dst net.Addr, _, _, _ string, _ net.Addr, _ net.IP) {
				s.book.permissionDelta(src, dst, -1)
			},
		},
	}
	perm := func(_ net.Addr, ip net.IP) bool { return policy.CheckIP(ip) == DenyNone }

	port, tlsPort := cfg.Port, cfg.TLSPort
	// One TCP port for plain TURN and TLS: the TLS listener serves both
	// (sniff.go), so no plain TCP listener is opened beside it.
	sharedTCP := cfg.TLSCert != "" && !customNet && tlsPort == port
	if o.ephemeral {
		port, tlsPort = 0, 0
	}
	network := "4"
	if listenIP.Is6() && !listenIP.Is4In6() {
		network = "6"
	}
	if customNet {
		cfg.UDPSockets = 1
		cfg.DisableTCP = true
	}
	lc := o.net.CreateListenConfig(&net.ListenConfig{Control: reuseport.Control})
	ctx := context.Background()
	if !cfg.DisableUDP && !customNet && loopSupported && !cfg.DisableUDPLoop {
		for range cfg.UDPLoops {
			l, err := newUDPLoop(s.metrics)
			if err != nil {
				return err
			}
			s.loops = append(s.loops, l)
		}
	}
	if !cfg.DisableUDP {
		for i := range cfg.UDPSockets {
			var pc net.PacketConn
			var loopc *loopConn
			if len(s.loops) > 0 {
				loopc, err = s.loops[i%len(s.loops)].listen(netip.AddrPortFrom(listenIP, uint16(port)), true, //nolint:gosec // Port.
					listenerBuffer, 0, readMax, nil)
				pc = loopc
			} else if customNet {
				pc, err = o.net.ListenPacket("udp"+network, net.JoinHostPort(cfg.Address, strconv.Itoa(port)))
			} else {
				pc, err = lc.ListenPacket(ctx, "udp"+network, net.JoinHostPort(cfg.Address, strconv.Itoa(port)))
			}
			if err != nil {
				return fmt.Errorf("turnserver: UDP listener %d: %w", i, err)
			}
			setBuffers(pc, listenerBuffer)
			s.udp = append(s.udp, pc)
			if port == 0 {
				port = pc.LocalAddr().(*net.UDPAddr).Port //nolint:forcetypeassert // UDP socket.
			}
			sg := &socketGenerator{relayGenerator: gen}
			gc := newGatedPacketConn(pc, s.gate, sg)
			s.gated = append(s.gated, gc)
			if loopc != nil {
				loopc.handle = gc.fromClient
				if err := loopc.loop.join(loopc); err != nil {
					return fmt.Errorf("turnserver: UDP listener %d: %w", i, err)
				}
			}
			sc.PacketConnConfigs = append(sc.PacketConnConfigs, turn.PacketConnConfig{
				PacketConn:            gc,
				RelayAddressGenerator: sg,
				PermissionHandler:     perm,
			})
		}
	}
	if sharedTCP {
		tlsPort = port // the UDP port when ephemeral
	}
	if !cfg.DisableTCP && !sharedTCP {
		ln, err := lc.Listen(ctx, "tcp"+network, net.JoinHostPort(cfg.Address, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("turnserver: TCP listener: %w", err)
		}
		s.tcp = ln
		sc.ListenerConfigs = append(sc.ListenerConfigs, turn.ListenerConfig{
			Listener: &gatedListener{Listener: ln, gate: s.gate}, RelayAddressGenerator: gen, PermissionHandler: perm,
		})
	}
	if cfg.TLSCert != "" && !customNet {
		if s.certs, err = newCertReloader(cfg.TLSCert, cfg.TLSKey); err != nil {
			return err
		}
		ln, err := lc.Listen(ctx, "tcp"+network, net.JoinHostPort(cfg.Address, strconv.Itoa(tlsPort)))
		if err != nil {
			return fmt.Errorf("turnserver: TLS listener: %w", err)
		}
		s.tls = ln
		if sharedTCP && !cfg.DisableTCP {
			s.tcp = ln
		}
		tc := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certs.getCertificate}
		sc.ListenerConfigs = append(sc.ListenerConfigs, turn.ListenerConfig{
			Listener: &gatedListener{Listener: ln, gate: s.gate, tls: tc, noPlain: cfg.DisableTCP}, RelayAddressGenerator: gen, PermissionHandler: perm,
		})
	}
	for _, l := range s.loops {
		l.start()
	}
	if s.turn, err = turn.NewServer(sc); err != nil {
		return fmt.Errorf("turnserver: starting pion/turn: %w", err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if s.certs != nil {
		s.wg.Add(1)
		go s.watchCertificate(wctx)
	}
	for _, w := range cfg.advertiseWarnings() {
		s.log.Warn("turn: " + w)
	}
	s.log.Info("turn relay listening", "udp", s.Addrs().UDP, "tcp", s.Addrs().TCP, "tls", s.Addrs().TLS,
		"udp_sockets", len(s.udp), "udp_loops", len(s.loops), "relay", net.JoinHostPort(advertised.String(),
			fmt.Sprintf("%d-%d", cfg.RelayPortMin, cfg.RelayPortMax)))

	return nil
}

// Socket buffer sizes. The kernel default (about 208 KiB) overflows when a
// burst of video packets arrives while the reading goroutine waits for a CPU:
// in bench/turn every Go relay lost 2-11% of a 20-stream video load that
// coturn, which enlarges its buffers, relayed without loss. The kernel caps
// these at net.core.rmem_max/wmem_max and charges only what is queued.
const (
	listenerBuffer = 4 << 20
	relayBuffer    = 1 << 20
)

// setBuffers enlarges a UDP socket's buffers where the socket allows it
// (vnet's do not); failure only means the kernel default stays.
func setBuffers(pc net.PacketConn, size int) {
	type buffered interface {
		SetReadBuffer(int) error
		SetWriteBuffer(int) error
	}
	if b, ok := pc.(buffered); ok {
		_ = b.SetReadBuffer(size)
		_ = b.SetWriteBuffer(size)
	}
}

// relayBindIP picks the address relay sockets bind.
func relayBindIP(cfg Config, listen netip.Addr, self []netip.Addr) (netip.Addr, error) {
	if cfg.RelayBindAddress != "" {
		return netip.MustParseAddr(cfg.RelayBindAddress), nil
	}
	if !listen.IsUnspecified() {
		return listen, nil
	}
	for _, a := range self {
		if a.Is4() == listen.Is4() && !a.IsLoopback() && !a.IsLinkLocalUnicast() {
			return a, nil
		}
	}
	// A host (or network namespace) with only loopback: relay there, which
	// is what a loopback-only test or demo wants.
	for _, a := range self {
		if a.Is4() == listen.Is4() && a.IsLoopback() {
			return a, nil
		}
	}

	return netip.Addr{}, fmt.Errorf("%w: no interface address to relay from; set relay_bind_address", ErrInvalidConfig)
}

// localAddrs lists the host's addresses and subnets: relaying to them is
// limited to relay ports, and their broadcast addresses are refused.
func localAddrs(n transport.Net) ([]netip.Addr, []netip.Prefix, error) {
	ifaces, err := n.Interfaces()
	if err != nil {
		return nil, nil, fmt.Errorf("turnserver: listing interfaces: %w", err)
	}
	var (
		addrs   []netip.Addr
		subnets []netip.Prefix
	)
	for _, ifc := range ifaces {
		as, err := ifc.Addrs()
		if err != nil {
			continue // vnet reports an interface without addresses as an error.
		}
		for _, a := range as {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ones, _ := ipn.Mask.Size()
			ip = ip.Unmap()
			addrs = append(addrs, ip)
			if p, err := ip.Prefix(ones); err == nil {
				subnets = append(subnets, p)
			}
		}
	}

	return addrs, subnets, nil
}

func (s *Server) watchCertificate(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(certPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if s.certs.changed() {
				if err := s.ReloadCertificate(); err != nil {
					s.log.Warn("turn: keeping previous TLS certificate", "err", err)
				}
			}
		}
	}
}

// ReloadCertificate re-reads the TLS certificate and key; jingled calls it
// on SIGHUP. New TLS connections use the new certificate, open ones are
// untouched. Without TLS it does nothing.
func (s *Server) ReloadCertificate() error {
	if s.certs == nil {
		return nil
	}
	changed, err := s.certs.reload()
	if err != nil {
		return err
	}
	if changed {
		s.log.Info("turn: TLS certificate reloaded")
	}

	return nil
}

// UpdateCredentials replaces the static users and shared secrets without a
// restart; jingled calls it on SIGHUP with the re-read config. Open
// allocations are untouched. This is how a secret is rotated: add the new
// one next to the old, move the XMPP server to it, drop the old one after
// the credential TTL.
func (s *Server) UpdateCredentials(users map[string]string, secrets []string) error {
	c := s.cfg
	c.Users, c.Secrets = users, secrets
	if err := c.Validate(); err != nil {
		return err
	}
	s.gate.creds.Store(newCredentials(s.cfg.Realm, users, secrets))
	s.log.Info("turn credentials updated", "users", len(users), "secrets", len(secrets))

	return nil
}

// Addrs returns the bound listener addresses.
func (s *Server) Addrs() Addrs {
	var a Addrs
	if len(s.udp) > 0 {
		a.UDP = s.udp[0].LocalAddr()
	}
	if s.tcp != nil {
		a.TCP = s.tcp.Addr()
	}
	if s.tls != nil {
		a.TLS = s.tls.Addr()
	}

	return a
}

// AllocationCount returns the allocations currently open.
func (s *Server) AllocationCount() int {
	return s.book.count()
}

// Gatherer returns the private metrics registry, or nil when the metrics
// went to a Registerer given with WithRegisterer.
func (s *Server) Gatherer() prometheus.Gatherer {
	if s.registry == nil {
		return nil
	}

	return s.registry
}

// Shutdown stops granting allocations (new Allocate requests get 508) and
// waits until the open ones end (clients stop refreshing when their calls
// end), ctx is done, or Config.ShutdownGrace passes; then it closes.
func (s *Server) Shutdown(ctx context.Context) error {
	select {
	case <-s.closed:
		return ErrClosed
	default:
	}
	s.gate.draining.Store(true)
	s.log.Info("turn relay draining", "allocations", s.AllocationCount())
	grace := time.NewTimer(s.cfg.ShutdownGrace)
	defer grace.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for s.AllocationCount() > 0 {
		select {
		case <-ctx.Done():
			s.log.Info("turn relay drain cut short", "allocations", s.AllocationCount())

			return errors.Join(ctx.Err(), s.Close())
		case <-grace.C:
			s.log.Info("turn relay drain grace over", "allocations", s.AllocationCount())

			return s.Close()
		case <-tick.C:
		}
	}

	return s.Close()
}

// Close closes every listener and allocation at once and waits for the
// server's goroutines.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		if s.cancel != nil {
			s.cancel()
		}
		if s.turn != nil {
			if err := s.turn.Close(); err != nil {
				s.closeErr = fmt.Errorf("turnserver: closing: %w", err)
			}
		} else {
			s.closeSockets()
		}
		s.wg.Wait()
		// pion closes allocations from its read-loop goroutines after the
		// sockets close; wait for that so no relay socket outlives Close.
		deadline := time.Now().Add(5 * time.Second)
		for s.turn != nil && s.turn.AllocationCount() > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		s.closeLoops()
		s.log.Info("turn relay closed")
	})

	return s.closeErr
}

// closeLoops stops the event loops, closing any socket still in them.
func (s *Server) closeLoops() {
	for _, l := range s.loops {
		l.close()
	}
	s.loops = nil
}

func (s *Server) closeSockets() {
	for _, c := range s.udp {
		_ = c.Close()
	}
	if s.tcp != nil {
		_ = s.tcp.Close()
	}
	if s.tls != nil {
		_ = s.tls.Close()
	}
}
