package turnserver

import (
	"container/list"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun/v4"
)

// gate inspects every message before pion/turn sees it. It exists because
// pion v5.1.0 answers auth failures with 400 (RFC 8656 wants 401), accepts a
// single key per username (no secret rotation), checks credential expiry on
// every request (a call would drop when its credential expires), answers a
// refused ChannelBind with 401, and does not rate-limit. The gate verifies
// MESSAGE-INTEGRITY itself, answers refusals itself, and hands pion the key
// that verified through keyCache, so pion's own check then passes.
//
// ChannelData, the per-packet hot path, leaves the gate after one byte test.
type gate struct {
	realm        string
	creds        atomic.Pointer[credentials]
	policy       *PeerPolicy
	limiter      *failLimiter
	book         *book
	metrics      *metrics
	log          *slog.Logger
	now          func() time.Time
	permCap      int
	draining     atomic.Bool
	keys         keyCache
	reservations reservations
}

// credentials are the accepted static users and shared secrets. They are
// swapped whole by Server.UpdateCredentials, so a request sees either the
// old set or the new one.
type credentials struct {
	userKeys map[string][]byte
	secrets  []string
}

func newCredentials(realm string, users map[string]string, secrets []string) *credentials {
	c := &credentials{userKeys: make(map[string][]byte, len(users)), secrets: append([]string(nil), secrets...)}
	for u, p := range users {
		c.userKeys[u] = longTermKey(u, realm, p)
	}

	return c
}

// authNoter is a connection that wants to know when a request on it
// authenticated (stream connections lift their idle deadline).
type authNoter interface {
	authenticated()
}

// replier sends a response on the connection the request came from.
type replier interface {
	reply(b []byte, to net.Addr) error
}

// inspect returns what pion should handle: buf itself, a rewritten message
// (see redeemReservation), or nil to drop the frame. scratch is a
// per-reader message reused to avoid allocating on each request.
func (g *gate) inspect(buf []byte, src, local net.Addr, w replier, scratch *stun.Message) []byte {
	if len(buf) >= 4 && buf[0]&0xC0 == 0x40 {
		return buf // ChannelData (RFC 8656 section 12.4)
	}
	if !stun.IsMessage(buf) {
		g.metrics.dropped.WithLabelValues("malformed").Inc()

		return nil
	}
	scratch.Reset()
	scratch.Raw = append(scratch.Raw[:0], buf...)
	if err := scratch.Decode(); err != nil {
		g.metrics.dropped.WithLabelValues("malformed").Inc()

		return nil
	}
	if scratch.Type.Class != stun.ClassRequest {
		return buf
	}
	switch scratch.Type.Method {
	case stun.MethodAllocate, stun.MethodRefresh, stun.MethodCreatePermission,
		stun.MethodChannelBind, stun.MethodConnect, stun.MethodConnectionBind:
	default:
		return buf // Binding and unknown methods: pion answers.
	}
	if !scratch.Contains(stun.AttrMessageIntegrity) {
		return buf // pion answers 401 with a fresh nonce: the normal first step.
	}
	srcIP := addrIP(src)
	if !g.limiter.allow(srcIP, g.now()) {
		g.metrics.auth.WithLabelValues("rate_limited").Inc()

		return nil
	}
	var (
		user  stun.Username
		realm stun.Realm
		nonce stun.Nonce
	)
	if user.GetFrom(scratch) != nil || realm.GetFrom(scratch) != nil || nonce.GetFrom(scratch) != nil {
		return buf // pion answers 400 for a malformed authenticated request.
	}
	key, reason := g.verify(scratch, string(user), string(realm))
	if reason != "" && scratch.Type.Method != stun.MethodAllocate {
		// The key that opened this 5-tuple's allocation stays good for the
		// allocation's own requests, even after its secret or user was
		// removed: rotation must not end running calls.
		if k := g.book.allocationKey(tupleKey(src, local)); k != nil && stun.MessageIntegrity(k).Check(scratch) == nil {
			key, reason = k, ""
		}
	}
	if reason != "" {
		g.metrics.auth.WithLabelValues(reason).Inc()
		g.limiter.fail(srcIP, g.now())
		g.log.Debug("turn auth refused", "src", src, "reason", reason, "method", scratch.Type.Method.String())
		g.send(w, src, scratch, stun.CodeUnauthorized, nil, stun.NewRealm(g.realm), nonce)

		return nil
	}
	g.metrics.auth.WithLabelValues("ok").Inc()
	g.keys.put(string(user), key, g.now())
	if a, ok := w.(authNoter); ok {
		a.authenticated()
	}
	if scratch.Type.Method == stun.MethodAllocate {
		g.book.offerKey(tupleKey(src, local), key)
	}

	switch scratch.Type.Method {
	case stun.MethodAllocate:
		if g.draining.Load() {
			g.metrics.quota.WithLabelValues("draining").Inc()
			g.send(w, src, scratch, stun.CodeInsufficientCapacity, key)

			return nil
		}
		if out := g.redeemReservation(scratch, w, key); out != nil {
			// A reserved Allocate; clamp its lifetime too, if asked.
			if m2 := (&stun.Message{Raw: out}); m2.Decode() == nil {
				if clamped := clampLifetime(m2, key); clamped != nil {
					return clamped
				}
			}

			return out
		}
		if out := clampLifetime(scratch, key); out != nil {
			return out
		}
	case stun.MethodRefresh:
		if out := clampLifetime(scratch, key); out != nil {
			return out
		}
	case stun.MethodCreatePermission, stun.MethodChannelBind, stun.MethodConnect:
		if !g.checkPeers(scratch, src, local, w, key) {
			return nil
		}
	}

	return buf
}

