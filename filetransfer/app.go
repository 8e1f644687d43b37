package filetransfer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
)

// Transport families: the datachannel has three namespaces, tried once.
const (
	FamilyDataChannel = "datachannel"
	FamilySOCKS5      = "s5b"
	FamilyIBB         = "ibb"
)

// Namespaces of the other transports, so this package needs no import of
// its sub-packages.
const (
	nsS5B = "urn:xmpp:jingle:transports:s5b:1"
	nsIBB = "urn:xmpp:jingle:transports:ibb:1"
)

// Family returns the transport family of a transport namespace.
func Family(ns string) string {
	switch ns {
	case ice.NS, ice.NSDataChannel0, ice.NSDataChannel1:
		return FamilyDataChannel
	case nsS5B:
		return FamilySOCKS5
	case nsIBB:
		return FamilyIBB
	}
	return ns
}

// App is the XEP-0234 application: register it (and, to read older
// offers, its Versions) with the jingle.Manager.
type App struct {
	log              *slog.Logger
	dir              *Dir
	policy           AcceptPolicy
	onOffer          func(*Offer)
	features         func(ctx context.Context, jid string) ([]string, error)
	serveDir         string
	onResult         func(*Result)
	onProgress       func(sid string, done, total int64)
	checksumTimeout  time.Duration
	transportTimeout time.Duration
	receivedAck      bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns the application.
func New(opts ...Option) *App {
	a := &App{log: slog.New(slog.DiscardHandler),
		checksumTimeout: DefaultChecksumTimeout, transportTimeout: DefaultTransportTimeout}
	for _, o := range opts {
		o(a)
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a
}

// transports returns the stream transports registered with m
// (jingle.WithTransport), best first: by Priority, then the datachannel
// dialects by dialectRank.
func transports(m *jingle.Manager) []jingle.StreamTransport {
	var out []jingle.StreamTransport
	for _, t := range m.Transports(jingle.Stream) {
		if st, ok := t.(jingle.StreamTransport); ok {
			out = append(out, st)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		pi, pj := out[i].Priority(), out[j].Priority()
		if pi != pj {
			return pi > pj
		}
		return dialectRank(out[i].Namespace()) < dialectRank(out[j].Namespace())
	})
	return out
}

// transport returns the stream transport m has for namespace ns, or nil
// (none, or a datagram transport: ICE-UDP serving calls).
func transport(m *jingle.Manager, ns string) jingle.StreamTransport {
	t, _ := m.Transport(ns).(jingle.StreamTransport)
	return t
}

// dialectRank orders the datachannel dialects we offer: Conversations'
// :1, then XEP-0343's sctpmap (StanzaJS), then :0.
func dialectRank(ns string) int {
	switch ns {
	case ice.NSDataChannel1:
		return 0
	case ice.NS:
		return 1
	case ice.NSDataChannel0:
		return 2
	}
	return 3
}

// Namespace implements jingle.Application.
func (a *App) Namespace() string { return NS }

// Features implements jingle.Application: XEP-0234, XEP-0300 and each
// hash algorithm we verify.
func (a *App) Features() []string {
	f := []string{NS, NS4, NSHashes, "urn:xmpp:hashes:1"}
	for _, h := range HashAlgos() {
		f = append(f, "urn:xmpp:hash-function-text-names:"+h)
	}
	return f
}

// Versions returns the application under the older namespaces (:4, :3)
// for registration with the Manager, so their offers are read too.
func (a *App) Versions() []jingle.Application {
	return []jingle.Application{version{a, NS4}, version{a, NS3}}
}

type version struct {
	*App
	ns string
}

func (v version) Namespace() string  { return v.ns }
func (v version) Features() []string { return []string{v.ns} }

// Close stops every transfer's goroutines and waits for them. Sessions
// themselves end through the Manager.
func (a *App) Close() error {
	a.cancel()
	a.wg.Wait()
	return nil
}

// go runs f on a goroutine the App owns.
func (a *App) goOwned(f func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// choice is one transport to try, in the namespace to offer.
type choice struct {
	t  jingle.StreamTransport
	ns string
}

// plan lists the transports to try with peer, best first: those of m,
// filtered by the peer's features and by only (a family or namespace, ""
// or "auto" for all), one datachannel dialect at most.
func (a *App) plan(ctx context.Context, m *jingle.Manager, peer, only string) ([]choice, error) {
	var feats map[string]bool
	if a.features != nil {
		fs, err := a.features(ctx, peer)
		if err != nil {
			return nil, fmt.Errorf("filetransfer: features of %s: %w", peer, err)
		}
		feats = map[string]bool{}
		for _, f := range fs {
			feats[f] = true
		}
	}
	seen := map[string]bool{}
	var out []choice
	for _, t := range transports(m) {
		ns := t.Namespace()
		fam := Family(ns)
		if only != "" && only != "auto" && only != fam && only != ns {
			continue
		}
		if seen[fam] {
			continue
		}
		if feats != nil {
			need := ns
			if ns == ice.NS {
				need = ice.NSDTLSSCTP // ICE-UDP alone means calls, not data channels
			}
			if !feats[need] {
				continue
			}
		}
		seen[fam] = true
		out = append(out, choice{t, ns})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w with %s (transport %q)", ErrNoTransport, peer, only)
	}
	return out, nil
}

// HandleInitiate implements jingle.Application for an incoming offer
// (push) or request (pull).
func (a *App) HandleInitiate(ctx context.Context, s *jingle.Session, j *jingle.Jingle) (jingle.SessionHandler, error) {
	if len(j.Contents) != 1 {
		return nil, &jingle.TerminateError{Reason: jingle.NewReason(jingle.ReasonUnsupportedApplications, "one file per session")}
	}
	c := j.Contents[0]
	d, err := DecodeDescription(c.Description)
	if err != nil {
		return nil, jingle.BadRequest(err.Error())
	}
	t := transport(s.Manager(), c.TransportNS())
	if t == nil {
		return nil, &jingle.TerminateError{Reason: jingle.NewReason(jingle.ReasonUnsupportedTransports, "")}
	}
	// Who sends: XEP-0234 §6.1 push has senders=initiator, §6.2 pull
	// senders=responder; ft:3 says it with <offer/> or <request/>.
	weSend := c.Senders.Normalize() == jingle.SendersResponder || d.Request
	tr := a.newTransfer(s.Local(), s.Peer(), false, weSend, c.Name, c.Creator)
	tr.setSession(s)
	tr.desc = d
	tr.remoteTransport = *c.Transport
	tr.cur = &attempt{ns: c.TransportNS(), t: t}
	if weSend {
		a.goOwned(func() { tr.serve() })
		return tr, nil
	}
	if err := a.admit(s.Peer(), &d.File); err != nil {
		if a.onOffer == nil {
			return nil, &jingle.TerminateError{Reason: jingle.NewReason(jingle.ReasonDecline, err.Error())}
		}
		o := &Offer{tr: tr, File: d.File, Peer: s.Peer(), SID: s.SID(), decided: make(chan struct{})}
		a.goOwned(func() { a.onOffer(o) })
		a.goOwned(func() { o.wait() })
		return tr, nil
	}
	a.goOwned(func() { tr.receive() })
	return tr, nil
}

// admit applies the automatic acceptance policy.
func (a *App) admit(peer string, f *File) error {
	if a.dir == nil {
		return fmt.Errorf("%w: no receive directory", ErrDeclined)
	}
	if !a.senderAllowed(peer) {
		return fmt.Errorf("%w: %s is not an allowed sender", ErrDeclined, peer)
	}
	switch {
	case a.policy.MaxSize == 0:
		return fmt.Errorf("%w: no automatic acceptance", ErrDeclined)
	case a.policy.MaxSize > 0 && (f.Size < 0 || f.Size > a.policy.MaxSize):
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, f.Size, a.policy.MaxSize)
	}
	return nil
}

func (a *App) senderAllowed(peer string) bool {
	if len(a.policy.Senders) == 0 {
		return true
	}
	bare, _, _ := strings.Cut(peer, "/")
	return slices.ContainsFunc(a.policy.Senders, func(s string) bool {
		return strings.EqualFold(s, peer) || strings.EqualFold(s, bare)
	})
}

// Offer is an incoming file offer the policy did not accept by itself.
type Offer struct {
	File File
	Peer string
	SID  string

	tr      *transfer
	once    sync.Once
	accept  bool
	decided chan struct{}
}

// Accept receives the file into the App's directory.
func (o *Offer) Accept() { o.decide(true) }

// Decline ends the session with <decline/>.
func (o *Offer) Decline() { o.decide(false) }

func (o *Offer) decide(yes bool) {
	o.once.Do(func() {
		o.accept = yes
		close(o.decided)
	})
}

func (o *Offer) wait() {
	select {
	case <-o.decided:
	case <-o.tr.ctx.Done():
		return
	}
	if !o.accept || o.tr.app.dir == nil {
		o.tr.terminate(jingle.NewReason(jingle.ReasonDecline, ""))
		return
	}
	o.tr.receive()
}

// errReason maps a transfer failure to the session-terminate reason.
func errReason(err error) *jingle.Reason {
	switch {
	case err == nil:
		return jingle.NewReason(jingle.ReasonSuccess, "")
	case errors.Is(err, ErrSizeExceeded), errors.Is(err, ErrHashMismatch), errors.Is(err, ErrShortFile),
		errors.Is(err, ErrUnsupportedHash), errors.Is(err, ErrNoChecksum):
		return jingle.NewReason(jingle.ReasonMediaError, err.Error())
	case errors.Is(err, ErrNoTransport):
		return jingle.NewReason(jingle.ReasonFailedTransport, err.Error())
	case errors.Is(err, ErrDeclined), errors.Is(err, ErrTooLarge), errors.Is(err, ErrNoSpace):
		return jingle.NewReason(jingle.ReasonDecline, err.Error())
	case errors.Is(err, context.Canceled):
		return jingle.NewReason(jingle.ReasonCancel, "")
	}
	return jingle.NewReason(jingle.ReasonFailedApplication, err.Error())
}
