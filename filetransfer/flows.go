// The flows of a transfer: Send and Request open a session, the
// responder accepts an offer or serves a request, and one goroutine per
// transfer runs it to its end.

package filetransfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"time"

	"github.com/jingled/jingled/jingle"
)

// contentName is the content name XEP-0234's examples and Dino use.
const contentName = "a-file-offer"

// SendOptions tune one outgoing file.
type SendOptions struct {
	// Transport restricts the transports: "" or "auto" for all (by
	// priority, with fallback), or a family ("datachannel", "s5b",
	// "ibb") or namespace to force one.
	Transport string
	// Name overrides the file's base name; Desc and MediaType are sent
	// as metadata (MediaType defaults from the extension).
	Name, Desc, MediaType string
	// Progress is called with bytes sent so far (range offset included).
	Progress func(done, total int64)
}

// Send offers the file at path to peer (XEP-0234 §6.1, push) through m,
// with which the App is registered, and returns when the session ends:
// the receiver ends it after verifying the hash. The offer carries the
// sha-256 digest (computed while the peer's features are looked up and
// the transport gathers its candidates, so the receiver can check as it
// goes and match a partial file to resume) and <range/> so the receiver
// may resume; the same digest follows the data in a checksum
// session-info, which StanzaJS waits for.
func (a *App) Send(ctx context.Context, m *jingle.Manager, peer, path string, o SendOptions) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("filetransfer: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("filetransfer: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("filetransfer: %s is not a regular file", path)
	}
	dg := startDigest(ctx, f, fi.Size(), path)
	defer dg.stop()
	name := o.Name
	if name == "" {
		name = filepath.Base(path)
	}
	mt := o.MediaType
	if mt == "" {
		mt = mime.TypeByExtension(filepath.Ext(name))
	}
	file := File{
		Name: name, Size: fi.Size(), Date: fi.ModTime().UTC().Truncate(time.Second), Desc: o.Desc, MediaType: mt,
		Range: &Range{},
	}
	plan, err := a.plan(ctx, m, peer, o.Transport)
	if err != nil {
		return nil, err
	}
	tr := a.newTransfer(m.Local(), peer, true, true, contentName, jingle.CreatorInitiator)
	tr.desc = &Description{Namespace: NS, File: file}
	tr.plan, tr.src, tr.progress, tr.digest = plan, f, o.Progress, dg
	return tr.initiate(ctx, m, jingle.SendersInitiator)
}

// RequestOptions tune one file request.
type RequestOptions struct {
	// Transport restricts the transports, as in SendOptions.
	Transport string
	// Progress is called with bytes received so far (offset included).
	Progress func(done, total int64)
}

// Request asks peer for a file (XEP-0234 §6.2, pull) and writes it into
// the App's directory. f names the file (name, and size and hashes when
// known, e.g. from an interrupted offer): if an earlier transfer of the
// same file left bytes behind, the request carries <range offset=”/> and
// only the rest crosses the wire (§8). A request by name alone (size -1,
// no hash: `jingle fetch`) resumes what an earlier request by the same
// name to the same peer left; the digest in the responder's
// session-accept then checks the whole file, earlier bytes included, and
// a file that changed in between fails the check and is deleted.
func (a *App) Request(ctx context.Context, m *jingle.Manager, peer string, f File, o RequestOptions) (*Result, error) {
	if a.dir == nil {
		return nil, fmt.Errorf("%w: no receive directory", ErrDeclined)
	}
	plan, err := a.plan(ctx, m, peer, o.Transport)
	if err != nil {
		return nil, err
	}
	// Earlier bytes are only worth asking the rest for when a digest
	// will check the whole file: the one we name, or for a request by
	// name alone the responder's (run drops earlier bytes it cannot
	// check).
	sk, err := a.dir.create(&f, peer, len(f.Hashes) > 0 || f.Size < 0, nil)
	if err != nil {
		return nil, err
	}
	want := f
	want.Range = &Range{Offset: sk.offset}
	want.Date = time.Time{}
	tr := a.newTransfer(m.Local(), peer, true, false, contentName, jingle.CreatorInitiator)
	tr.desc = &Description{Namespace: NS, File: want}
	tr.sk, tr.plan, tr.progress = sk, plan, o.Progress
	return tr.initiate(ctx, m, jingle.SendersResponder)
}

