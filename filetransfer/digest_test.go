package filetransfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDigest(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 3*digestBuf/16+1)
	for _, tc := range []struct {
		name    string
		data    []byte
		size    int64
		wantErr string
	}{
		{"empty", nil, 0, ""},
		{"small", []byte("hello"), 5, ""},
		{"several reads", big, int64(len(big)), ""},
		{"only the size opened", big, 100, ""},
		{"shrunk since opened", []byte("hello"), 9, "the file changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDigest(context.Background(), bytes.NewReader(tc.data), tc.size, "f")
			defer d.stop()
			sum, err := d.wait()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := sha256.Sum256(tc.data[:tc.size])
			if !bytes.Equal(sum, want[:]) {
				t.Fatalf("sum %x, want %x", sum, want)
			}
		})
	}
}

// endless is a file that never ends, read slowly enough to be caught.
type endless struct{ reads chan struct{} }

func (e endless) ReadAt(p []byte, _ int64) (int, error) {
	select {
	case e.reads <- struct{}{}:
	default:
	}
	clear(p)
	return len(p), nil
}

// A send cancelled while it hashes stops the hashing goroutine (goleak in
// TestMain checks it is gone), as does stop without a cancelled context.
func TestDigestStops(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cancel bool // the caller's context, else stop alone
	}{
		{"context cancelled", true},
		{"stopped", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			e := endless{reads: make(chan struct{})}
			d := startDigest(ctx, e, 1<<62, "endless")
			<-e.reads // hashing has begun
			if tc.cancel {
				cancel()
			} else {
				d.stop()
			}
			_, err := d.wait()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v, want context.Canceled", err)
			}
			d.stop() // again: no-op
		})
	}
}

var _ io.ReaderAt = endless{}
