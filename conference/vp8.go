package conference

// VP8 RTP payload descriptor (RFC 7741 §4.2), just enough of it to forward
// one participant's video as the continuation of another's: where the
// picture ID is and how wide, and whether a packet starts a key frame.

// vp8Desc is what a VP8 payload descriptor says.
type vp8Desc struct {
	// picOff is the offset of the picture ID, picLen its width in bytes
	// (0: absent, 1: 7 bits, 2: 15 bits).
	picOff, picLen int
	picID          uint16
	// keyStart: the packet begins a key frame (start of partition 0 and
	// the VP8 payload header's P bit clear).
	keyStart bool
}

// parseVP8 reads the descriptor of payload; ok is false for a payload too
// short for what its flags announce.
func parseVP8(b []byte) (d vp8Desc, ok bool) {
	if len(b) < 1 {
		return d, false
	}
	i := 1
	x, start, pid := b[0]&0x80 != 0, b[0]&0x10 != 0, b[0]&0x07
	if x {
		if len(b) <= i {
			return d, false
		}
		ext := b[i]
		i++
		if ext&0x80 != 0 { // I: picture ID
			if len(b) <= i {
				return d, false
			}
			d.picOff = i
			if b[i]&0x80 != 0 {
				if len(b) <= i+1 {
					return d, false
				}
				d.picLen = 2
				d.picID = uint16(b[i]&0x7f)<<8 | uint16(b[i+1])
				i += 2
			} else {
				d.picLen = 1
				d.picID = uint16(b[i] & 0x7f)
				i++
			}
		}
		if ext&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if ext&0x30 != 0 { // T or K: TID/Y/KEYIDX
			i++
		}
	}
	if len(b) <= i {
		return d, false
	}
	d.keyStart = start && pid == 0 && b[i]&0x01 == 0
	return d, true
}

// picMask is the largest picture ID of a given width.
func picMask(picLen int) uint16 {
	if picLen == 2 {
		return 0x7fff
	}
	return 0x7f
}

// setPicID writes id (masked to the width) into payload b at d's place.
func setPicID(b []byte, d vp8Desc, id uint16) {
	switch d.picLen {
	case 1:
		b[d.picOff] = byte(id & 0x7f)
	case 2:
		id &= 0x7fff
		b[d.picOff] = 0x80 | byte(id>>8)
		b[d.picOff+1] = byte(id)
	}
}
