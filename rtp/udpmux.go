// The shared UDP port ([ice] udp_port): one socket per local address,
// carrying the ICE and media of every call.

package rtp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	pionice "github.com/pion/ice/v4"

	"github.com/jingled/jingled/internal/pionlog"
)

// UDPMux is one UDP port that carries the ICE and media of every call of
// the PeerOptions that hold it: one socket per local address, shared by
// all PeerConnections, demultiplexed by pion/ice by ICE username and
// then by remote address. A server takes it for two reasons: operators
// open one port in a firewall instead of a range (Jitsi's 10000/udp), and
// one socket moves many calls' datagrams per system call (recvmmsg and
// sendmmsg, see batchConn), where a socket per call pays one system call
// per datagram.
//
// Only host candidates use it; server-reflexive and relayed candidates
// keep sockets of their own. pion tells calls apart by the peer's address,
// so the peer must give each transport its own address: true of every
// client (Dino's non-BUNDLE transports each have a port), but not of two
// muxed endpoints in a non-BUNDLE call, whose transports would share one
// address pair.
type UDPMux struct {
	mux   *pionice.MultiUDPMuxDefault
	conns []*batchConn
	port  int
	// routes: the direct receivers of the calls on the port (direct.go).
	routes *directRoutes
}

// ListenUDPMux opens port (0: a free one, the same on every address) on
// every local address that calls may use: with loopback only 127.0.0.1
// and ::1 (the tests' and demo's setting, see LoopbackOnly), otherwise
// every up interface's addresses but loopback and link-local.
func ListenUDPMux(port int, loopback bool, log *slog.Logger) (*UDPMux, error) {
	ips, err := muxAddresses(loopback)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, errors.New("rtp: no local address for the UDP port")
	}
	m := &UDPMux{port: port, routes: newDirectRoutes()}
	var muxes []pionice.UDPMux
	for _, ip := range ips {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: m.port})
		if err != nil && ip.To4() == nil {
			continue // IPv6 address not usable here (e.g. disabled): IPv4 is enough
		}
		if err != nil {
			m.close()
			return nil, fmt.Errorf("rtp: UDP port %s: %w", net.JoinHostPort(ip.String(), fmt.Sprint(m.port)), err)
		}
		// A busy server takes bursts of many calls' packets at once,
		// and must hold them through its own pauses (sockbuf.go).
		if got := setSocketBuffers(c, muxSocketBuffer); got > 0 && got < 2*muxSocketBuffer && len(m.conns) == 0 {
			log.Warn("rtp: the UDP port's receive buffer is smaller than asked: under many calls a pause of this process loses audio; raise the limit with sysctl -w net.core.rmem_max=33554432 net.core.wmem_max=33554432, or grant jingled CAP_NET_ADMIN",
				"granted_bytes", got, "asked_bytes", 2*muxSocketBuffer)
		}
		if m.port == 0 {
			m.port = c.LocalAddr().(*net.UDPAddr).Port
		}
		bc, err := newBatchConn(c)
		if err != nil {
			c.Close()
			m.close()
			return nil, fmt.Errorf("rtp: UDP port %d: %w", m.port, err)
		}
		bc.routes = m.routes
		m.conns = append(m.conns, bc)
		muxes = append(muxes, pionice.NewUDPMuxDefault(pionice.UDPMuxParams{
			Logger:  pionlog.Factory{Log: log}.NewLogger("udpmux"),
			UDPConn: bc,
		}))
	}
	if len(muxes) == 0 {
		return nil, errors.New("rtp: no local address could open the UDP port")
	}
	m.mux = pionice.NewMultiUDPMuxDefault(muxes...)
	return m, nil
}

// Batch runs f with the port's sends held, then sends what f wrote
// together (sendmmsg): for a sender that writes many calls' packets at
// one moment, such as a conference mixer's tick. Writes of other
// goroutines meanwhile wait with them, for as long as f runs.
func (m *UDPMux) Batch(f func()) {
	for _, c := range m.conns {
		c.cork()
	}
	defer func() {
		for _, c := range m.conns {
			c.uncork()
		}
	}()
	f()
}

// socket is the port's socket bound to local, for direct send; nil when
// local is not the port on one of its addresses.
func (m *UDPMux) socket(local netip.AddrPort) addrPortWriter {
	if int(local.Port()) != m.port {
		return nil
	}
	for _, c := range m.conns {
		if a, ok := c.LocalAddr().(*net.UDPAddr); ok && unmapped(a.AddrPort()).Addr() == local.Addr() {
			return c
		}
	}
	return nil
}

// Port is the UDP port the mux listens on.
func (m *UDPMux) Port() int { return m.port }

// Close closes every socket; calls on it lose their host candidates.
func (m *UDPMux) Close() error {
	if m.mux != nil {
		return m.mux.Close() // closes the batchConns
	}
	return m.close()
}

func (m *UDPMux) close() error {
	var errs []error
	for _, c := range m.conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// muxAddresses lists the IPs the mux binds.
func muxAddresses(loopback bool) ([]net.IP, error) {
	if loopback {
		return []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, nil
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("rtp: listing interfaces: %w", err)
	}
	var ips []net.IP
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsLoopback() {
				continue
			}
			ips = append(ips, ipn.IP)
		}
	}
	return ips, nil
}
