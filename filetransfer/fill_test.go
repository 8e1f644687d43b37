package filetransfer

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // the offers of StanzaJS carry sha-1.
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

var errAfterEnd = errors.New("read after the declared size")

// thenFail serves r, then fails any further read: a stream left open
// after the file (a data channel) must not be read once the size is in.
type thenFail struct{ r io.Reader }

func (t *thenFail) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if errors.Is(err, io.EOF) {
		if n > 0 {
			return n, nil
		}
		return 0, errAfterEnd
	}
	return n, err
}

var errBroken = errors.New("connection reset")

func TestSinkFill(t *testing.T) {
	data := make([]byte, fillBufs*fillBufSize+fillBufSize/2+3) // every buffer round more than once
	_, _ = rand.Read(data)
	s1 := sha1.Sum(data) //nolint:gosec // see the import
	for _, tc := range []struct {
		name    string
		size    int64
		r       io.Reader
		wantErr error
		wantLen int64
	}{
		{"declared size", int64(len(data)), bytes.NewReader(data), nil, int64(len(data))},
		{"stream stays open", int64(len(data)), &thenFail{bytes.NewReader(data)}, nil, int64(len(data))},
		{"byte by byte", 5000, iotest.OneByteReader(bytes.NewReader(data[:5000])), nil, 5000},
		{"half reads", int64(len(data)), iotest.HalfReader(bytes.NewReader(data)), nil, int64(len(data))},
		{"unknown size to the end", -1, bytes.NewReader(data), nil, int64(len(data))},
		{"empty", 0, &thenFail{bytes.NewReader(nil)}, nil, 0},
		{"size lie", 1000, bytes.NewReader(data), ErrSizeExceeded, 0},
		{"short", int64(len(data)) + 1, bytes.NewReader(data), ErrShortFile, int64(len(data))},
		{"broken stream", int64(len(data)), io.MultiReader(bytes.NewReader(data[:7000]), iotest.ErrReader(errBroken)), errBroken, 7000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := OpenDir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			f := &File{Name: "f", Size: tc.size, Hashes: []Hash{{Algo: "sha-1", Value: s1[:]}}}
			s, err := d.create(f, testSender, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			var progress []int64
			err = s.fill(tc.r, func() { progress = append(progress, s.written) })
			if !errors.Is(err, tc.wantErr) {
				s.abort(false)
				t.Fatalf("fill: %v, want %v", err, tc.wantErr)
			}
			if s.written != tc.wantLen {
				t.Fatalf("wrote %d bytes, want %d", s.written, tc.wantLen)
			}
			if n := len(progress); n > 0 && progress[n-1] != s.written {
				t.Fatalf("last progress %d, wrote %d", progress[n-1], s.written)
			}
			if err != nil {
				s.abort(false)
				return
			}
			got := data[:tc.wantLen]
			if err := s.verify(append(sha256Of(got), Hash{Algo: "sha-1", Value: sha1Of(got)})); err != nil {
				t.Fatal(err)
			}
			name, err := s.publish()
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(d.Path(), name))
			if err != nil || !bytes.Equal(b, got) {
				t.Fatalf("stored %d bytes (%v), not the data", len(b), err)
			}
		})
	}
}

func sha1Of(b []byte) []byte {
	s := sha1.Sum(b) //nolint:gosec // see the import
	return s[:]
}
