// G.722 (ITU-T G.722, 09/2012) at 64 kbit/s, the mode RTP carries (RFC
// 3551 §4.5.2): 16 kHz 16-bit PCM in, one byte per two samples out. The
// signal is split by a quadrature mirror filter (QMF) into a low band
// (0-4 kHz, 6-bit ADPCM) and a high band (4-8 kHz, 2-bit ADPCM); each
// band has an adaptive quantiser and a pole-zero predictor (the spec's
// block 4), shared by encoder and decoder so that both track the same
// state. Block names in comments are the spec's. Written for calls whose
// input is a WAV file and for reading G.722 recordings back in tests;
// rtp/g722_test.go checks it against ffmpeg's codec.

package rtp

// g722Band is one sub-band's adaptive state.
type g722Band struct {
	s, sp, sz int    // predictor output: total, pole part, zero part
	r         [3]int // reconstructed signal, r[0] the newest
	a, ap     [3]int // pole coefficients (a[1], a[2]) and their update
	b, bp     [7]int // zero coefficients (b[1]..b[6]) and their update
	d         [7]int // quantised difference signal, d[0] the newest
	p         [3]int // partially reconstructed signal
	nb        int    // log scale factor
	det       int    // scale factor
}

// g722 tables (G.722 Tables 6 to 9 and 14 to 17 in the spec's integer
// form).
var (
	// g722Q6 are the low band's decision levels, for a difference
	// normalised by det.
	g722Q6 = [32]int{
		0, 35, 72, 110, 150, 190, 233, 276,
		323, 370, 422, 473, 530, 587, 650, 714,
		786, 858, 940, 1023, 1121, 1219, 1339, 1458,
		1612, 1765, 1980, 2195, 2557, 2919, 0, 0,
	}
	// g722ILN and g722ILP are the 6-bit low band codes of the
	// negative and positive intervals.
	g722ILN = [32]int{
		0, 63, 62, 31, 30, 29, 28, 27,
		26, 25, 24, 23, 22, 21, 20, 19,
		18, 17, 16, 15, 14, 13, 12, 11,
		10, 9, 8, 7, 6, 5, 4, 0,
	}
	g722ILP = [32]int{
		0, 61, 60, 59, 58, 57, 56, 55,
		54, 53, 52, 51, 50, 49, 48, 47,
		46, 45, 44, 43, 42, 41, 40, 39,
		38, 37, 36, 35, 34, 33, 32, 0,
	}
	// g722WL and g722RL42: the low band's log scale factor steps, by
	// the magnitude of the 4-bit code.
	g722WL   = [8]int{-60, -30, 58, 172, 334, 538, 1198, 3042}
	g722RL42 = [16]int{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}
	// g722ILB is the inverse log table of the scale factors.
	g722ILB = [32]int{
		2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383,
		2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
		2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371,
		3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
	}
	// g722QM4 and g722QM6: the low band's inverse quantiser for the
	// 4-bit code (the predictor's input) and the full 6-bit code (the
	// decoder's output).
	g722QM4 = [16]int{
		0, -20456, -12896, -8968, -6288, -4240, -2584, -1200,
		20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
	}
	g722QM6 = [64]int{
		-136, -136, -136, -136, -24808, -21904, -19008, -16704,
		-14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
		-7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
		-3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
		24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
		10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
		4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
		1688, 1360, 1040, 728, 432, 136, -432, -136,
	}
	// The high band's inverse quantiser, codes of the negative and
	// positive intervals, and log scale factor steps.
	g722QM2 = [4]int{-7408, -1616, 7408, 1616}
	g722IHN = [3]int{0, 1, 0}
	g722IHP = [3]int{0, 3, 2}
	g722WH  = [3]int{0, -214, 798}
	g722RH2 = [4]int{2, 1, 2, 1}
	// g722QMF are the QMF's 24 taps, symmetric, given by half.
	g722QMF = [12]int{3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11}
)

func sat16(v int) int { return min(max(v, -32768), 32767) }

// adapt is blocks 4 (the predictor update) for a band given its new
// quantised difference d.
func (b *g722Band) adapt(d int) {
	// RECONS and PARREC.
	b.d[0] = d
	b.r[0] = sat16(b.s + d)
	b.p[0] = sat16(b.sz + d)

	// UPPOL2: the second pole coefficient.
	var sg [7]int
	for i := 0; i < 3; i++ {
		sg[i] = b.p[i] >> 15
	}
	wd1 := sat16(b.a[1] << 2)
	wd2 := wd1
	if sg[0] == sg[1] {
		wd2 = -wd1
	}
	wd2 = min(wd2, 32767)
	wd3 := wd2 >> 7
	if sg[0] == sg[2] {
		wd3 += 128
	} else {
		wd3 -= 128
	}
	wd3 += (b.a[2] * 32512) >> 15
	b.ap[2] = min(max(wd3, -12288), 12288)

	// UPPOL1: the first, bounded by the second.
	wd1 = -192
	if sg[0] == sg[1] {
		wd1 = 192
	}
	b.ap[1] = sat16(wd1 + (b.a[1]*32640)>>15)
	lim := sat16(15360 - b.ap[2])
	b.ap[1] = min(max(b.ap[1], -lim), lim)

	// UPZERO: the six zero coefficients.
	step := 128
	if d == 0 {
		step = 0
	}
	sg[0] = d >> 15
	for i := 1; i < 7; i++ {
		sg[i] = b.d[i] >> 15
		w := -step
		if sg[i] == sg[0] {
			w = step
		}
		b.bp[i] = sat16(w + (b.b[i]*32640)>>15)
	}

	// DELAYA: shift the histories.
	for i := 6; i > 0; i-- {
		b.d[i] = b.d[i-1]
		b.b[i] = b.bp[i]
	}
	for i := 2; i > 0; i-- {
		b.r[i] = b.r[i-1]
		b.p[i] = b.p[i-1]
		b.a[i] = b.ap[i]
	}

	// FILTEP, FILTEZ, PREDIC: the next prediction.
	b.sp = sat16((b.a[1]*sat16(b.r[1]+b.r[1]))>>15 + (b.a[2]*sat16(b.r[2]+b.r[2]))>>15)
	sz := 0
	for i := 6; i > 0; i-- {
		sz += (b.b[i] * sat16(b.d[i]+b.d[i])) >> 15
	}
	b.sz = sat16(sz)
	b.s = sat16(b.sp + b.sz)
}