// initiate sends session-initiate with the first transport that builds,
// then runs the transfer to its end.
func (tr *transfer) initiate(ctx context.Context, m *jingle.Manager, senders jingle.Senders) (*Result, error) {
	started := time.Now()
	var el jingle.Element
	var err error
	for _, c := range tr.plan {
		var at *attempt
		if at, err = tr.newAttempt(c); err != nil {
			break
		}
		if el, err = at.h.Local(ctx); err == nil {
			tr.cur = at
			break
		}
		tr.tried = append(tr.tried, c.ns)
		tr.log.Info("filetransfer: transport unavailable", "transport", c.ns, "err", err)
		err = fmt.Errorf("%w: %w", ErrNoTransport, err)
	}
	var descEl jingle.Element
	if tr.cur != nil {
		descEl, err = tr.offerDescription()
	}
	if tr.cur == nil || err != nil {
		tr.closeHandles()
		if tr.sk != nil {
			tr.sk.abort(true)
		}
		return nil, err
	}
	content := jingle.Content{Creator: jingle.CreatorInitiator, Name: tr.content, Senders: senders, Description: &descEl, Transport: &el}
	s, err := m.Initiate(ctx, tr.peer, "", []jingle.Content{content}, nil, tr)
	if tr.cur != nil {
		tr.cur.markSent()
	}
	if err != nil {
		tr.closeHandles()
		if tr.sk != nil {
			tr.sk.abort(true)
		}
		return nil, err
	}
	tr.setSession(s)
	stop := context.AfterFunc(ctx, func() { tr.fail(ctx.Err()) })
	defer stop()
	tr.run(started)
	<-tr.resultReady
	res := tr.result
	return &res, res.Err
}

// offerDescription encodes our description for session-initiate, with
// the digest of the file we offer once it is computed (a send's hashing
// runs while the transport gathers its candidates).
func (tr *transfer) offerDescription() (jingle.Element, error) {
	if tr.digest != nil {
		sum, err := tr.digest.wait()
		if err != nil {
			return jingle.Element{}, err
		}
		tr.desc.File.Hashes = []Hash{{Algo: DefaultHashAlgo, Value: sum}}
	}
	return tr.desc.Element()
}

func (tr *transfer) closeHandles() {
	tr.mu.Lock()
	hs := tr.handles
	tr.handles = nil
	tr.mu.Unlock()
	for _, h := range hs {
		_ = h.Close()
	}
}

// run is the initiator's side after session-initiate was acked.
func (tr *transfer) run(started time.Time) {
	tr.mu.Lock()
	accepted := tr.accepted
	tr.mu.Unlock()
	select {
	case <-accepted:
	case <-tr.done:
		if tr.sk != nil {
			// A request declined or cancelled before the accept: its
			// partial file (kept only if it holds earlier bytes).
			tr.sk.abort(true)
		}
		tr.finishErr(started, tr.endedErr())
		return
	}
	if tr.sending {
		tr.mu.Lock()
		if d := tr.acceptDesc; d != nil && d.File.Range != nil {
			// XEP-0234 §6.1: honour the receiver's range (resume).
			tr.desc.File.Range = d.File.Range
		}
		tr.mu.Unlock()
		tr.sendData(started)
		return
	}
	tr.mu.Lock()
	ad := tr.acceptDesc
	tr.mu.Unlock()
	if ad != nil && tr.desc.File.Size < 0 && ad.File.Size >= 0 {
		// A request by name learns the size from the accept.
		tr.sk.size = ad.File.Size
		tr.desc.File.Size = ad.File.Size
	}
	if ad != nil {
		tr.desc.File.Hashes = append(tr.desc.File.Hashes, ad.File.Hashes...)
		tr.desc.File.HashUsed = append(tr.desc.File.HashUsed, ad.File.HashUsed...)
	}
	if sk := tr.sk; sk.offset > 0 && (len(tr.desc.File.Hashes) == 0 || (sk.size >= 0 && sk.offset > sk.size)) {
		// Earlier bytes of a request by name that nothing can vouch
		// for: the responder named no digest, or the file is now
		// shorter than what we have. They go, and the next request
		// starts afresh.
		err := fmt.Errorf("%w: %d earlier bytes of %s cannot be checked against the peer's file", ErrNoChecksum, sk.offset, tr.desc.File.Name)
		sk.abort(false)
		tr.fail(err)
		tr.finishErr(started, err)
		return
	}
	tr.receiveData(started)
}

func (tr *transfer) endedErr() error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.reason != nil && tr.reason.Condition == jingle.ReasonDecline {
		return fmt.Errorf("%w: %s", ErrDeclined, tr.reason)
	}
	return fmt.Errorf("%w: %s", errEndedEarly, tr.reason)
}

func (tr *transfer) finishErr(started time.Time, err error) {
	f := &tr.desc.File
	tr.finish(Result{Name: f.Name, Size: f.Size, Started: started, Err: err})
	if tr.app.onResult != nil && !tr.initiator {
		tr.mu.Lock()
		r := tr.result
		tr.mu.Unlock()
		tr.app.onResult(&r)
	}
}

// receive accepts an offer (responder, push).
func (tr *transfer) receive() {
	started := time.Now()
	// XEP-0234 §8: <range/> in the offer says the sender can resume
	// (Dino sends none and always starts at byte 0); and only a digest
	// can show that earlier bytes and new ones make the offered file.
	offer := &tr.desc.File
	resume := offer.Range != nil && len(offer.Hashes) > 0
	// A later offer of the same file from the same sender ends this
	// transfer and resumes from its bytes (Dir.supersede).
	sk, err := tr.app.dir.create(offer, tr.peer, resume, func() {
		tr.mu.Lock()
		tr.superseded = true
		tr.mu.Unlock()
		tr.app.goOwned(func() { tr.fail(ErrSuperseded) })
	})
	if err != nil {
		tr.fail(err)
		tr.finishErr(started, err)
		return
	}
	tr.sk = sk
	f := tr.desc.File
	f.Range = nil
	if sk.offset > 0 {
		f.Range = &Range{Offset: sk.offset}
	}
	// Reading starts while the peer's ack of session-accept is on its
	// way: a sender may start as soon as it has our transport, and one
	// that is busy sending acks late. StanzaJS on libwebrtc did both:
	// 300 ms of data filled our 4 MiB SCTP window before its ack came,
	// and its sender did not resume once the window opened again (6 MiB
	// of 8 sent, then nothing; 4 of 6 transfers, tests/interop).
	if err := tr.accept(f, false); err != nil {
		sk.abort(true)
		tr.fail(err)
		tr.finishErr(started, err)
		return
	}
	tr.receiveData(started)
}

