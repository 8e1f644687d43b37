package turnserver

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"

	"github.com/jingled/jingled/internal/prosodytest"
	"github.com/jingled/jingled/xmpp"
	"github.com/jingled/jingled/xmpp/extdisco"
)

// TestProsodyAnnouncesTLS is the "443 only" deployment end to end on
// loopback: the relay serves UDP, TCP and TLS on one port; Prosody runs
// with exactly what ProsodyConfig prints for `advertise`; a client asks
// Prosody (XEP-0215) and gets a turns service with credentials, whose
// URL pion parses as TURN over TLS, and allocates with them over a
// verified TLS connection.
func TestProsodyAnnouncesTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no Prosody")
	}
	cfg, certFile := tlsTestConfig(t)
	cfg.Port, cfg.TLSPort = 443, 443
	s := startServer(t, cfg)
	port := strconv.Itoa(s.Addrs().TLS.(*net.TCPAddr).Port) //nolint:forcetypeassert // TCP.

	adv := cfg
	adv.PublicHost = "127.0.0.1"
	adv.Advertise = []string{"udp:" + port, "tls:" + port}
	lua, err := ProsodyConfig(adv)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("prosody.cfg.lua:\n%s", lua)
	res := prosodyServices(t, prosodytest.WithModules("external_services"), prosodytest.WithGlobalConfig(lua))
	want := "turns:127.0.0.1:" + port + "?transport=tcp"
	var turns *extdisco.ICEServer
	for i, sv := range res.Servers {
		t.Logf("XEP-0215: %s", sv.URL)
		if sv.URL == want {
			turns = &res.Servers[i]
		}
	}
	if turns == nil {
		t.Fatalf("no %s among %+v (skipped %+v)", want, res.Servers, res.Skipped)
	}
	u, err := stun.ParseURI(turns.URL)
	if err != nil || u.Scheme != stun.SchemeTypeTURNS || u.Proto != stun.ProtoTypeTCP {
		t.Fatalf("pion reads %s as %+v (%v), want TURN over TLS", turns.URL, u, err)
	}
	conn, err := tlsDial(s.Addrs().TLS, trustingClient(t, certFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_, relay := pionClient(t, s.Addrs().TLS, turn.NewSTUNConn(conn), turns.Username, turns.Credential, cfg.Realm)
	roundTrip(t, relay, echoPeer(t).LocalAddr())
}

// prosodyServices starts Prosody with opts, logs an account in through
// our XMPP layer and returns what Prosody announces (XEP-0215).
func prosodyServices(t *testing.T, opts ...prosodytest.Option) extdisco.Result {
	t.Helper()
	srv := prosodytest.New(t, opts...)
	acct := srv.NewAccount(t, "juliet")
	c, err := xmpp.New(xmpp.Config{JID: acct.JID, Password: acct.Password, Addr: srv.Addr, CAFile: srv.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("login: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	res, err := extdisco.Discover(ctx, c, srv.Domain, nil)
	if err != nil {
		t.Fatalf("XEP-0215: %v", err)
	}

	return res
}
