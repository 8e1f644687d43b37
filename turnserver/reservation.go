package turnserver

import (
	"encoding/binary"
	"net"
	"sync"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// RFC 8656 section 7.1 EVEN-PORT and RESERVATION-TOKEN: a client (an RTP
// stack without rtcp-mux, or coturn's turnutils_uclient by default)
// allocates an even port, the server reserves the next one, and a second
// Allocate with the token gets it. pion keeps reservations per listener
// socket, but with several SO_REUSEPORT sockets the second Allocate comes
// from another client port and may land on another socket, where pion
// answers 508. So reservations are recorded server-wide from pion's own
// responses, and an Allocate carrying a known token is rewritten: the token
// is dropped, the request re-signed with the key that just verified it, and
// the receiving socket's relay generator told which port to bind.

// reservationTTL is how long pion honours a reservation token (its
// CreateReservation timer).
const reservationTTL = 30 * time.Second

type reservations struct {
	mu sync.Mutex
	m  map[string]reservation
}

type reservation struct {
	port int
	at   time.Time
}

const reservationsMax = 65536

func (r *reservations) put(token string, port int, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[string]reservation)
	}
	if len(r.m) >= reservationsMax {
		for k, v := range r.m {
			if now.Sub(v.at) > reservationTTL {
				delete(r.m, k)
			}
		}
		if len(r.m) >= reservationsMax {
			return
		}
	}
	r.m[token] = reservation{port: port, at: now}
}

func (r *reservations) take(token string, now time.Time) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[token]
	delete(r.m, token)
	if !ok || now.Sub(v.at) > reservationTTL {
		return 0, false
	}

	return v.port, true
}

// allocateSuccess is the message type of an Allocate success response.
var allocateSuccess = stun.NewType(stun.MethodAllocate, stun.ClassSuccessResponse).Value()

// noteReservation records the token of an outgoing Allocate success
// response, if it has one. Other datagrams cost a two-byte compare.
func (g *gate) noteReservation(p []byte) {
	if len(p) < 20 || binary.BigEndian.Uint16(p[0:2]) != allocateSuccess {
		return
	}
	m := &stun.Message{Raw: append([]byte(nil), p...)}
	if m.Decode() != nil {
		return
	}
	token, err := m.Get(stun.AttrReservationToken)
	if err != nil {
		return
	}
	var relayed stun.XORMappedAddress
	if relayed.GetFromAs(m, stun.AttrXORRelayedAddress) != nil {
		return
	}
	g.reservations.put(string(token), relayed.Port+1, g.now())
}

// portReserver is a listener socket that can hand a reserved port to the
// next relay allocation made from the datagram being processed.
type portReserver interface {
	reservePort(port int)
}

// redeemReservation rewrites an authenticated Allocate that carries a
// server-wide reservation token; it returns nil to leave m unchanged.
func (g *gate) redeemReservation(m *stun.Message, w replier, key []byte) []byte {
	pr, ok := w.(portReserver)
	if !ok || m.Contains(stun.AttrEvenPort) {
		return nil // One socket per listener (TCP), or a request pion refuses anyway.
	}
	token, err := m.Get(stun.AttrReservationToken)
	if err != nil {
		return nil
	}
	port, ok := g.reservations.take(string(token), g.now())
	if !ok {
		return nil // pion answers 508.
	}
	out := resign(m, key, func(a stun.RawAttribute) ([]byte, bool) {
		return a.Value, a.Type != stun.AttrReservationToken
	})
	if out == nil {
		return nil
	}
	pr.reservePort(port)

	return out
}

// resign rebuilds an authenticated request with edit applied to each
// attribute (return false to drop one) and signs it again with key, so pion's
// own integrity check of the rewritten request passes. nil if it cannot.
func resign(m *stun.Message, key []byte, edit func(stun.RawAttribute) ([]byte, bool)) []byte {
	out := &stun.Message{TransactionID: m.TransactionID, Type: m.Type}
	out.WriteHeader()
	for _, a := range m.Attributes {
		switch a.Type {
		case stun.AttrMessageIntegrity, stun.AttrMessageIntegritySHA256, stun.AttrFingerprint:
			continue
		}
		if v, keep := edit(a); keep {
			out.Add(a.Type, v)
		}
	}
	// Not out.Build: it resets the message first.
	if stun.MessageIntegrity(key).AddTo(out) != nil || stun.Fingerprint.AddTo(out) != nil {
		return nil
	}

	return out.Raw
}

// Lifetimes of RFC 8656 section 7.2 (Allocate) and 7.3 (Refresh): the
// server uses max(default, min(requested, maximum)), 0 on Refresh deletes.
const (
	defaultLifetime = 600
	maxLifetime     = 3600
)

// clampLifetime rewrites a LIFETIME that pion would mishandle: pion grants
// a requested lifetime under one hour as is (even 5 s) and replaces one of
// an hour or more with its default instead of capping it. The clamped value
// stays a second under the hour, where pion stops taking it. nil if the
// request needs no rewrite.
func clampLifetime(m *stun.Message, key []byte) []byte {
	v, err := m.Get(stun.AttrLifetime)
	if err != nil || len(v) != 4 {
		return nil // Absent: pion applies the configured default. Malformed: pion answers 400.
	}
	req := binary.BigEndian.Uint32(v)
	if req == 0 && m.Type.Method == stun.MethodRefresh {
		return nil // Deallocation.
	}
	want := min(max(req, defaultLifetime), maxLifetime-1)
	if want == req {
		return nil
	}

	return resign(m, key, func(a stun.RawAttribute) ([]byte, bool) {
		if a.Type != stun.AttrLifetime {
			return a.Value, true
		}
		nv := make([]byte, 4)
		binary.BigEndian.PutUint32(nv, want)

		return nv, true
	})
}

// socketGenerator is a listener socket's view of the relay generator: it
// binds the reserved port for the allocation its socket is processing.
type socketGenerator struct {
	*relayGenerator
	pending int
	conn    *gatedPacketConn
}

// AllocatePacketConn runs on the listener's reader while pion handles an
// Allocate from conn.cur; the new relay socket joins the fast path there.
func (s *socketGenerator) AllocatePacketConn(conf turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	if conf.RequestedPort == 0 && s.pending != 0 {
		conf.RequestedPort, s.pending = s.pending, 0
	}
	var loop *udpLoop
	if s.conn != nil && s.conn.lc != nil {
		loop = s.conn.lc.loop
	}
	rc, addr, err := s.relayGenerator.allocate(conf, loop)
	if err != nil {
		return nil, nil, err
	}
	if s.conn != nil && s.conn.out != nil && rc.out != nil {
		a := &fastAlloc{relay: rc, turn: s.conn.out, client: s.conn.cur}
		rc.fast, rc.fastTable = a, &s.conn.fast
		if rc.lc == nil {
			rc.buf = make([]byte, 4+relayReadMax+3)
		}
		s.conn.fast.add(a)
	}
	if rc.lc != nil {
		if err := loop.join(rc.lc); err != nil {
			return nil, nil, err
		}
	}

	return rc, addr, nil
}
