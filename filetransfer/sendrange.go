package filetransfer

import (
	"io"
	"time"
)

// Bounds of one copy of sendRange, and the times that make it grow or
// shrink.
const (
	minSendChunk = 64 << 10
	maxSendChunk = 8 << 20
	growBelow    = 50 * time.Millisecond
	shrinkAbove  = 200 * time.Millisecond
)

// sendRange copies n bytes from src to w in chunks, calling sent with the
// bytes copied so far after each. Each chunk is one io.CopyN, so a
// stream that reads from a file itself (a SOCKS5 *net.TCPConn's
// ReadFrom, with sendfile(2)) gets the file instead of 32 KiB writes
// through a counter. Chunks start small and double while they take
// less than growBelow, halving above shrinkAbove, so progress still
// comes several times a second on a slow stream (IBB) and the copies
// stay long on a fast one.
func sendRange(w io.Writer, src io.Reader, n int64, sent func(int64)) (int64, error) {
	var done int64
	chunk := int64(minSendChunk)
	for done < n {
		start := time.Now()
		c, err := io.CopyN(w, src, min(chunk, n-done))
		done += c
		if c > 0 {
			sent(done)
		}
		if err != nil {
			return done, err
		}
		chunk = nextSendChunk(chunk, time.Since(start))
	}
	return done, nil
}

// nextSendChunk sizes the next copy of sendRange from how long the last
// one of size chunk took.
func nextSendChunk(chunk int64, took time.Duration) int64 {
	switch {
	case took < growBelow:
		return min(chunk*2, maxSendChunk)
	case took > shrinkAbove:
		return max(chunk/2, minSendChunk)
	}
	return chunk
}
