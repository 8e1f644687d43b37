// The data phase of a transfer: the file's bytes sent over the transport's
// stream, or received into a partial file, then the tail checked and the
// hash verified.

package filetransfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/jingled/jingled/jingle"
)

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
	n, err := sendRange(conn, tr.src, length, func(sent int64) {
		if tr.progress != nil {
			tr.progress(offset+sent, file.Size)
		}
	})
	res.Transferred = n
	if err != nil {
		err = fmt.Errorf("filetransfer: sending: %w", err)
		tr.awaitPeerEnd()
		tr.mu.Lock()
		r := tr.reason
		tr.mu.Unlock()
		if tr.ctx.Err() == nil {
			tr.fail(err)
		} else if r != nil && r.Condition != jingle.ReasonCancel {
			// The receiver ended the session (its disk is full, it
			// found bad data): its reason says why our writes stopped,
			// not the cancelled write itself.
			err = fmt.Errorf("%w (sending stopped after byte %d)", tr.endedErr(), offset+n)
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

// peerEndWait is how long a side whose stream broke waits for the peer's
// session-terminate before it ends the session itself. A receiver that
// stops a transfer (its disk is full, it found bad data), or a sender
// that cancels, sends session-terminate and closes its end of the stream
// at once; the two reach us by different paths (the session's loop, the
// transport's own reads or IQ replies), and the broken stream often
// wins, by microseconds over one XMPP connection (CI saw it over
// Prosody). The peer's reason is what the user needs ("the peer's disk
// is full after N bytes", not "ibb: no such stream"). A stream that
// broke on its own costs this much more time before the failure is
// reported.
const peerEndWait = 2 * time.Second

// awaitPeerEnd waits up to peerEndWait for the session to end, unless it
// already has.
func (tr *transfer) awaitPeerEnd() {
	if tr.ctx.Err() != nil {
		return
	}
	t := time.NewTimer(peerEndWait)
	defer t.Stop()
	select {
	case <-tr.ctx.Done():
	case <-t.C:
	}
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
		if aerr := tr.acceptFailed(); aerr != nil {
			err = aerr // what ended the transport's wait
		}
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
	err = sk.fill(conn, func() { progress(sk.written, sk.size) })
	res.Transferred = sk.written - sk.offset
	if err == nil {
		// The tail check waits a few round trips for bytes that should
		// not come; the file's sync, which publish needs, runs meanwhile
		// (on loopback each took 20-30 ms of a 32 MiB transfer, one
		// after the other). Its error, if any, is publish's.
		tail := tr.watchTail(conn)
		_ = sk.sync()
		err = tail()
	}
	if err == nil {
		err = tr.verify(sk)
	}
	if errors.Is(err, ErrShortFile) || errors.Is(err, errStreamRead) {
		// The stream ended or broke under us: a sender that cancels
		// ends the session and closes its end at once, and the close
		// can overtake its session-terminate. Its reason (cancel) is
		// the one to report, not a short file of ours.
		tr.awaitPeerEnd()
	}
	if aerr := tr.acceptFailed(); err != nil && aerr != nil {
		err = aerr // the peer refused our session-accept while we read
	}
	tr.mu.Lock()
	superseded := tr.superseded
	tr.mu.Unlock()
	if err != nil && superseded {
		// The stream broke because a new offer of the file ended us.
		err = fmt.Errorf("%w (%w)", ErrSuperseded, err)
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
// that keeps the stream open (datachannel) sends nothing more. A stream
// that knows how soon bytes sent behind the last one arrive says so with
// TailWait (a data channel: a few round trips), and waits that long
// instead, at most tailWait: on loopback the fixed wait was most of a
// 32 MiB transfer's time.
const tailWait = 300 * time.Millisecond

// tailWaiter is a stream that knows how long bytes sent right behind the
// last one read can take to arrive.
type tailWaiter interface{ TailWait() time.Duration }

// watchTail starts looking for bytes beyond the declared size; the
// function it returns waits out the look and refuses a stream that
// carries more.
func (tr *transfer) watchTail(conn io.Reader) func() error {
	wait := tailWait
	if tw, ok := conn.(tailWaiter); ok {
		wait = min(wait, tw.TailWait())
	}
	timer := time.NewTimer(wait)
	got := make(chan int, 1)
	tr.app.goOwned(func() {
		var b [1]byte
		n, _ := conn.Read(b[:])
		got <- n
	})
	return func() error {
		defer timer.Stop()
		select {
		case n := <-got:
			if n > 0 {
				return fmt.Errorf("%w: data after the declared %d bytes", ErrSizeExceeded, tr.sk.size)
			}
		case <-timer.C:
		case <-tr.ctx.Done():
		}
		return nil
	}
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