// scale is blocks 3L/3H (LOGSCL, SCALEL; LOGSCH, SCALEH): the log scale
// factor moves by step, is bounded by maxNB, and det follows.
func (b *g722Band) scale(step, maxNB, shift int) {
	b.nb = min(max((b.nb*127)>>7+step, 0), maxNB)
	w := g722ILB[(b.nb>>6)&31]
	if e := shift - b.nb>>11; e < 0 {
		w <<= -e
	} else {
		w >>= e
	}
	b.det = w << 2
}

// lowStep updates the low band after the 6-bit code il and returns the
// difference the predictor saw (blocks 2L, 3L, 4L).
func (b *g722Band) lowStep(il int) {
	ril := il >> 2
	d := (b.det * g722QM4[ril]) >> 15
	b.scale(g722WL[g722RL42[ril]], 18432, 8)
	b.adapt(d)
}

// highStep does the same for the high band's 2-bit code ih.
func (b *g722Band) highStep(ih int) {
	d := (b.det * g722QM2[ih]) >> 15
	b.scale(g722WH[g722RH2[ih]], 22528, 10)
	b.adapt(d)
}

// qmf shifts the samples a and b into the history x of a QMF (either
// direction's: they share the taps) and returns its two filter sums,
// over the even-indexed history with the taps in order and over the
// odd-indexed with the taps reversed.
func qmf(x *[24]int, a, b int) (evenTaps, oddTaps int) {
	copy(x[:], x[2:])
	x[22], x[23] = a, b
	for i := 0; i < 12; i++ {
		evenTaps += x[2*i] * g722QMF[i]
		oddTaps += x[2*i+1] * g722QMF[11-i]
	}
	return evenTaps, oddTaps
}

// G722Encoder encodes 16 kHz 16-bit PCM to G.722 at 64 kbit/s. Its
// state carries over between calls of Encode, so a stream is encoded in
// pieces of any even length.
type G722Encoder struct {
	low, high g722Band
	x         [24]int // the QMF's input history
}

// NewG722Encoder returns an encoder in the spec's reset state.
func NewG722Encoder() *G722Encoder {
	e := &G722Encoder{}
	e.low.det, e.high.det = 32, 8
	return e
}

// Encode appends the G.722 bytes of pcm (an even number of samples; an
// odd last sample is dropped) to dst.
func (e *G722Encoder) Encode(dst []byte, pcm []int16) []byte {
	for j := 0; j+1 < len(pcm); j += 2 {
		// Transmit QMF: two input samples make one sample of each
		// band.
		odd, even := qmf(&e.x, int(pcm[j]), int(pcm[j+1]))
		xlow, xhigh := (even+odd)>>14, (even-odd)>>14

		// Low band: SUBTRA, QUANTL.
		el := sat16(xlow - e.low.s)
		mag := el
		if el < 0 {
			mag = -(el + 1)
		}
		i := 1
		for ; i < 30; i++ {
			if mag < (g722Q6[i]*e.low.det)>>12 {
				break
			}
		}
		il := g722ILP[i]
		if el < 0 {
			il = g722ILN[i]
		}
		e.low.lowStep(il)

		// High band: SUBTRA, QUANTH.
		eh := sat16(xhigh - e.high.s)
		mag = eh
		if eh < 0 {
			mag = -(eh + 1)
		}
		mih := 1
		if mag >= (564*e.high.det)>>12 {
			mih = 2
		}
		ih := g722IHP[mih]
		if eh < 0 {
			ih = g722IHN[mih]
		}
		e.high.highStep(ih)

		dst = append(dst, byte(ih<<6|il))
	}
	return dst
}

// G722Decoder decodes G.722 at 64 kbit/s to 16 kHz 16-bit PCM.
type G722Decoder struct {
	low, high g722Band
	x         [24]int // the QMF's input history
}

// NewG722Decoder returns a decoder in the spec's reset state.
func NewG722Decoder() *G722Decoder {
	d := &G722Decoder{}
	d.low.det, d.high.det = 32, 8
	return d
}

// Decode appends two samples per byte of g722 to dst.
func (d *G722Decoder) Decode(dst []int16, g722 []byte) []int16 {
	for _, c := range g722 {
		il, ih := int(c&0x3f), int(c>>6)
		// Block 5L (INVQBL, RECONS) and 6L (LIMIT): the low band
		// output uses the full 6-bit code.
		rlow := min(max(d.low.s+(d.low.det*g722QM6[il])>>15, -16384), 16383)
		d.low.lowStep(il)
		// Blocks 2H, 5H, 6H.
		rhigh := min(max(d.high.s+(d.high.det*g722QM2[ih])>>15, -16384), 16383)
		d.high.highStep(ih)

		// Receive QMF: one sample of each band makes two output
		// samples.
		out2, out1 := qmf(&d.x, rlow+rhigh, rlow-rhigh)
		dst = append(dst, int16(sat16(out1>>11)), int16(sat16(out2>>11)))
	}
	return dst
}
