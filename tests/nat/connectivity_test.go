package nat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/netnstest"
)

// Ports of the reflector on the public host.
const (
	reflectPort  = 7001 // UDP and TCP: answers with the source address seen
	reflectPort2 = 7002 // UDP: same, from a second port
	pokePort     = 7003 // UDP: sends unsolicited packets when asked
)

func init() {
	roles["reflector"] = roleReflector
	roles["probe"] = roleProbe
}

// roleReflector is a STUN-like reflector on the public host: a UDP
// datagram "where" to reflectPort or reflectPort2 is answered with the
// source address it came from; "poke" makes the reflector send "poked"
// from pokePort (an address the sender never talked to) to that source;
// a TCP connection to reflectPort or netnstest.OpenPort (443) gets its
// source address and is closed.
func roleReflector(ctx context.Context, in []byte, _ <-chan string, out *json.Encoder) error {
	var ip string
	if err := json.Unmarshal(in, &ip); err != nil {
		return err
	}
	listen := func(port int) (*net.UDPConn, error) {
		return net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip), Port: port})
	}
	poke, err := listen(pokePort)
	if err != nil {
		return err
	}
	defer poke.Close()
	for _, port := range []int{reflectPort, reflectPort2} {
		c, err := listen(port)
		if err != nil {
			return err
		}
		defer c.Close()
		go func() {
			buf := make([]byte, 1500)
			for {
				n, src, err := c.ReadFromUDP(buf)
				if err != nil {
					return
				}
				switch string(buf[:n]) {
				case "where":
					_, _ = c.WriteToUDP([]byte(src.String()), src)
				case "poke":
					_, _ = poke.WriteToUDP([]byte("poked"), src)
				}
			}
		}()
	}
	for _, port := range []int{reflectPort, netnstest.OpenPort} {
		ln, err := net.Listen("tcp4", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_, _ = c.Write([]byte(c.RemoteAddr().String()))
				_ = c.Close()
			}
		}()
	}
	if err := out.Encode("ready"); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// probeInput says where the reflector is and which local UDP port to use.
type probeInput struct {
	Reflector string `json:"reflector"`
	Port      int    `json:"port"`
	// Unroutable is an address that must not be reachable (the other LAN).
	Unroutable string `json:"unroutable"`
}

// probeResult is what a peer behind a NAT observes.
type probeResult struct {
	Local string `json:"local"`
	// UDPMapped1 and UDPMapped2 are the source address the reflector saw
	// on its two ports, from the same local socket ("" when UDP failed).
	UDPMapped1 string `json:"udp_mapped1"`
	UDPMapped2 string `json:"udp_mapped2"`
	UDPErr     string `json:"udp_err,omitempty"`
	// Poked: an unsolicited datagram from a third public port arrived.
	Poked bool `json:"poked"`
	// TCPMapped is the source address of a TCP connection to
	// reflectPort ("" on error), TCPOpenMapped of one to port 443.
	TCPMapped     string `json:"tcp_mapped"`
	TCPErr        string `json:"tcp_err,omitempty"`
	TCPOpenMapped string `json:"tcp_open_mapped"`
	TCPOpenErr    string `json:"tcp_open_err,omitempty"`
	// UnroutableReached: a TCP connection to the other LAN succeeded or
	// was refused (anything but a timeout or unreachable error).
	UnroutableErr string `json:"unroutable_err"`
}

func roleProbe(ctx context.Context, in []byte, _ <-chan string, out *json.Encoder) error {
	var p probeInput
	if err := json.Unmarshal(in, &p); err != nil {
		return err
	}
	var r probeResult
	c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: p.Port})
	if err != nil {
		return err
	}
	defer c.Close()
	r.Local = c.LocalAddr().String()
	host, _, _ := net.SplitHostPort(p.Reflector)
	ask := func(port int, msg string) (string, error) {
		dst := &net.UDPAddr{IP: net.ParseIP(host), Port: port}
		buf := make([]byte, 1500)
		for range 3 {
			if _, err := c.WriteToUDP([]byte(msg), dst); err != nil {
				return "", err
			}
			_ = c.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
			n, src, err := c.ReadFromUDP(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				return "", err
			}
			if src.Port == port || msg == "poke" {
				return string(buf[:n]), nil
			}
		}
		return "", fmt.Errorf("no answer from %s", dst)
	}
	if r.UDPMapped1, err = ask(reflectPort, "where"); err != nil {
		r.UDPErr = err.Error()
	} else if r.UDPMapped2, err = ask(reflectPort2, "where"); err != nil {
		r.UDPErr = err.Error()
	} else if got, err := ask(reflectPort, "poke"); err == nil && got == "poked" {
		r.Poked = true
	}
	d := net.Dialer{Timeout: 3 * time.Second}
	r.TCPMapped, r.TCPErr = tcpSource(ctx, &d, p.Reflector)
	r.TCPOpenMapped, r.TCPOpenErr = tcpSource(ctx, &d, net.JoinHostPort(host, strconv.Itoa(netnstest.OpenPort)))
	d.Timeout = 700 * time.Millisecond
	if uc, err := d.DialContext(ctx, "tcp4", p.Unroutable); err != nil {
		r.UnroutableErr = err.Error()
	} else {
		_ = uc.Close()
	}
	return out.Encode(r)
}

