package filetransfer

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

const testSender = "romeo@montague.lit/orchard"

func sha256Of(b []byte) []Hash {
	s := sha256.Sum256(b)
	return []Hash{{Algo: "sha-256", Value: s[:]}}
}

// receiveAll runs one sink over data and returns the published name.
func receiveAll(t *testing.T, d *Dir, f *File, data []byte, expected []Hash) (string, error) {
	t.Helper()
	s, err := d.create(f, testSender, false, nil)
	if err != nil {
		return "", err
	}
	if _, err := s.Write(data); err != nil {
		s.abort(false)
		return "", err
	}
	if err := s.verify(expected); err != nil {
		s.abort(false)
		return "", err
	}
	return s.publish()
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestDirHostileNamesStayInside(t *testing.T) {
	parent := t.TempDir()
	target := filepath.Join(parent, "in")
	d, err := OpenDir(target)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	data := []byte("payload")
	for _, name := range []string{"../../etc/passwd", "../escape", "a/b", "CON", "\x00\x01", "..", "/abs/path"} {
		got, err := receiveAll(t, d, &File{Name: name, Size: int64(len(data))}, data, sha256Of(data))
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if b, err := os.ReadFile(filepath.Join(target, got)); err != nil || !bytes.Equal(b, data) {
			t.Fatalf("%q -> %q not inside target: %v", name, got, err)
		}
	}
	if es := dirEntries(t, parent); len(es) != 1 || es[0] != "in" {
		t.Fatalf("something was written beside the target dir: %v", es)
	}
	// Collisions get numbered names instead of replacing files.
	if es := dirEntries(t, target); len(es) != 7 {
		t.Fatalf("entries = %v", es)
	}
}

func TestDirSymlinkEscape(t *testing.T) {
	parent := t.TempDir()
	target := filepath.Join(parent, "in")
	d, err := OpenDir(target)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	secret := filepath.Join(parent, "secret")
	if err := os.WriteFile(secret, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &File{Name: "x.txt", Size: 4}
	// A planted symlink under the final name and under the partial name.
	if err := os.Symlink(secret, filepath.Join(target, "x.txt")); err != nil {
		t.Fatal(err)
	}
	got, err := receiveAll(t, d, f, []byte("evil"), nil)
	if err != nil || got != "x (1).txt" {
		t.Fatalf("got %q, %v", got, err)
	}
	if err := os.Symlink(secret, filepath.Join(target, partialName(f, testSender))); err != nil {
		t.Fatal(err)
	}
	if _, err := d.create(f, testSender, true, nil); err == nil {
		t.Fatal("opened a symlinked partial file")
	}
	if b, _ := os.ReadFile(secret); string(b) != "keep" {
		t.Fatalf("secret overwritten: %q", b)
	}
}

func TestDirSizeLieAndHashMismatch(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	data := []byte("0123456789")
	if _, err := receiveAll(t, d, &File{Name: "lie", Size: 5}, data, nil); !errors.Is(err, ErrSizeExceeded) {
		t.Fatalf("size lie: %v", err)
	}
	if _, err := receiveAll(t, d, &File{Name: "short", Size: 50}, data, nil); !errors.Is(err, ErrShortFile) {
		t.Fatalf("short: %v", err)
	}
	if _, err := receiveAll(t, d, &File{Name: "bad", Size: 10}, data, sha256Of([]byte("other"))); !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("hash: %v", err)
	}
	if _, err := receiveAll(t, d, &File{Name: "blake", Size: 10}, data, []Hash{{Algo: "blake2b-256", Value: []byte{1}}}); !errors.Is(err, ErrUnsupportedHash) {
		t.Fatalf("unknown algo: %v", err)
	}
	if es := dirEntries(t, dir); len(es) != 0 {
		t.Fatalf("rejected data left behind: %v", es)
	}
	// No hash at all (Dino): the size decides.
	if _, err := receiveAll(t, d, &File{Name: "dino.bin", Size: 10}, data, nil); err != nil {
		t.Fatal(err)
	}
}

func TestDirResume(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	data := bytes.Repeat([]byte("abcdefgh"), 1000)
	f := &File{Name: "big.bin", Size: int64(len(data)), Hashes: sha256Of(data)}
	s, err := d.create(f, testSender, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(data[:3000]); err != nil {
		t.Fatal(err)
	}
	s.abort(true) // interrupted: bytes kept for later
	s, err = d.create(f, testSender, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.offset != 3000 {
		t.Fatalf("resume offset = %d", s.offset)
	}
	if _, err := s.Write(data[3000:]); err != nil {
		t.Fatal(err)
	}
	if err := s.verify(f.Hashes); err != nil {
		t.Fatal(err)
	}
	name, err := s.publish()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, name)); !bytes.Equal(b, data) {
		t.Fatal("resumed file differs")
	}
	if es := dirEntries(t, dir); len(es) != 1 {
		t.Fatalf("entries = %v", es)
	}
}

func TestDirNoSpace(t *testing.T) {
	d, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	free, ok := freeBytes(d.Path())
	if !ok {
		t.Skip("free space unknown on this platform")
	}
	if _, err := d.create(&File{Name: "huge.iso", Size: free + 1}, testSender, true, nil); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("a file larger than the disk: %v", err)
	}
	if es := dirEntries(t, d.Path()); len(es) != 0 {
		t.Fatalf("refused offer left %v", es)
	}
}

