package filetransfer

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Dir is a directory files are received into. Every access goes through
// an os.Root, so no name, "..", or symlink planted in the directory can
// make a write land outside it (openat-style resolution).
type Dir struct {
	root *os.Root
	path string

	mu   sync.Mutex
	busy map[string]*holder // partial files a sink of this Dir has open
}

// holder is the transfer that has a partial file open.
type holder struct {
	// stop ends that transfer without waiting (its sink then lets go of
	// the file); nil when it cannot be superseded.
	stop     func()
	released chan struct{} // closed when the file is let go
}

// supersedeWait bounds how long a new transfer of a file waits for the
// one it superseded to let go of the partial file: that one's
// session-terminate waits up to 10 s for its ack.
const supersedeWait = 15 * time.Second

// OpenDir opens (and creates, 0700) the directory files are received into.
func OpenDir(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("filetransfer: creating %s: %w", path, err)
	}
	r, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("filetransfer: opening %s: %w", path, err)
	}
	return &Dir{root: r, path: path, busy: map[string]*holder{}}, nil
}

// Path returns the directory's path.
func (d *Dir) Path() string { return d.path }

// Close releases the directory handle.
func (d *Dir) Close() error { return d.root.Close() }

// claim marks a partial file as in use by a transfer that stop ends
// (nil: one that cannot be superseded); false if a transfer has it.
func (d *Dir) claim(name string, stop func()) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.busy[name] != nil {
		return false
	}
	d.busy[name] = &holder{stop: stop, released: make(chan struct{})}
	return true
}

func (d *Dir) release(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if h := d.busy[name]; h != nil {
		close(h.released)
		delete(d.busy, name)
	}
}

// supersede ends the transfer of this Dir that holds the partial file
// name and waits until it has let go; false if it cannot be ended or did
// not let go within supersedeWait. A new offer of the same file from the
// same sender while an earlier one still holds its partial file means
// the sender gave the earlier one up: its connection broke (a server
// restart, a network blink) and it offers the file again, resuming. The
// earlier session may never hear of it, an IBB stream through a
// restarted server just stops, and would hold the bytes it received
// until its peer's session-terminate, which the sender's new connection
// never sends.
func (d *Dir) supersede(name string) bool {
	d.mu.Lock()
	h := d.busy[name]
	d.mu.Unlock()
	if h == nil {
		return true
	}
	if h.stop == nil {
		return false
	}
	h.stop()
	t := time.NewTimer(supersedeWait)
	defer t.Stop()
	select {
	case <-h.released:
		return true
	case <-t.C:
		return false
	}
}

// partialName is the temporary file of a resumable incoming file. It is
// derived from who sends it (bare JID: any of the account's resources may
// resume) and what identifies the file (sanitized name, size, offered
// digests), so a later transfer of the same file from the same sender
// finds the bytes an interrupted one left and resumes from there
// (XEP-0234 §8), and no other sender's bytes ever become part of it. The
// leading dot keeps it out of directory listings; SanitizeName never
// yields such a name.
func partialName(f *File, sender string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00", bareJID(sender), SanitizeName(f.Name), f.Size)
	hs := append([]Hash(nil), f.Hashes...)
	sort.Slice(hs, func(i, j int) bool { return hs[i].Algo < hs[j].Algo })
	for _, x := range hs {
		fmt.Fprintf(h, "%s=%x\x00", x.Algo, x.Value)
	}
	return ".jingle-" + hex.EncodeToString(h.Sum(nil)[:12]) + ".part"
}

// bareJID is the account part of a JID, case-folded (localpart and
// domain compare case-insensitively).
func bareJID(jid string) string {
	bare, _, _ := strings.Cut(jid, "/")
	return strings.ToLower(bare)
}

// freshPartialName is the temporary file of a transfer that cannot be
// resumed: random, so it is never shared.
func freshPartialName() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return ".jingle-tmp-" + hex.EncodeToString(b[:]) + ".part"
}

// sink receives one file: it enforces the declared size, hashes as it
// writes, and publishes the file only once verified.
type sink struct {
	dir       *Dir
	tmp       string
	resumable bool // tmp is partialName: kept on a broken stream
	released  bool // tmp is no longer claimed in dir
	f         *os.File
	name      string // sanitized
	size      int64  // declared, -1 unknown
	offset    int64  // bytes already present when the transfer started
	written   int64  // total bytes in the file, offset included
	hashes    map[string]hash.Hash
	flushed   int64 // bytes whose writeback has been started (writeback)
	synced    bool  // sync ran (with syncErr its outcome)
	syncErr   error
}

