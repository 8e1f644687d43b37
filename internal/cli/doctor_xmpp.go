package cli

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jingled/jingled/internal/doctor"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/xmpp/extdisco"
)

// nsVersion is XEP-0092 Software Version.
const nsVersion = "jabber:iq:version"

// serverInfo reports the server's software (XEP-0092, only when its
// disco#info offers it) and the features calls use.
func (d *doctorRun) serverInfo(ctx context.Context) {
	c := d.ep.client
	domain := c.Domain()
	sctx, cancel := d.stepCtx(ctx)
	info, err := c.DiscoInfo(sctx, domain)
	cancel()
	if err != nil {
		d.report.Add(doctor.New(doctor.IDServerFeatures, doctor.Info, domain, "the server did not answer disco#info: "+err.Error()))
		return
	}
	if slices.Contains(info.Features, nsVersion) {
		if sw, err := d.serverSoftware(ctx, domain); err == nil {
			d.report.Add(doctor.New(doctor.IDServerSoftware, doctor.Info, domain, sw))
		}
	}
	var have []string
	for _, f := range []struct{ ns, label string }{
		{extdisco.NS, "STUN/TURN discovery (XEP-0215 extdisco:2)"},
		{extdisco.NS1, "STUN/TURN discovery (XEP-0215 extdisco:1)"},
		{"urn:xmpp:carbons:2", "message carbons (XEP-0280: a call answered on one device stops the others ringing)"},
	} {
		if slices.Contains(info.Features, f.ns) {
			have = append(have, f.label)
		}
	}
	jf, tf := classify(info.Features)
	d.report.Add(doctor.New(doctor.IDServerFeatures, doctor.Info, domain, fmt.Sprintf(
		"server features for calls: %s; Jingle on the server itself: %s (calls are between clients; the server only routes them)",
		orNone(have), orNone(append(jf, tf...)))))
}

// serverSoftware asks XEP-0092 and formats "name version (os)".
func (d *doctorRun) serverSoftware(ctx context.Context, domain string) (string, error) {
	sctx, cancel := d.stepCtx(ctx)
	defer cancel()
	reply, err := d.ep.client.SendIQ(sctx, &jingle.IQ{To: domain, Type: jingle.IQGet,
		Payload: []byte(`<query xmlns='` + nsVersion + `'/>`)})
	if err != nil {
		return "", fmt.Errorf("software version of %s: %w", domain, err)
	}
	var v struct {
		Name    string `xml:"name"`
		Version string `xml:"version"`
		OS      string `xml:"os"`
	}
	if err := xml.Unmarshal(reply.Payload, &v); err != nil {
		return "", fmt.Errorf("software version of %s: %w", domain, err)
	}
	s := strings.TrimSpace(v.Name + " " + v.Version)
	if v.OS != "" {
		s += " (" + v.OS + ")"
	}
	return "server software: " + s, nil
}

// discover asks XEP-0215 for the STUN/TURN services and reports what
// came back. TURN services whose credential already expired are kept for
// the relay checks, so the report also says what the relay makes of them.
func (d *doctorRun) discover(ctx context.Context) []extdisco.ICEServer {
	c := d.ep.client
	domain := c.Domain()
	sctx, cancel := d.stepCtx(ctx)
	now := time.Now()
	res, err := extdisco.Discover(sctx, c, domain, func() time.Time { return now })
	cancel()
	if err != nil && !errors.Is(err, extdisco.ErrNoServices) {
		d.report.Add(doctor.New(doctor.IDExtdiscoMissing, doctor.Error, domain,
			"the server answers no STUN/TURN discovery (XEP-0215, extdisco:2 or :1), so clients find no relay: "+err.Error()))
		return nil
	}
	d.report.Add(doctor.New(doctor.IDExtdisco, doctor.OK, domain, fmt.Sprintf(
		"%s answered with %d usable service(s)%s", res.Namespace, len(res.Servers), skippedNote(len(res.Skipped)))))
	servers := res.Servers
	for _, s := range servers {
		if s.Borrowed {
			d.report.Add(doctor.New(doctor.IDExtdiscoNoCreds, doctor.Warning, s.URL,
				"announced without credentials: jingle lends it those of the same host's TURN service, other clients may not and then cannot use it"))
		}
	}
	for _, sk := range res.Skipped {
		sv := sk.Service
		name := fmt.Sprintf("%s:%s:%s (%s)", sv.Type, sv.Host, sv.Port, orDefault(sv.Transport, "udp"))
		if isTURNType(sv.Type) && strings.HasPrefix(sk.Reason, "expired at") {
			d.report.Add(doctor.New(doctor.IDTURNAuthExpired, doctor.Error, name, fmt.Sprintf(
				"the XMPP server hands out a TURN credential that is already dead (%s, checked at %s): clients drop it and the relay refuses it",
				sk.Reason, now.UTC().Format(time.RFC3339))))
			servers = append(servers, extdisco.Convert([]extdisco.Service{sv}, time.Time{}).Servers...)
			continue
		}
		d.report.Add(doctor.New(doctor.IDExtdiscoSkipped, doctor.Warning, name, "clients cannot use this service: "+sk.Reason))
	}
	if !slices.ContainsFunc(servers, func(s extdisco.ICEServer) bool { return isTURNType(s.Type) }) {
		d.report.Add(doctor.New(doctor.IDExtdiscoNoTURN, doctor.Error, domain,
			"no usable TURN service is announced: calls between two NATs that need a relay fail"))
	}
	if f, ok := doctor.TURNS443(domain, servers); ok {
		d.report.Add(f)
	}
	return servers
}

func skippedNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d unusable", n)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func isTURNType(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == "turn" || typ == "turns"
}
