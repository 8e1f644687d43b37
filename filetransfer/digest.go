package filetransfer

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
)

// digest is the sha-256 of a file to offer, computed on a goroutine of
// its own. Send starts it before anything else and waits for it only
// where the offer is built (XEP-0234 puts the digest in the offer), so
// that hashing runs beside what comes first: the peer's disco#info and
// the transport's candidates (SOCKS5 listeners, ICE gathering).
type digest struct {
	cancel context.CancelFunc
	done   chan struct{}
	sum    []byte
	err    error
}

// digestBuf is the size of the reads of a digest.
const digestBuf = 256 << 10

// startDigest hashes the first size bytes of r, which names for errors,
// until ctx ends. It reads with ReadAt, so the file's offset stays the
// sender's.
func startDigest(ctx context.Context, r io.ReaderAt, size int64, name string) *digest {
	ctx, cancel := context.WithCancel(ctx)
	d := &digest{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		h := sha256.New()
		n, err := io.CopyBuffer(h, ctxReader{ctx, io.NewSectionReader(r, 0, size)}, make([]byte, digestBuf))
		switch {
		case err != nil:
			d.err = fmt.Errorf("filetransfer: hashing %s: %w", name, err)
		case n != size:
			d.err = fmt.Errorf("filetransfer: hashing %s: %d bytes, %d when opened: the file changed", name, n, size)
		default:
			d.sum = h.Sum(nil)
		}
	}()
	return d
}

// wait returns the digest once it is computed.
func (d *digest) wait() ([]byte, error) {
	<-d.done
	return d.sum, d.err
}

// stop ends the hashing if it still runs and waits for its goroutine.
func (d *digest) stop() {
	d.cancel()
	<-d.done
}

// ctxReader stops reading once ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