// serve answers a request (responder, pull) from the serve directory.
func (tr *transfer) serve() {
	started := time.Now()
	f, file, err := tr.app.open(tr.peer, &tr.desc.File)
	if err != nil {
		tr.terminate(jingle.NewReason(jingle.ReasonDecline, err.Error()))
		tr.finishErr(started, err)
		return
	}
	defer f.Close()
	if r := tr.desc.File.Range; r != nil {
		file.Range = &Range{Offset: r.Offset, Length: r.Length}
	}
	tr.src = f
	tr.desc = &Description{Namespace: NS, File: file}
	if err := tr.accept(file, true); err != nil {
		tr.fail(err)
		tr.finishErr(started, err)
		return
	}
	tr.sendData(started)
}

// accept builds our transport for the offered one and sends
// session-accept with f. With wait, it returns once the peer acked it;
// otherwise at once, and a refusal ends the transfer with acceptFailed's
// error.
func (tr *transfer) accept(f File, wait bool) error {
	at, err := tr.newAttempt(choice{tr.cur.t, tr.cur.ns})
	if err != nil {
		return err
	}
	if err := at.h.HandleRemote(tr.ctx, jingle.ActionSessionInitiate, tr.remoteTransport); err != nil {
		return fmt.Errorf("%w: %w", ErrNoTransport, err)
	}
	tr.mu.Lock()
	tr.cur = at // transport-info from now on goes to the handle
	early := tr.early
	tr.early = nil
	tr.mu.Unlock()
	for _, e := range early {
		if err := at.h.HandleRemote(tr.ctx, jingle.ActionTransportInfo, e); err != nil {
			tr.log.Debug("filetransfer: early transport-info", "err", err)
		}
	}
	el, err := at.h.Local(tr.ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoTransport, err)
	}
	d := Description{Namespace: tr.desc.Namespace, File: f}
	descEl, err := d.Element()
	if err != nil {
		return err
	}
	senders := jingle.SendersInitiator
	if tr.sending {
		senders = jingle.SendersResponder
	}
	c := jingle.Content{Creator: tr.creator, Name: tr.content, Senders: senders, Description: &descEl, Transport: &el}
	send := func() error {
		err := tr.s.Accept(tr.ctx, []jingle.Content{c}, nil)
		at.markSent()
		if err != nil {
			return fmt.Errorf("filetransfer: session-accept: %w", err)
		}
		return nil
	}
	if wait {
		return send()
	}
	tr.app.goOwned(func() {
		if err := send(); err != nil && tr.ctx.Err() == nil {
			tr.mu.Lock()
			tr.acceptErr = err
			tr.mu.Unlock()
			tr.fail(err)
		}
	})
	return nil
}

// acceptFailed is the error of a session-accept the peer refused, or nil.
func (tr *transfer) acceptFailed() error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.acceptErr
}

// open finds a requested file in the serve directory.
func (a *App) open(peer string, want *File) (*os.File, File, error) {
	if a.serveDir == "" || !a.senderAllowed(peer) {
		return nil, File{}, fmt.Errorf("%w: requests are not served to %s", ErrDeclined, peer)
	}
	root, err := os.OpenRoot(a.serveDir)
	if err != nil {
		return nil, File{}, fmt.Errorf("filetransfer: serve dir: %w", err)
	}
	defer root.Close()
	f, err := root.Open(SanitizeName(want.Name))
	if err != nil {
		return nil, File{}, fmt.Errorf("%w: %s not available", ErrDeclined, want.Name)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, File{}, fmt.Errorf("%w: %s not available", ErrDeclined, want.Name)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		f.Close()
		return nil, File{}, fmt.Errorf("filetransfer: hashing: %w", err)
	}
	sum := h.Sum(nil)
	if w := want.Hash(DefaultHashAlgo); w != nil && !bytes.Equal(w, sum) {
		f.Close()
		return nil, File{}, fmt.Errorf("%w: %s has changed", ErrDeclined, want.Name)
	}
	if want.Size >= 0 && want.Size != fi.Size() {
		f.Close()
		return nil, File{}, fmt.Errorf("%w: %s has changed", ErrDeclined, want.Name)
	}
	return f, File{Name: want.Name, Size: fi.Size(), Date: fi.ModTime().UTC().Truncate(time.Second),
		Hashes: []Hash{{Algo: DefaultHashAlgo, Value: sum}}}, nil
}
