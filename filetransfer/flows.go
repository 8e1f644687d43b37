package filetransfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
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
// sha-256 digest (computed first, so the receiver can check as it goes)
// and <range/> so the receiver may resume; the same digest follows the
// data in a checksum session-info, which StanzaJS waits for.
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
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("filetransfer: hashing %s: %w", path, err)
	}
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
		Range: &Range{}, Hashes: []Hash{{Algo: DefaultHashAlgo, Value: h.Sum(nil)}},
	}
	plan, err := a.plan(ctx, peer, o.Transport)
	if err != nil {
		return nil, err
	}
	tr := a.newTransfer(m.Local(), peer, true, true, contentName, jingle.CreatorInitiator)
	tr.desc = &Description{Namespace: NS, File: file}
	tr.plan, tr.src, tr.progress = plan, f, o.Progress
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
	plan, err := a.plan(ctx, peer, o.Transport)
	if err != nil {
		return nil, err
	}
	// Earlier bytes are only worth asking the rest for when a digest
	// will check the whole file: the one we name, or for a request by
	// name alone the responder's (run drops earlier bytes it cannot
	// check).
	sk, err := a.dir.create(&f, peer, len(f.Hashes) > 0 || f.Size < 0)
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
	descEl, err := tr.desc.Element()
	if err != nil {
		if tr.sk != nil {
			tr.sk.abort(true)
		}
		return nil, err
	}
	var el jingle.Element
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
	if tr.cur == nil {
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
	sk, err := tr.app.dir.create(offer, tr.peer, resume)
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
	if err := tr.accept(f); err != nil {
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
	if err := tr.accept(file); err != nil {
		tr.fail(err)
		tr.finishErr(started, err)
		return
	}
	tr.sendData(started)
}

// accept builds our transport for the offered one and sends
// session-accept with f.
func (tr *transfer) accept(f File) error {
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
	err = tr.s.Accept(tr.ctx, []jingle.Content{c}, nil)
	at.markSent()
	if err != nil {
		return fmt.Errorf("filetransfer: session-accept: %w", err)
	}
	return nil
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

// sendData streams the file (or its range), sends the checksum and waits
// for the receiver to end the session.
func (tr *transfer) sendData(started time.Time) {
	file := tr.desc.File
	var offset, length int64 = 0, file.Size
	if r := file.Range; r != nil {
		offset = r.Offset
		if offset > file.Size {
			offset = file.Size
		}
		length = file.Size - offset
		if r.Length > 0 && r.Length < length {
			length = r.Length
		}
	}
	res := Result{Name: file.Name, Size: file.Size, Offset: offset, Started: started}
	if len(file.Hashes) > 0 {
		res.Hash = file.Hashes[0]
	}
	conn, err := tr.connect()
	if err != nil {
		tr.fail(err)
		res.Err = err
		tr.finishResult(res)
		return
	}
	if _, err := tr.src.Seek(offset, io.SeekStart); err != nil {
		tr.fail(err)
		res.Err = err
		tr.finishResult(res)
		return
	}
	pw := &progressWriter{w: conn, done: offset, total: file.Size, f: tr.progress}
	n, err := io.CopyN(pw, tr.src, length)
	res.Transferred = n
	if err != nil {
		err = fmt.Errorf("filetransfer: sending: %w", err)
		if tr.ctx.Err() == nil {
			tr.fail(err)
		}
		res.Err = err
		tr.finishResult(res)
		return
	}
	// End of data: SOCKS5 half-closes (Prosody's mod_proxy65 holds the
	// tail of a relayed stream until the sender's side ends) and IBB
	// sends <close/>. A data channel stays open until the session ends:
	// StanzaJS treats a closed channel as a failed transfer.
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		if err := cw.CloseWrite(); err != nil {
			tr.log.Debug("filetransfer: closing the write side", "err", err)
		}
	}
	// The checksum after the data: StanzaJS never finishes without it.
	ck := Checksum{Creator: tr.creator, Name: tr.content, File: File{Hashes: file.Hashes}}
	if el, err := ck.Element(); err == nil {
		if err := tr.s.Info(tr.ctx, el); err != nil {
			tr.log.Debug("filetransfer: checksum", "err", err)
		}
	}
	// The receiver verifies and ends the session; an ack without the end
	// (or a silent peer) is ended by us.
	select {
	case <-tr.done:
	case <-tr.receivedCh:
		tr.terminate(jingle.NewReason(jingle.ReasonSuccess, ""))
	case <-time.After(tr.app.checksumTimeout + 30*time.Second):
		tr.terminate(jingle.NewReason(jingle.ReasonSuccess, "no answer after the data"))
	}
	tr.mu.Lock()
	r := tr.reason
	tr.mu.Unlock()
	if r != nil && r.Condition != jingle.ReasonSuccess {
		res.Err = fmt.Errorf("%w: %s", errEndedEarly, r)
	}
	tr.finishResult(res)
}

func (tr *transfer) finishResult(res Result) {
	tr.finish(res)
	if tr.app.onResult != nil && !tr.initiator {
		tr.mu.Lock()
		r := tr.result
		tr.mu.Unlock()
		tr.app.onResult(&r)
	}
}

// receiveData reads the declared bytes into the sink, verifies them and
// publishes the file; any failure deletes bad data and ends the session
// with the reason.
func (tr *transfer) receiveData(started time.Time) {
	sk := tr.sk
	file := tr.desc.File
	res := Result{Name: file.Name, Size: file.Size, Offset: sk.offset, Started: started}
	conn, err := tr.connect()
	if err != nil {
		sk.abort(true)
		tr.fail(err)
		res.Err = err
		tr.finishResult(res)
		return
	}
	progress := func(done, total int64) {
		if tr.progress != nil {
			tr.progress(done, total)
		}
		if tr.app.onProgress != nil && tr.session() != nil {
			tr.app.onProgress(tr.s.SID(), done, total)
		}
	}
	buf := make([]byte, 64<<10)
	for sk.remaining() != 0 {
		n, rerr := conn.Read(buf)
		if n > 0 {
			if _, werr := sk.Write(buf[:n]); werr != nil {
				err = werr
				break
			}
			progress(sk.written, sk.size)
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) && sk.size < 0 {
				break
			}
			if errors.Is(rerr, io.EOF) {
				err = fmt.Errorf("%w: %d of %d bytes", ErrShortFile, sk.written, sk.size)
			} else {
				err = fmt.Errorf("filetransfer: receiving: %w", rerr)
			}
			break
		}
	}
	res.Transferred = sk.written - sk.offset
	if err == nil {
		err = tr.checkTail(conn)
	}
	if err == nil {
		err = tr.verify(sk)
	}
	if err != nil {
		// Bad data goes; a stream that merely broke keeps its bytes for
		// a resumed transfer.
		keep := !errors.Is(err, ErrSizeExceeded) && !errors.Is(err, ErrHashMismatch) && !errors.Is(err, ErrUnsupportedHash) && !errors.Is(err, ErrNoChecksum)
		sk.abort(keep)
		if tr.ctx.Err() == nil {
			tr.fail(err)
		}
		res.Err = err
		tr.finishResult(res)
		return
	}
	name, err := sk.publish()
	if err != nil {
		sk.abort(false)
		tr.fail(err)
		res.Err = err
		tr.finishResult(res)
		return
	}
	res.Path = filepath.Join(tr.app.dir.Path(), name)
	res.Hash = Hash{Algo: DefaultHashAlgo, Value: sk.sum(DefaultHashAlgo)}
	if tr.app.receivedAck {
		rcv := Received{Creator: tr.creator, Name: tr.content}
		if el, err := rcv.Element(); err == nil {
			ctx, cancel := context.WithTimeout(tr.ctx, 10*time.Second)
			if err := tr.s.Info(ctx, el); err != nil {
				tr.log.Debug("filetransfer: received ack", "err", err)
			}
			cancel()
		}
	}
	tr.terminate(jingle.NewReason(jingle.ReasonSuccess, ""))
	tr.finishResult(res)
}