// create opens the partial file for f, sent by sender. With resume (the
// caller has checked that the sender can resume and that a digest will
// verify the whole file), bytes an earlier attempt from the same sender
// left are kept (and hashed) and offset tells where the sender should
// start. A transfer of the same file from the same sender that holds
// the partial file in this Dir is superseded first when both were given
// a stop (which ends the new one in turn, should a later offer
// supersede it). Otherwise, or while another process has the file, a
// new partial file of its own starts empty.
func (d *Dir) create(f *File, sender string, resume bool, stop func()) (*sink, error) {
	s := &sink{dir: d, name: SanitizeName(f.Name), size: f.Size, hashes: map[string]hash.Hash{}}
	algos := map[string]bool{DefaultHashAlgo: true}
	for _, h := range f.Hashes {
		algos[h.Algo] = true
	}
	for _, a := range f.HashUsed {
		algos[a] = true
	}
	for a := range algos {
		if h, err := NewHash(a); err == nil {
			s.hashes[a] = h
		}
	}
	var fl *os.File
	if resume {
		var err error
		if fl, err = d.openResumable(s, f, sender, stop); err != nil {
			return nil, err
		}
	}
	if fl == nil {
		// Not resumable, or the same file is being received right now.
		if err := d.createFresh(s, f); err != nil {
			return nil, err
		}
		return s, nil
	}
	fi, err := fl.Stat()
	if err != nil {
		s.abort(false)
		return nil, fmt.Errorf("filetransfer: stat partial file: %w", err)
	}
	have := fi.Size()
	s.written = have
	if err := d.checkSpace(f.Size, have); err != nil {
		s.abort(true) // earlier bytes stay for when space is back
		return nil, err
	}
	if f.Size >= 0 && have >= f.Size {
		// Complete or overlong leftovers cannot be trusted: start over.
		have, s.written = 0, 0
		if err := fl.Truncate(0); err != nil {
			s.abort(false)
			return nil, fmt.Errorf("filetransfer: truncating partial file: %w", err)
		}
	}
	if have > 0 {
		if _, err := io.Copy(s.hashWriter(), io.NewSectionReader(fl, 0, have)); err != nil {
			s.abort(false)
			return nil, fmt.Errorf("filetransfer: rehashing partial file: %w", err)
		}
	}
	if _, err := fl.Seek(have, io.SeekStart); err != nil {
		s.abort(false)
		return nil, fmt.Errorf("filetransfer: seeking partial file: %w", err)
	}
	s.offset, s.written, s.flushed = have, have, have
	return s, nil
}

// openResumable opens and claims the resumable partial file of f from
// sender, superseding a transfer of this Dir that has it (supersede).
// It returns nil, nil when another transfer, in this process or another
// one, keeps it.
func (d *Dir) openResumable(s *sink, f *File, sender string, stop func()) (*os.File, error) {
	name := partialName(f, sender)
	if !d.claim(name, stop) && (stop == nil || !d.supersede(name) || !d.claim(name, stop)) {
		return nil, nil
	}
	if fi, err := d.root.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		// Something planted a symlink or a directory under our name.
		d.release(name)
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrOutsideDir, name)
	}
	fl, err := d.root.OpenFile(name, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		d.release(name)
		return nil, fmt.Errorf("filetransfer: opening partial file: %w", err)
	}
	if !lockPartial(fl) || !d.stillNamed(fl, name) {
		// Someone else's, or removed as stale (CleanPartials in
		// another process) between our open and our lock.
		_ = fl.Close()
		d.release(name)
		return nil, nil
	}
	s.tmp, s.resumable, s.f = name, true, fl
	return fl, nil
}