// tcpSource connects to the reflector at addr and returns the source
// address it saw, or the error.
func tcpSource(ctx context.Context, d *net.Dialer, addr string) (mapped, errText string) {
	tc, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return "", err.Error()
	}
	defer tc.Close()
	buf := make([]byte, 100)
	_ = tc.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := tc.Read(buf)
	if err != nil {
		errText = err.Error()
	}
	return string(buf[:n]), errText
}

// TestTopologyConnectivity checks that each variant's routers really
// behave as the variant says, with plain sockets: mapping (port
// preserving or random per destination), filtering (unsolicited packets
// dropped or let in), UDP and every TCP port but 443 blocked where they
// must be, TCP through everywhere else, and no route between the two
// LANs.
func TestTopologyConnectivity(t *testing.T) {
	for _, v := range netnstest.Variants {
		t.Run(string(v), func(t *testing.T) {
			topo := netnstest.New(t, v)
			refl := startRole(t, topo, topo.Public, "reflector", topo.PublicIP.String())
			var ready string
			refl.next(t, &ready, 10*time.Second)
			for i, side := range topo.Sides {
				port := int(netnstest.ConePorts[0]) + 7
				other := topo.Sides[1-i]
				pr := startRole(t, topo, side.LAN, "probe", probeInput{
					Reflector:  netip.AddrPortFrom(topo.PublicIP, reflectPort).String(),
					Port:       port,
					Unroutable: netip.AddrPortFrom(other.PeerIP, 22).String(),
				})
				var r probeResult
				pr.next(t, &r, 30*time.Second)
				t.Logf("side %c: %+v", 'A'+i, r)
				checkProbe(t, v, side, port, r)
			}
		})
	}
}

func checkProbe(t *testing.T, v netnstest.Variant, side netnstest.Side, port int, r probeResult) {
	t.Helper()
	wan := side.WANIP.String()
	if host, _, _ := net.SplitHostPort(r.TCPOpenMapped); host != wan {
		t.Errorf("TCP to %d: source seen %q (%s), want the router's %s", netnstest.OpenPort, r.TCPOpenMapped, r.TCPOpenErr, wan)
	}
	if side.UDPBlocked {
		if r.TCPMapped != "" || !strings.Contains(r.TCPErr, "refused") {
			t.Errorf("TCP to %d got through (%q, %q) a router that lets only %d out", reflectPort, r.TCPMapped, r.TCPErr, netnstest.OpenPort)
		}
	} else if host, _, _ := net.SplitHostPort(r.TCPMapped); host != wan {
		t.Errorf("TCP source seen %q (%s), want the router's %s", r.TCPMapped, r.TCPErr, wan)
	}
	if r.UnroutableErr == "" || !(strings.Contains(r.UnroutableErr, "unreachable") || strings.Contains(r.UnroutableErr, "timeout")) {
		t.Errorf("the other LAN answered: %q", r.UnroutableErr)
	}
	if side.UDPBlocked {
		if r.UDPErr == "" {
			t.Errorf("UDP got through a router that blocks it: %+v", r)
		}
		return
	}
	if r.UDPErr != "" {
		t.Fatalf("UDP: %s", r.UDPErr)
	}
	m1, err1 := netip.ParseAddrPort(r.UDPMapped1)
	m2, err2 := netip.ParseAddrPort(r.UDPMapped2)
	if err1 != nil || err2 != nil || m1.Addr().String() != wan || m2.Addr().String() != wan {
		t.Fatalf("mapped %q and %q, want %s", r.UDPMapped1, r.UDPMapped2, wan)
	}
	switch v {
	case netnstest.Symmetric:
		if m1.Port() == m2.Port() {
			t.Errorf("symmetric NAT kept port %d for two destinations", m1.Port())
		}
		if r.Poked {
			t.Error("symmetric NAT let an unsolicited datagram in")
		}
	default:
		if m1 != m2 || int(m1.Port()) != port {
			t.Errorf("mapping not endpoint-independent and port preserving: local %d, mapped %s and %s", port, m1, m2)
		}
		if v == netnstest.Cone && !r.Poked {
			t.Error("full-cone NAT dropped a datagram from a new public endpoint")
		}
		if v == netnstest.UDPBlocked && r.Poked {
			t.Error("port-restricted router let an unsolicited datagram in")
		}
	}
}