// tailWait is how long we look for bytes beyond the declared size once it
// is reached: a peer lying about the size sends them at once; a sender
// that keeps the stream open (datachannel) sends nothing more.
const tailWait = 300 * time.Millisecond

// checkTail refuses a stream that carries more than the declared size.
func (tr *transfer) checkTail(conn io.Reader) error {
	got := make(chan int, 1)
	tr.app.goOwned(func() {
		var b [1]byte
		n, _ := conn.Read(b[:])
		got <- n
	})
	select {
	case n := <-got:
		if n > 0 {
			return fmt.Errorf("%w: data after the declared %d bytes", ErrSizeExceeded, tr.sk.size)
		}
	case <-time.After(tailWait):
	case <-tr.ctx.Done():
	}
	return nil
}

// verify checks the data against the offered hashes, or the checksum
// session-info when the offer only announced hash-used.
func (tr *transfer) verify(sk *sink) error {
	expected := append([]Hash(nil), tr.desc.File.Hashes...)
	if len(expected) == 0 && len(tr.desc.File.HashUsed) > 0 {
		select {
		case <-tr.checksumCh:
		case <-time.After(tr.app.checksumTimeout):
			return fmt.Errorf("%w within %s", ErrNoChecksum, tr.app.checksumTimeout)
		case <-tr.done:
		}
	}
	tr.mu.Lock()
	expected = append(expected, tr.checksum...)
	tr.mu.Unlock()
	return sk.verify(expected)
}
