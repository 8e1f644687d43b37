package extdisco

import (
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // TURN REST credentials are HMAC-SHA1.
	"encoding/base64"
	"strconv"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/prosodytest"
	"github.com/jingled/jingled/xmpp"
)

// turnRESTPassword is the TURN REST API credential
// (draft-uberti-behave-turn-rest-00 §2.2): base64(HMAC-SHA1(secret, username)).
func turnRESTPassword(secret, username string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func connect(t *testing.T, srv *prosodytest.Server) *xmpp.Client {
	t.Helper()
	acc := srv.NewAccount(t, "alice")
	c, err := xmpp.New(xmpp.Config{JID: acc.JID, Password: acc.Password, Resource: "ice", Addr: srv.Addr, CAFile: srv.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestProsodyTURNExternal(t *testing.T) {
	const secret = "turn-shared-secret"
	srv := prosodytest.New(t, prosodytest.WithTURNExternal(prosodytest.TURNExternal{
		Secret: secret, Host: "127.0.0.1", Port: 3479, TTL: time.Hour, TCP: true,
	}))
	c := connect(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	before := time.Now()
	res, err := Discover(ctx, c, c.Domain(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Namespace != NS {
		t.Errorf("answered in %s, want %s", res.Namespace, NS)
	}
	got := map[string]ICEServer{}
	for _, s := range res.Servers {
		got[s.URL] = s
	}
	for _, u := range []string{"stun:127.0.0.1:3479", "turn:127.0.0.1:3479?transport=udp", "turn:127.0.0.1:3479?transport=tcp"} {
		if _, ok := got[u]; !ok {
			t.Errorf("missing %s in %v", u, urls(res.Servers))
		}
	}
	turn := got["turn:127.0.0.1:3479?transport=udp"]
	if turn.Credential != turnRESTPassword(secret, turn.Username) {
		t.Errorf("credential %q does not derive from the shared secret and username %q", turn.Credential, turn.Username)
	}
	if exp, err := strconv.ParseInt(turn.Username, 10, 64); err != nil || exp != turn.Expires.Unix() {
		t.Errorf("username %q is not the expiry %v", turn.Username, turn.Expires)
	}
	if turn.Expires.Before(before.Add(time.Hour - time.Minute)) {
		t.Errorf("expires %v, want about an hour after %v", turn.Expires, before)
	}
}

func TestProsodyRefresherRenewsBeforeExpiry(t *testing.T) {
	const secret = "s"
	// A short lifetime so the refresh comes soon; long enough that a slow
	// (loaded, -race) round trip does not see the credentials expire.
	srv := prosodytest.New(t, prosodytest.WithTURNExternal(prosodytest.TURNExternal{Secret: secret, Port: 3478, TTL: 4 * time.Second}))
	c := connect(t, srv)
	updates := make(chan Result, 8)
	r, err := StartRefresher(context.Background(), RefresherConfig{
		Sender: c, Server: c.Domain(), Lead: 0.25, MinInterval: 100 * time.Millisecond,
		OnUpdate: func(res Result) { updates <- res },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	timeout := time.After(20 * time.Second)
	var first Result
	for n := 0; n < 2; n++ {
		select {
		case res := <-updates:
			if n == 0 {
				first = res
				continue
			}
			a, b := first.Earliest(), res.Earliest()
			if a.IsZero() || !b.After(a) {
				t.Fatalf("refreshed credentials expire %v, not after the first %v\nfirst %+v\nsecond %+v", b, a, first, res)
			}
			for _, s := range res.Servers {
				if s.Type == "turn" && s.Credential != turnRESTPassword(secret, s.Username) {
					t.Fatalf("refreshed credential invalid: %+v", s)
				}
			}
		case <-timeout:
			t.Fatal("no refresh before expiry")
		}
	}
	select {
	case <-r.Ready():
	default:
		t.Fatal("Ready not closed after an update")
	}
	if cur := r.Current(); cur.Earliest().IsZero() {
		t.Fatalf("Current() = %+v", cur)
	}
}
