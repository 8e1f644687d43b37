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

// forbiddenPeers are internal addresses a public relay must not reach,
// one per class: asking a permission for them sends them nothing, and a
// relay that grants it would relay there (CVE-2020-26262 class: a TURN
// server as a proxy into its own network and the cloud metadata API).
var forbiddenPeers = []netip.AddrPort{
	netip.MustParseAddrPort("10.0.0.1:80"),
	netip.MustParseAddrPort("172.16.0.1:80"),
	netip.MustParseAddrPort("192.168.0.1:80"),
	netip.MustParseAddrPort("100.64.0.1:80"),
	netip.MustParseAddrPort("169.254.169.254:80"),
}

// checkPeerPolicy asks allocation a for permissions to loopback and
// private peers. Loopback is tried for real: a datagram is relayed to a
// socket of our own on 127.0.0.1, which must never receive it (when the
// relay runs on another host its loopback is not ours, and a granted
// permission is what is reported).
func (d *doctorRun) checkPeerPolicy(ctx context.Context, s extdisco.ICEServer, a *turnProbe) {
	subject := s.URL
	openLoopback := d.checkLoopbackPeer(ctx, subject, a)
	var granted []string
	for _, peer := range forbiddenPeers {
		sctx, cancel := d.stepCtx(ctx)
		err := a.permit(sctx, peer)
		cancel()
		if err == nil {
			granted = append(granted, peer.Addr().String())
		} else if _, _, refused := turnCode(err); !refused {
			d.report.Add(doctor.New(doctor.IDRelayPeerPolicy, doctor.Info, subject, "could not finish the peer policy check: "+err.Error()))
			return
		}
	}
	if len(granted) > 0 {
		sev := doctor.Error
		if d.lanOK && !grantsLinkLocal(granted) {
			sev = doctor.Info
		}
		d.report.Add(doctor.New(doctor.IDRelayOpenPrivate, sev, subject, fmt.Sprintf(
			"the relay grants permissions to internal addresses (%s): anyone with a credential can reach your private network through it",
			strings.Join(granted, ", "))))
		return
	}
	if openLoopback {
		return
	}
	d.report.Add(doctor.New(doctor.IDRelayPeerPolicy, doctor.OK, subject,
		"the relay refuses to relay to loopback, private, CGNAT and link-local (metadata) addresses"))
}

// checkLoopbackPeer reports a relay that relays to loopback; true when
// it found one.
func (d *doctorRun) checkLoopbackPeer(ctx context.Context, subject string, a *turnProbe) bool {
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		d.report.Add(doctor.New(doctor.IDRelayPeerPolicy, doctor.Info, subject, "no loopback socket for the peer check: "+err.Error()))
		return false
	}
	defer l.Close()
	peer := l.LocalAddr().(*net.UDPAddr).AddrPort()
	sctx, cancel := d.stepCtx(ctx)
	err = a.permit(sctx, peer)
	cancel()
	if err != nil {
		return false // refused (or no answer: reported by the checks that follow)
	}
	const payload = "jingle-doctor-loopback"
	for range 3 {
		sctx, cancel := d.stepCtx(ctx)
		err := a.send(sctx, []byte(payload), peer)
		cancel()
		if err != nil {
			break
		}
		if readUntil(l, payload, 700*time.Millisecond) {
			d.report.Add(doctor.New(doctor.IDRelayOpenLoopback, doctor.Error, subject, fmt.Sprintf(
				"the relay relayed a datagram to %s: anyone with a credential reaches the relay host's local services through it", peer)))
			return true
		}
	}
	d.report.Add(doctor.New(doctor.IDRelayOpenLoopback, doctor.Error, subject, fmt.Sprintf(
		"the relay granted a permission to the loopback address %s (nothing arrived here; the relay may run on another host, whose loopback it reaches)", peer)))
	return true
}

func grantsLinkLocal(addrs []string) bool {
	for _, a := range addrs {
		if ip, err := netip.ParseAddr(a); err == nil && doctor.Classify(ip) == doctor.LinkLocal {
			return true
		}
	}
	return false
}
