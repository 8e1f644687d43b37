package cli

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/jingled/jingled/internal/doctor"
	"github.com/jingled/jingled/xmpp/extdisco"
)

// selfAddress is what the STUN binding taught about this machine: the
// address it sends from and the one the relay sees.
type selfAddress struct {
	local, reflexive netip.Addr
	known            bool
}

// checkServices checks every announced service: DNS, reach and a STUN
// binding per transport and address, then for TURN an allocation with
// the announced credentials; the round trip and the peer policy once per
// relay host (its UDP, TCP and TLS ports lead to the same relay).
func (d *doctorRun) checkServices(ctx context.Context, servers []extdisco.ICEServer) {
	reached := map[string]bool{}       // "transport addr" -> binding answered
	relayDone := map[netip.Addr]bool{} // relay address -> round trip and policy checked
	for _, s := range servers {
		if ctx.Err() != nil {
			return
		}
		addr, ok := d.resolve(ctx, s)
		if !ok {
			continue
		}
		tr := transportOf(s)
		key := tr + " " + addr.String()
		if _, done := reached[key]; !done {
			reached[key] = d.checkBinding(ctx, s, tr, addr)
		}
		if !reached[key] || !isTURNType(s.Type) {
			continue
		}
		a := d.checkAllocation(ctx, s, tr, addr)
		if a == nil {
			continue
		}
		if !relayDone[addr.Addr()] {
			relayDone[addr.Addr()] = true
			d.checkRoundTrip(ctx, s, tr, addr, a)
			if addr.Addr().Is4() {
				d.checkPeerPolicy(ctx, s, a)
			} else {
				// An IPv6 allocation refuses IPv4 peers for their family
				// (443), which would pass for a refusal by policy.
				d.report.Add(doctor.New(doctor.IDRelayPeerPolicy, doctor.Info, s.URL,
					"the peer policy is checked on IPv4 allocations only; this relay address is IPv6"))
			}
		}
		a.close()
	}
}

// resolve looks the service's host up (an IP literal needs no DNS).
func (d *doctorRun) resolve(ctx context.Context, s extdisco.ICEServer) (netip.AddrPort, bool) {
	if ip, err := netip.ParseAddr(s.Host); err == nil {
		return netip.AddrPortFrom(ip.Unmap(), uint16(s.Port)), true
	}
	sctx, cancel := d.stepCtx(ctx)
	ips, err := net.DefaultResolver.LookupNetIP(sctx, "ip", s.Host)
	cancel()
	if err != nil || len(ips) == 0 {
		d.report.Add(doctor.New(doctor.IDTURNDNS, doctor.Error, s.URL, fmt.Sprintf("the relay's name %s does not resolve: %v", s.Host, err)))
		return netip.AddrPort{}, false
	}
	// Prefer IPv4: every client has it.
	ip := ips[0]
	for _, a := range ips {
		if a.Unmap().Is4() {
			ip = a
			break
		}
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(s.Port)), true
}

// checkBinding reaches the service over tr and asks for a STUN binding;
// true when it answered.
func (d *doctorRun) checkBinding(ctx context.Context, s extdisco.ICEServer, tr string, addr netip.AddrPort) bool {
	subject := fmt.Sprintf("%s (%s %s)", s.URL, strings.ToUpper(tr), addr)
	sctx, cancel := d.stepCtx(ctx)
	defer cancel()
	p, err := dialTURN(sctx, s, addr, d.caFile, false, d.ep.log)
	if err != nil {
		d.report.Add(doctor.New(doctor.IDTURNUnreachable, doctor.Error, subject, noAnswer(tr, addr, d.timeout, err)))
		return false
	}
	defer p.close()
	mapped, err := p.binding(sctx, addr)
	if err != nil {
		d.report.Add(doctor.New(doctor.IDTURNUnreachable, doctor.Error, subject, noAnswer(tr, addr, d.timeout, err)))
		return false
	}
	d.report.Add(doctor.New(doctor.IDSTUNBinding, doctor.OK, subject, "STUN binding answered: this machine is seen as "+mapped.String()))
	if tr == "udp" && !d.self.known {
		d.self = selfAddress{local: localAddrTo(addr), reflexive: mapped.Addr(), known: true}
	}
	// Once is enough: every transport reaches the same network.
	if class := doctor.Classify(mapped.Addr()); class != doctor.Public && !d.report.Has(doctor.IDSTUNNotPublic) {
		d.report.Add(doctor.New(doctor.IDSTUNNotPublic, d.lanSeverity(doctor.Warning), subject, fmt.Sprintf(
			"the relay sees this machine at a %s address (%s): it is on the same private network, so this run cannot tell what clients on the internet get",
			class, mapped.Addr())))
	}
	return true
}