// verify returns the key that authenticates m, or a refusal reason used as a
// metric label. The username is never logged: with static users it is an
// account name, with time-limited ones it carries the XMPP server's user id.
func (g *gate) verify(m *stun.Message, username, realm string) ([]byte, string) {
	if realm != g.realm {
		return nil, "bad_realm"
	}
	creds := g.creds.Load()
	if k, ok := creds.userKeys[username]; ok {
		if stun.MessageIntegrity(k).Check(m) == nil {
			return k, ""
		}

		return nil, "bad_password"
	}
	if len(creds.secrets) == 0 {
		return nil, "unknown_user"
	}
	expiry, _, err := ParseRESTUsername(username)
	if err != nil {
		return nil, "unknown_user"
	}
	// Expiry is checked only when a new allocation is made: refreshes,
	// permissions and channels of a live allocation keep working after the
	// credential expires, so a call outlives its credential (eturnal does the
	// same). pion then ties those requests to the allocation's user.
	if m.Type.Method == stun.MethodAllocate && !expiry.After(g.now()) {
		return nil, "expired"
	}
	for _, s := range creds.secrets {
		k := longTermKey(username, realm, restPassword(s, username))
		if stun.MessageIntegrity(k).Check(m) == nil {
			return k, ""
		}
	}

	return nil, "bad_password"
}

// checkPeers applies the peer policy and the permission cap before pion
// grants anything, so refusals are 403 for every method (pion would answer a
// refused ChannelBind with 401, which clients read as bad credentials). A
// CreatePermission may carry several XOR-PEER-ADDRESS attributes (RFC 8656
// section 10.1); each one is checked, not only the first.
func (g *gate) checkPeers(m *stun.Message, src, local net.Addr, w replier, key []byte) bool {
	reason := DenyNone
	peers := 0
	for _, a := range m.Attributes {
		if a.Type != stun.AttrXORPeerAddress {
			continue
		}
		ip, port, ok := decodeXORAddr(a.Value, m.TransactionID)
		if !ok {
			return true // pion answers 400.
		}
		peers++
		if m.Type.Method == stun.MethodConnect {
			reason = g.policy.CheckAddr(ip, port)
		} else {
			reason = g.policy.CheckIP(ip)
		}
		if reason != DenyNone {
			break
		}
	}
	if reason != DenyNone {
		g.metrics.denied.WithLabelValues(string(reason)).Inc()
		g.log.Debug("turn peer refused", "src", src, "reason", string(reason))
		g.send(w, src, m, stun.CodeForbidden, key)

		return false
	}
	if g.permCap > 0 && m.Type.Method != stun.MethodConnect &&
		g.book.permissions(tupleKey(src, local))+peers > g.permCap {
		g.metrics.quota.WithLabelValues("permissions").Inc()
		g.send(w, src, m, stun.CodeInsufficientCapacity, key)

		return false
	}

	return true
}

// decodeXORAddr decodes an XOR-PEER-ADDRESS value (RFC 8489 section 14.2).
func decodeXORAddr(v []byte, tid [stun.TransactionIDSize]byte) (net.IP, int, bool) {
	if len(v) < 4 {
		return nil, 0, false
	}
	var n int
	switch v[1] {
	case 0x01:
		n = net.IPv4len
	case 0x02:
		n = net.IPv6len
	default:
		return nil, 0, false
	}
	if len(v) != 4+n {
		return nil, 0, false
	}
	var mask [16]byte
	mask[0], mask[1], mask[2], mask[3] = 0x21, 0x12, 0xA4, 0x42
	copy(mask[4:], tid[:])
	port := int(uint16(v[2])<<8|uint16(v[3])) ^ 0x2112
	ip := make(net.IP, n)
	for i := range n {
		ip[i] = v[4+i] ^ mask[i]
	}

	return ip, port, true
}

