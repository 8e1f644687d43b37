package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"

	"github.com/jingled/jingled/internal/pionlog"
	"github.com/jingled/jingled/xmpp/extdisco"
)

// turnProbe is one pion/turn client on its own socket to one STUN/TURN
// service: a UDP socket, or a TCP or TLS connection framed as STUN. pion's
// transactions take no context, so each step runs aside and a step that
// outlives its context closes the probe, which ends the transaction.
type turnProbe struct {
	conn   net.PacketConn
	client *turn.Client
	relay  net.PacketConn // after allocate

	closeOnce sync.Once
}

// transportOf is how a service is reached: udp, tcp or tls (stuns/turns
// run over TLS on TCP; XEP-0215 without transport means the scheme's
// default, UDP).
func transportOf(s extdisco.ICEServer) string {
	switch {
	case s.Type == "stuns" || s.Type == "turns":
		return "tls"
	case s.Transport == "tcp":
		return "tcp"
	}
	return "udp"
}

// rto is pion's first retransmission timeout; it doubles per attempt, so
// a step's context, not pion's schedule, decides when to give up.
const rto = 150 * time.Millisecond

// dialTURN opens the socket or connection to addr and starts a pion
// client on it. withCreds uses the service's TURN credentials.
func dialTURN(ctx context.Context, s extdisco.ICEServer, addr netip.AddrPort, caFile string, withCreds bool, log *slog.Logger) (*turnProbe, error) {
	// The allocation's family follows the server's address (RFC 6156):
	// peers of the other family would be refused with 443.
	network, family := "udp4", turn.RequestedAddressFamilyIPv4
	if addr.Addr().Is6() {
		network, family = "udp6", turn.RequestedAddressFamilyIPv6
	}
	var conn net.PacketConn
	switch transportOf(s) {
	case "udp":
		pc, err := net.ListenUDP(network, nil)
		if err != nil {
			return nil, fmt.Errorf("udp socket: %w", err)
		}
		conn = pc
	case "tcp":
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr.String())
		if err != nil {
			return nil, fmt.Errorf("tcp connect to %s: %w", addr, err)
		}
		conn = turn.NewSTUNConn(c)
	case "tls":
		tc, err := relayTLSConfig(s.Host, caFile)
		if err != nil {
			return nil, err
		}
		c, err := (&tls.Dialer{Config: tc}).DialContext(ctx, "tcp", addr.String())
		if err != nil {
			return nil, fmt.Errorf("tls connect to %s: %w", addr, err)
		}
		conn = turn.NewSTUNConn(c)
	}
	cfg := &turn.ClientConfig{
		STUNServerAddr:         addr.String(),
		TURNServerAddr:         addr.String(),
		Conn:                   conn,
		RTO:                    rto,
		RequestedAddressFamily: family,
		Software:               "jingle doctor",
		LoggerFactory:          pionlog.Factory{Log: log},
	}
	if withCreds {
		cfg.Username, cfg.Password = s.Username, s.Credential
	}
	c, err := turn.NewClient(cfg)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("turn client: %w", err)
	}
	if err := c.Listen(); err != nil {
		c.Close()
		_ = conn.Close()
		return nil, fmt.Errorf("turn client: %w", err)
	}
	return &turnProbe{conn: conn, client: c}, nil
}

// relayTLSConfig trusts the system roots and, if given, --ca (a test or
// private deployment's own CA).
func relayTLSConfig(host, caFile string) (*tls.Config, error) {
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return tc, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading --ca: %w", err)
	}
	pool.AppendCertsFromPEM(pem)
	tc.RootCAs = pool
	return tc, nil
}

// step runs fn, a blocking pion call; if ctx ends first the probe is
// closed (failing fn's transaction) and ctx's error returned once fn is
// back, so no goroutine outlives the step.
func (p *turnProbe) step(ctx context.Context, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		p.abort()
		<-done
		return ctx.Err()
	}
}

// binding sends a STUN Binding request and returns the reflexive address.
func (p *turnProbe) binding(ctx context.Context, to netip.AddrPort) (netip.AddrPort, error) {
	var mapped netip.AddrPort
	err := p.step(ctx, func() error {
		a, err := p.client.SendBindingRequestTo(net.UDPAddrFromAddrPort(to))
		if err != nil {
			return err
		}
		ua, ok := a.(*net.UDPAddr)
		if !ok {
			return fmt.Errorf("binding answer: unexpected address %v", a)
		}
		mapped = ua.AddrPort()
		return nil
	})
	return mapped, err
}

// allocate asks for a UDP relay and returns the relayed address.
func (p *turnProbe) allocate(ctx context.Context) (netip.AddrPort, error) {
	var relayed netip.AddrPort
	err := p.step(ctx, func() error {
		rc, err := p.client.Allocate()
		if err != nil {
			return err
		}
		p.relay = rc
		ua, ok := rc.LocalAddr().(*net.UDPAddr)
		if !ok {
			return fmt.Errorf("allocate: unexpected relayed address %v", rc.LocalAddr())
		}
		relayed = ua.AddrPort()
		return nil
	})
	return relayed, err
}

// permit asks for a permission to peer (RFC 8656 section 9).
func (p *turnProbe) permit(ctx context.Context, peer netip.AddrPort) error {
	return p.step(ctx, func() error {
		return p.client.CreatePermission(net.UDPAddrFromAddrPort(peer))
	})
}

// send relays payload to peer through the allocation (pion asks for the
// permission first when it has none on record).
func (p *turnProbe) send(ctx context.Context, payload []byte, peer netip.AddrPort) error {
	return p.step(ctx, func() error {
		_, err := p.relay.WriteTo(payload, net.UDPAddrFromAddrPort(peer))
		return err
	})
}

// receive reports whether a datagram whose payload is want is relayed to
// the allocation before wait passes.
func (p *turnProbe) receive(want string, wait time.Duration) bool {
	return readUntil(p.relay, want, wait)
}

// readUntil reads conn until a datagram carries want or wait passes.
func readUntil(conn net.PacketConn, want string, wait time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 1500)
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return false
		}
		if string(buf[:n]) == want {
			return true
		}
	}
}

// close releases the allocation (a Refresh with lifetime 0), then the
// client and its socket.
func (p *turnProbe) close() {
	p.closeOnce.Do(func() {
		if p.relay != nil {
			_ = p.relay.Close()
		}
		p.client.Close()
		_ = p.conn.Close()
	})
}

// abort closes without the Refresh, for a relay that stopped answering.
func (p *turnProbe) abort() {
	p.closeOnce.Do(func() {
		p.client.Close()
		_ = p.conn.Close()
	})
}

// turnCode returns the error code of a TURN error response, if err is
// one.
func turnCode(err error) (code int, reason string, ok bool) {
	var te *stun.TurnError
	if errors.As(err, &te) {
		return int(te.ErrorCodeAttr.Code), string(te.ErrorCodeAttr.Reason), true
	}
	var tv stun.TurnError
	if errors.As(err, &tv) {
		return int(tv.ErrorCodeAttr.Code), string(tv.ErrorCodeAttr.Reason), true
	}
	return 0, "", false
}

// noAnswer describes a step that timed out or whose connection failed.
func noAnswer(tr string, addr netip.AddrPort, timeout time.Duration, err error) string {
	if isTimeout(err) {
		return fmt.Sprintf("no answer over %s from %s within %s (a firewall dropping %s to the port, or nothing listening)",
			strings.ToUpper(tr), addr, timeout, strings.ToUpper(tr))
	}
	return fmt.Sprintf("cannot reach %s over %s: %v", addr, strings.ToUpper(tr), err)
}