// lanSeverity is sev, or info with --lan-ok.
func (d *doctorRun) lanSeverity(sev doctor.Severity) doctor.Severity {
	if d.lanOK {
		return doctor.Info
	}
	return sev
}

// localAddrTo is the source address this machine uses towards addr (a
// connected UDP socket sends nothing).
func localAddrTo(addr netip.AddrPort) netip.Addr {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return netip.Addr{}
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
}

// checkAllocation allocates a relay with the announced credentials. The
// returned probe holds the allocation; the caller closes it. nil when the
// relay refused (the finding says why).
func (d *doctorRun) checkAllocation(ctx context.Context, s extdisco.ICEServer, tr string, addr netip.AddrPort) *turnProbe {
	subject := fmt.Sprintf("%s (%s %s)", s.URL, strings.ToUpper(tr), addr)
	p, relayed, err := d.allocate(ctx, s, addr)
	if err != nil {
		if code, reason, ok := turnCode(err); ok {
			d.report.Add(doctor.TURNRefusal(subject, code, reason, s.Username, time.Now()))
		} else {
			d.report.Add(doctor.New(doctor.IDTURNAllocateFailed, doctor.Error, subject, "the allocation failed: "+noAnswer(tr, addr, d.timeout, err)))
		}
		return nil
	}
	d.report.Add(doctor.New(doctor.IDTURNAllocation, doctor.OK, subject, fmt.Sprintf(
		"allocated a relay with the announced credentials (user %s): relayed address %s", s.Username, relayed)))
	if class := doctor.Classify(relayed.Addr()); class != doctor.Public {
		d.report.Add(doctor.New(doctor.IDTURNRelayNotPublic, d.lanSeverity(doctor.Error), subject, fmt.Sprintf(
			"the relay hands out a %s relayed address (%s): clients on the internet cannot send to it, so relayed calls fail",
			class, relayed.Addr())))
	}
	return p
}

// allocate dials s with its credentials and allocates.
func (d *doctorRun) allocate(ctx context.Context, s extdisco.ICEServer, addr netip.AddrPort) (*turnProbe, netip.AddrPort, error) {
	sctx, cancel := d.stepCtx(ctx)
	defer cancel()
	p, err := dialTURN(sctx, s, addr, d.caFile, true, d.ep.log)
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	relayed, err := p.allocate(sctx)
	if err != nil {
		p.close()
		return nil, netip.AddrPort{}, err
	}
	return p, relayed, nil
}

// checkRoundTrip relays a datagram from allocation a to a second
// allocation and back: what a call between two clients that both need the
// relay does.
func (d *doctorRun) checkRoundTrip(ctx context.Context, s extdisco.ICEServer, tr string, addr netip.AddrPort, a *turnProbe) {
	subject := fmt.Sprintf("%s (%s %s)", s.URL, strings.ToUpper(tr), addr)
	fail := func(what string) {
		d.report.Add(doctor.New(doctor.IDTURNRoundTripFailed, doctor.Error, subject, what))
	}
	b, relayedB, err := d.allocate(ctx, s, addr)
	if err != nil {
		fail("a second allocation failed: " + err.Error())
		return
	}
	defer b.close()
	relayedA, _ := a.relay.LocalAddr().(*net.UDPAddr)
	ra := relayedA.AddrPort()
	for _, pp := range []struct {
		p    *turnProbe
		peer netip.AddrPort
	}{{a, relayedB}, {b, ra}} {
		sctx, cancel := d.stepCtx(ctx)
		err := pp.p.permit(sctx, pp.peer)
		cancel()
		if err != nil {
			fail(fmt.Sprintf("the relay refused a permission to its own relayed address %s: %v (it hands out an address it does not count as its own: external_ip?)", pp.peer, err))
			return
		}
	}
	if !d.relayOnce(ctx, a, b, relayedB, "jingle-doctor-ping") || !d.relayOnce(ctx, b, a, ra, "jingle-doctor-pong") {
		fail(fmt.Sprintf("a datagram relayed between the relayed addresses %s and %s did not arrive", ra, relayedB))
		return
	}
	d.report.Add(doctor.New(doctor.IDTURNRoundTrip, doctor.OK, subject, fmt.Sprintf(
		"relayed a datagram from %s to %s and back: two clients that both need the relay can talk", ra, relayedB)))
}

// relayOnce sends payload from one allocation to the other's relayed
// address toAddr a few times (UDP may drop one) until it arrives.
func (d *doctorRun) relayOnce(ctx context.Context, from, to *turnProbe, toAddr netip.AddrPort, payload string) bool {
	for range 3 {
		sctx, cancel := d.stepCtx(ctx)
		err := from.send(sctx, []byte(payload), toAddr)
		cancel()
		if err != nil {
			return false
		}
		if to.receive(payload, 700*time.Millisecond) {
			return true
		}
	}
	return false
}