// send answers req with an error response; key, when known, adds
// MESSAGE-INTEGRITY as RFC 8489 section 9.2.4 asks of authenticated replies.
func (g *gate) send(w replier, to net.Addr, req *stun.Message, code stun.ErrorCode, key []byte, extra ...stun.Setter) {
	setters := []stun.Setter{
		&stun.Message{TransactionID: req.TransactionID},
		stun.NewType(req.Type.Method, stun.ClassErrorResponse),
		code,
	}
	setters = append(setters, extra...)
	if key != nil {
		setters = append(setters, stun.MessageIntegrity(key))
	}
	setters = append(setters, stun.Fingerprint)
	resp, err := stun.Build(setters...)
	if err != nil {
		g.log.Warn("turn: building error response", "err", err)

		return
	}
	if err := w.reply(resp.Raw, to); err != nil {
		g.log.Debug("turn: sending error response", "err", err)
	}
}

// authHandler is pion's AuthHandler. Every authenticated request already
// passed the gate, which left the verified key in keyCache.
func (g *gate) authHandler(username, realm string) (userID string, key []byte, ok bool) {
	if k, found := g.creds.Load().userKeys[username]; found {
		return username, k, true
	}
	k, found := g.keys.get(username)
	if !found {
		return "", nil, false
	}

	return restUserID(username), k, true
}

// restUserID is the quota identity of a time-limited username: its USER part
// (ejabberd: per account; Prosody: the turn_external_user constant) or the
// whole username when there is none.
func restUserID(username string) string {
	if _, user, err := ParseRESTUsername(username); err == nil && user != "" {
		return user
	}

	return username
}

func addrIP(a net.Addr) netip.Addr {
	switch v := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(v.IP)

		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(v.IP)

		return ip.Unmap()
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}

	return netip.Addr{}
}

func tupleKey(src, local net.Addr) string {
	return src.String() + "|" + local.String()
}

// keyCache hands the key verified by the gate to pion's AuthHandler, which
// is called right after on the same goroutine. It stays bounded under a
// flood of distinct usernames by dropping entries older than two minutes and,
// when still full, only the oldest one: an entry another goroutine has just
// put is the newest and survives until keyCacheMax more usernames arrive,
// so a legitimate client never gets a wrong 401 because of someone else's
// flood (clearing the whole map did exactly that).
type keyCache struct {
	mu    sync.Mutex
	m     map[string]*list.Element // of *keyEntry
	order list.List                // oldest put first
}

type keyEntry struct {
	user string
	key  []byte
	at   time.Time
}

const (
	keyCacheMax = 65536
	keyCacheTTL = 2 * time.Minute
)

func (c *keyCache) put(username string, key []byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*list.Element)
	}
	if el, ok := c.m[username]; ok {
		e := el.Value.(*keyEntry) //nolint:forcetypeassert // Only *keyEntry is stored.
		e.key, e.at = key, now
		c.order.MoveToBack(el)

		return
	}
	for front := c.order.Front(); front != nil; front = c.order.Front() {
		e := front.Value.(*keyEntry) //nolint:forcetypeassert // As above.
		if len(c.m) < keyCacheMax && now.Sub(e.at) <= keyCacheTTL {
			break
		}
		c.order.Remove(front)
		delete(c.m, e.user)
	}
	c.m[username] = c.order.PushBack(&keyEntry{user: username, key: key, at: now})
}

func (c *keyCache) get(username string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[username]
	if !ok {
		return nil, false
	}

	return el.Value.(*keyEntry).key, true //nolint:forcetypeassert // As above.
}

func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()

	return len(c.m)
}

// failLimiter counts failed authentications per source IP in fixed
// one-minute windows. Past the limit, requests from that IP are dropped
// without an answer, so guessing passwords or burning CPU on HMACs costs the
// attacker the round trip and gets nothing back.
type failLimiter struct {
	mu    sync.Mutex
	limit int
	m     map[netip.Addr]*failWindow
}

type failWindow struct {
	start time.Time
	n     int
}

const failLimiterMax = 100000

func newFailLimiter(limit int) *failLimiter {
	return &failLimiter{limit: limit, m: make(map[netip.Addr]*failWindow)}
}

func (l *failLimiter) allow(ip netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[ip]

	return w == nil || now.Sub(w.start) >= time.Minute || w.n < l.limit
}

func (l *failLimiter) fail(ip netip.Addr, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[ip]
	if w == nil || now.Sub(w.start) >= time.Minute {
		if len(l.m) >= failLimiterMax {
			for k, v := range l.m {
				if now.Sub(v.start) >= time.Minute {
					delete(l.m, k)
				}
			}
		}
		if len(l.m) >= failLimiterMax {
			return // Flood of distinct sources: still answered, never unbounded.
		}
		w = &failWindow{start: now}
		l.m[ip] = w
	}
	w.n++
}