// createFresh opens a new, empty partial file under a random name,
// exclusively: nothing else (another transfer, another process sharing
// the directory, a planted link) can be writing to it.
func (d *Dir) createFresh(s *sink, f *File) error {
	if err := d.checkSpace(f.Size, 0); err != nil {
		return err
	}
	for range 10 {
		s.tmp = freshPartialName()
		fl, err := d.root.OpenFile(s.tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("filetransfer: creating partial file: %w", err)
		}
		// Locked like a resumable one, so that CleanPartials in another
		// process sees it is in use.
		lockPartial(fl)
		s.f = fl
		return nil
	}
	return fmt.Errorf("filetransfer: no free partial file name in %s", d.path)
}

// spareBytes stay free after a transfer, so a receive never fills the
// disk to the last block.
const spareBytes = 64 << 20

// checkSpace refuses a file that cannot fit (have bytes of it are on
// disk already).
func (d *Dir) checkSpace(size, have int64) error {
	if size < 0 {
		return nil
	}
	free, ok := freeBytes(d.path)
	if !ok {
		return nil
	}
	if need := size - have; need > 0 && need+spareBytes > free {
		return fmt.Errorf("%w: %d bytes needed, %d free", ErrNoSpace, need, free)
	}
	return nil
}

func (s *sink) hashWriter() io.Writer {
	ws := make([]io.Writer, 0, len(s.hashes))
	for _, h := range s.hashes {
		ws = append(ws, h)
	}
	return io.MultiWriter(ws...)
}

// Write appends p and hashes it (fill does both for a whole stream).
func (s *sink) Write(p []byte) (int, error) {
	w, err := s.put(p)
	for _, h := range s.hashes {
		h.Write(p[:w])
	}
	return w, err
}

// put appends p to the file without hashing it, refusing to go beyond the
// declared size (a peer that lies about the size cannot fill the disk),
// and has the kernel start writing what came so far to the disk
// (writeback). The caller hashes the bytes written.
func (s *sink) put(p []byte) (int, error) {
	n := len(p)
	if s.size >= 0 && s.written+int64(n) > s.size {
		return 0, fmt.Errorf("%w: %d bytes declared, got at least %d", ErrSizeExceeded, s.size, s.written+int64(n))
	}
	w, err := s.f.Write(p)
	if w > 0 {
		s.written += int64(w)
		s.writeback()
	}
	if errors.Is(err, syscall.ENOSPC) {
		return w, s.diskFull(err)
	}
	if err != nil {
		return w, fmt.Errorf("filetransfer: writing %s: %w", s.tmp, err)
	}
	return w, nil
}

// writebackChunk is how many written bytes the sink lets gather in the
// page cache before it asks the kernel to start writing them to the disk.
const writebackChunk = 4 << 20

// writeback starts the disk writes of each writebackChunk as soon as it
// is complete, so that the disk works while the rest of the file
// arrives and the fsync in publish, which still makes the whole file
// durable, only waits for the tail. Left to itself the kernel starts
// them only once the pages are old (dirty_expire_centisecs, 30 s) or
// too many (dirty_background_ratio), so the fsync paid for the whole
// file: 35-50 ms of a 130 ms transfer of 32 MiB here.
func (s *sink) writeback() {
	if s.written-s.flushed < writebackChunk {
		return
	}
	startWriteback(s.f, s.flushed, s.written-s.flushed)
	s.flushed = s.written
}

// The receive pipeline of fill: fillBufs buffers of fillBufSize bytes go
// round between the reads and the hashes.
const (
	fillBufs    = 4
	fillBufSize = 256 << 10
)

// fill reads r into the file until the declared size is in (r may stay
// open: a data channel does) or, when the size is unknown, until r
// ends. The hashes run on a goroutine of their own, up to fillBufs
// buffers behind the writes, so that on more than one core hashing no
// longer adds to the time the stream takes; fill waits for them before
// it returns. progress is called after each write.
func (s *sink) fill(r io.Reader, progress func()) error {
	free := make(chan []byte, fillBufs)
	for range fillBufs {
		free <- make([]byte, fillBufSize)
	}
	full := make(chan []byte, fillBufs)
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		for b := range full {
			for _, h := range s.hashes {
				h.Write(b)
			}
			free <- b[:cap(b)]
		}
	}()
	defer func() {
		close(full)
		<-hashed
	}()
	for s.remaining() != 0 {
		buf := <-free
		n, rerr := r.Read(buf)
		if n > 0 {
			w, err := s.put(buf[:n])
			full <- buf[:w]
			if err != nil {
				return err
			}
			progress()
		} else {
			free <- buf
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) && s.size < 0 {
				return nil
			}
			if errors.Is(rerr, io.EOF) {
				return fmt.Errorf("%w: %d of %d bytes", ErrShortFile, s.written, s.size)
			}
			return fmt.Errorf("%w: %w", errStreamRead, rerr)
		}
	}
	return nil
}

