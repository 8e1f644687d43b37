// The signed cumulative loss of RTCP reception reports (RFC 3550 §6.4.1).

package rtp

// cumulativeLost reads the cumulative number of packets lost of an RTCP
// reception report (RFC 3550 §6.4.1) as the signed 24-bit number it is.
// Duplicates make it negative: Dino reports -1, which pion's stats keep
// as the unsigned 0xFFFFFF (16777215).
func cumulativeLost(v int64) int64 {
	v &= 0xFFFFFF
	if v&0x800000 != 0 {
		v -= 1 << 24
	}
	return v
}