// TestDirPartialPerSender: the bytes one sender left are resumed only by
// that sender (any resource of the account), never by another one
// offering the same name, size and hash.
func TestDirPartialPerSender(t *testing.T) {
	d, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	data := bytes.Repeat([]byte("abcdefgh"), 1000)
	f := &File{Name: "big.bin", Size: int64(len(data)), Hashes: sha256Of(data)}
	s, err := d.create(f, "mallory@evil.example/x", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(data[:3000]); err != nil {
		t.Fatal(err)
	}
	s.abort(true)
	other, err := d.create(f, testSender, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if other.offset != 0 {
		t.Fatalf("another sender's transfer resumed at %d", other.offset)
	}
	other.abort(false)
	again, err := d.create(f, "Mallory@Evil.example/other-resource", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.abort(false)
	if again.offset != 3000 {
		t.Fatalf("the same account resumed at %d, want 3000", again.offset)
	}
}

// TestDirConcurrentSameFile: two transfers of the same file at once each
// write their own partial file; one failing does not delete the other's
// data, nor does the second resume from the first's bytes in flight.
func TestDirConcurrentSameFile(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	data := bytes.Repeat([]byte("abcdefgh"), 1000)
	f := &File{Name: "same.bin", Size: int64(len(data)), Hashes: sha256Of(data)}
	s1, err := d.create(f, testSender, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s1.Write(data[:4000]); err != nil {
		t.Fatal(err)
	}
	s2, err := d.create(f, testSender, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s2.tmp == s1.tmp || s2.offset != 0 {
		t.Fatalf("second transfer shares %s (offset %d)", s2.tmp, s2.offset)
	}
	s1.abort(false)
	if _, err := s2.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := s2.verify(f.Hashes); err != nil {
		t.Fatal(err)
	}
	name, err := s2.publish()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, name)); !bytes.Equal(b, data) {
		t.Fatal("published file differs")
	}
	if es := dirEntries(t, dir); len(es) != 1 {
		t.Fatalf("entries = %v", es)
	}
	// Once both are done the resumable name is free again.
	s3, err := d.create(f, testSender, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.abort(false)
	if s3.tmp != partialName(f, testSender) {
		t.Fatalf("resumable name still taken: %s", s3.tmp)
	}
}

// TestDirPartialLockedByAnotherProcess: a second Dir on the same path
// (another process receiving into it) never writes into a partial file
// the first one has open.
func TestDirPartialLockedByAnotherProcess(t *testing.T) {
	path := t.TempDir()
	d1, err := OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d1.Close()
	d2, err := OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	data := bytes.Repeat([]byte("abcdefgh"), 1000)
	f := &File{Name: "shared.bin", Size: int64(len(data)), Hashes: sha256Of(data)}
	s1, err := d1.create(f, testSender, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s1.Write(data[:2000]); err != nil {
		t.Fatal(err)
	}
	s2, err := d2.create(f, testSender, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.abort(false)
	if s2.tmp == s1.tmp || s2.offset != 0 {
		t.Fatalf("the other Dir got %s at offset %d", s2.tmp, s2.offset)
	}
	s1.abort(true)
	// Released: the next transfer resumes it.
	s3, err := d2.create(f, testSender, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.abort(false)
	if s3.tmp != s1.tmp || s3.offset != 2000 {
		t.Fatalf("after release: %s at offset %d", s3.tmp, s3.offset)
	}
}

// TestDirSupersedeSameFile: a new transfer of the same file from the same
// sender, while an earlier one of this Dir still holds the resumable
// partial file (a sender that lost its connection and offers again),
// ends the earlier one through its stop and resumes from its bytes. A
// transfer given no stop neither supersedes nor can be superseded.
func TestDirSupersedeSameFile(t *testing.T) {
	d, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	data := bytes.Repeat([]byte("abcdefgh"), 1000)
	f := &File{Name: "same.bin", Size: int64(len(data)), Hashes: sha256Of(data)}
	var s1 *sink
	stopped := make(chan struct{})
	s1, err = d.create(f, testSender, true, func() {
		close(stopped)
		// As a transfer does: its reader ends and the sink lets go,
		// keeping the bytes, on another goroutine.
		go s1.abort(true)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s1.Write(data[:4000]); err != nil {
		t.Fatal(err)
	}
	fresh, err := d.create(f, "romeo@montague.lit/reconnected", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.tmp == s1.tmp || fresh.offset != 0 {
		t.Fatalf("a transfer without stop took over %s (offset %d)", fresh.tmp, fresh.offset)
	}
	fresh.abort(false)
	s2, err := d.create(f, "romeo@montague.lit/reconnected", true, func() {})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.abort(false)
	select {
	case <-stopped:
	default:
		t.Fatal("the earlier transfer was not stopped")
	}
	if s2.tmp != partialName(f, testSender) || s2.offset != 4000 {
		t.Fatalf("the new transfer writes %s from %d, want %s from 4000", s2.tmp, s2.offset, partialName(f, testSender))
	}
	if _, err := s2.Write(data[4000:]); err != nil {
		t.Fatal(err)
	}
	if err := s2.verify(f.Hashes); err != nil {
		t.Fatal(err)
	}
}