// diskFull is the error of a write that found the disk full: what is
// full, how far the file got, what becomes of those bytes (a resumable
// partial keeps them, see abort) and what to do.
func (s *sink) diskFull(err error) error {
	what := "the bytes received are deleted; free space there and have the file sent again"
	if s.resumable && s.written > 0 {
		what = fmt.Sprintf("the bytes received stay in %s; free space there and have the file sent again to resume from them", s.tmp)
	}
	return fmt.Errorf("%w: %s is full after %d of %d bytes of %s (%v): %s", ErrNoSpace, s.dir.path, s.written, s.size, s.name, err, what)
}

// remaining returns how many bytes are still expected, or -1.
func (s *sink) remaining() int64 {
	if s.size < 0 {
		return -1
	}
	return s.size - s.written
}

// sum returns the digest of algo over what was written.
func (s *sink) sum(algo string) []byte {
	h, ok := s.hashes[algo]
	if !ok {
		return nil
	}
	return h.Sum(nil)
}

// verify checks the size and every expected digest we can compute. With
// no digest at all the size alone decides (Dino sends none).
func (s *sink) verify(expected []Hash) error {
	if s.size >= 0 && s.written != s.size {
		return fmt.Errorf("%w: %d of %d bytes", ErrShortFile, s.written, s.size)
	}
	checked := 0
	for _, e := range expected {
		got := s.sum(e.Algo)
		if got == nil {
			continue
		}
		if !bytes.Equal(got, e.Value) {
			return fmt.Errorf("%w: %s", ErrHashMismatch, e.Algo)
		}
		checked++
	}
	if len(expected) > 0 && checked == 0 {
		return fmt.Errorf("%w: none of the offered algorithms", ErrUnsupportedHash)
	}
	return nil
}

// publish syncs the partial file and gives it its final, collision-free
// name. The name is claimed with a hard link, which fails instead of
// replacing an existing file; filesystems without hard links fall back to
// a checked rename.
func (s *sink) publish() (string, error) {
	if err := s.sync(); err != nil {
		return "", err
	}
	if err := s.f.Close(); err != nil {
		return "", fmt.Errorf("filetransfer: close: %w", err)
	}
	s.f = nil
	for i := 0; i < 10000; i++ {
		name := s.name
		if i > 0 {
			name = numbered(s.name, i)
		}
		err := s.dir.root.Link(s.tmp, name)
		if err == nil {
			if err := s.dir.root.Remove(s.tmp); err != nil {
				return "", fmt.Errorf("filetransfer: removing %s: %w", s.tmp, err)
			}
			s.release()
			return name, nil
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if _, serr := s.dir.root.Lstat(name); serr == nil {
			continue
		}
		if err := s.dir.root.Rename(s.tmp, name); err != nil {
			return "", fmt.Errorf("filetransfer: renaming into place: %w", err)
		}
		s.release()
		return name, nil
	}
	return "", fmt.Errorf("filetransfer: no free name for %q", s.name)
}

// sync makes the written bytes durable, once: the receiver runs it while
// it waits for the stream's tail (stream.go), and publish needs it done.
func (s *sink) sync() error {
	if !s.synced {
		s.synced = true
		if err := s.f.Sync(); err != nil {
			s.syncErr = fmt.Errorf("filetransfer: sync: %w", err)
		}
	}
	return s.syncErr
}

// abort closes the partial file. keep leaves it for a later resume when
// it can be resumed and holds something; otherwise it is deleted (bad
// data must not linger, and nothing would ever find it again).
func (s *sink) abort(keep bool) {
	if s.f != nil {
		_ = s.f.Close()
		s.f = nil
	}
	if !keep || !s.resumable || s.written == 0 {
		_ = s.dir.root.Remove(s.tmp)
	}
	s.release()
}

// release gives the partial file's name back to the Dir, once.
func (s *sink) release() {
	if s.released {
		return
	}
	s.released = true
	if s.resumable {
		s.dir.release(s.tmp)
	}
}
