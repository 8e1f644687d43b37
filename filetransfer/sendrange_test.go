package filetransfer

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestNextSendChunk(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chunk int64
		took  time.Duration
		want  int64
	}{
		{"fast doubles", minSendChunk, time.Millisecond, 2 * minSendChunk},
		{"fast stops at the max", maxSendChunk, time.Millisecond, maxSendChunk},
		{"fast nears the max", maxSendChunk/2 + 1, time.Millisecond, maxSendChunk},
		{"steady keeps", 1 << 20, 100 * time.Millisecond, 1 << 20},
		{"at growBelow keeps", 1 << 20, growBelow, 1 << 20},
		{"at shrinkAbove keeps", 1 << 20, shrinkAbove, 1 << 20},
		{"slow halves", 1 << 20, time.Second, 1 << 19},
		{"slow stops at the min", minSendChunk, time.Second, minSendChunk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextSendChunk(tc.chunk, tc.took); got != tc.want {
				t.Fatalf("nextSendChunk(%d, %v) = %d, want %d", tc.chunk, tc.took, got, tc.want)
			}
		})
	}
}

// failAfter accepts limit bytes, then fails.
type failAfter struct {
	buf   bytes.Buffer
	limit int
}

var errWriteFailed = errors.New("write failed")

func (f *failAfter) Write(p []byte) (int, error) {
	if f.buf.Len()+len(p) > f.limit {
		n := f.limit - f.buf.Len()
		f.buf.Write(p[:n])
		return n, errWriteFailed
	}
	return f.buf.Write(p)
}

func TestSendRange(t *testing.T) {
	data := make([]byte, 3*minSendChunk+123)
	_, _ = rand.Read(data)
	for _, tc := range []struct {
		name    string
		src     []byte
		n       int64
		limit   int // of the writer; 0 none
		want    int64
		wantErr error
	}{
		{"nothing", data, 0, 0, 0, nil},
		{"less than a chunk", data, 100, 0, 100, nil},
		{"several chunks", data, int64(len(data)), 0, int64(len(data)), nil},
		{"part of the source", data, minSendChunk + 1, 0, minSendChunk + 1, nil},
		{"source too short", data[:1000], 2000, 0, 1000, io.EOF},
		{"writer fails", data, int64(len(data)), minSendChunk + 10, minSendChunk + 10, errWriteFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &failAfter{limit: len(data) + 1}
			if tc.limit > 0 {
				w.limit = tc.limit
			}
			var reports []int64
			got, err := sendRange(w, bytes.NewReader(tc.src), tc.n, func(sent int64) { reports = append(reports, sent) })
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Fatalf("sent %d, %v; want %d, %v", got, err, tc.want, tc.wantErr)
			}
			if !bytes.Equal(w.buf.Bytes(), tc.src[:got]) {
				t.Fatal("the bytes written differ from the source")
			}
			for i, r := range reports {
				if r <= 0 || (i > 0 && r <= reports[i-1]) {
					t.Fatalf("progress %v: not increasing", reports)
				}
			}
			if got > 0 && (len(reports) == 0 || reports[len(reports)-1] != got) {
				t.Fatalf("progress %v, last should be %d", reports, got)
			}
		})
	}
}

// From a file to a TCP connection, the chunks go through the
// connection's ReadFrom (sendfile on Linux) and still arrive intact,
// from the file's current offset.
func TestSendRangeFileToTCP(t *testing.T) {
	data := make([]byte, 5<<20)
	_, _ = rand.Read(data)
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const offset = 12345
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	c, srv := tcpPair(t)
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(srv)
		got <- b
	}()
	n := int64(len(data) - offset - 7)
	sent, err := sendRange(c, f, n, func(int64) {})
	_ = c.Close()
	if err != nil || sent != n {
		t.Fatalf("sent %d, %v; want %d", sent, err, n)
	}
	if b := <-got; !bytes.Equal(b, data[offset:offset+n]) {
		t.Fatalf("received %d bytes, not the file's range", len(b))
	}
}

// tcpPair returns both ends of a loopback TCP connection, closed when the
// test ends.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return c, s
}
