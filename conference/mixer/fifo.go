package mixer

// fifo holds one input's decoded audio between ticks. Opus packets of
// 40 or 60 ms decode to more than a frame, and 10 ms ones to less, so
// decoded audio waits here until a tick takes its 960 samples.
//
// When the input is not decoded (a silent input with audio levels), the
// fifo only counts audio: virtual samples that are silence if the input
// is decoded again before they are consumed.
type fifo struct {
	pcm     []float32 // pcm[:n] is buffered audio, oldest first
	virtual int       // samples counted but not decoded (sit before pcm)
}

// len is the buffered duration in samples.
func (f *fifo) len() int { return f.virtual + len(f.pcm) }

// push appends decoded samples.
func (f *fifo) push(s []float32) {
	f.materialize()
	f.pcm = append(f.pcm, s...)
}

// count appends n samples that were consumed without decoding.
func (f *fifo) count(n int) {
	if len(f.pcm) > 0 {
		// Decoding stopped mid-stream: the decoded audio is no longer
		// wanted either, only its duration.
		f.virtual += len(f.pcm)
		f.pcm = f.pcm[:0]
	}
	f.virtual += n
}

// materialize turns virtual samples into silence, so decoded audio that
// follows lines up in time.
func (f *fifo) materialize() {
	for ; f.virtual > 0; f.virtual-- {
		f.pcm = append(f.pcm, 0)
	}
}

// take fills dst with the oldest len(dst) samples, silence where the fifo
// runs short.
func (f *fifo) take(dst []float32) {
	f.materialize()
	n := copy(dst, f.pcm)
	clear(dst[n:])
	rest := copy(f.pcm, f.pcm[n:])
	f.pcm = f.pcm[:rest]
}

// drop discards n samples without reading them.
func (f *fifo) drop(n int) {
	v := min(n, f.virtual)
	f.virtual -= v
	n -= v
	n = min(n, len(f.pcm))
	rest := copy(f.pcm, f.pcm[n:])
	f.pcm = f.pcm[:rest]
}

// cut removes n samples from the front of the buffered audio, joining
// what was before them to what follows with a linear crossfade over up to
// xf samples, so the join does not click (shorten.go).
func (f *fifo) cut(n, xf int) {
	f.materialize()
	if n <= 0 || n > len(f.pcm) {
		return
	}
	l := min(xf, len(f.pcm)-n, n)
	for i := range l {
		w := float32(i) / float32(l) // 0: the audio before the cut, as it was
		f.pcm[n+i] = f.pcm[i]*(1-w) + f.pcm[n+i]*w
	}
	rest := copy(f.pcm, f.pcm[n:])
	f.pcm = f.pcm[:rest]
}

// reset empties the fifo.
func (f *fifo) reset() {
	f.pcm = f.pcm[:0]
	f.virtual = 0
}
