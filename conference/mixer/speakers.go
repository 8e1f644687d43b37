package mixer

import (
	"cmp"
	"slices"
)

// Speaker selection thresholds, on smoothed levels in dBov.
const (
	// enterDB is the level an input must reach to become a speaker.
	enterDB = -50.0
	// leaveDB is the level under which a speaker loses its slot. Lower
	// than enterDB: hysteresis, so a speaker hovering around a threshold
	// does not flap in and out.
	leaveDB = -60.0
	// marginDB is how much louder than the quietest speaker a new input
	// must be to take its slot when all slots are full.
	marginDB = 6.0
)

// candidate is an input as speaker selection sees it.
type candidate struct {
	id       int
	level    float64 // smoothed, dBov
	speaking bool    // speaker in the previous frame; updated by selectSpeakers
}

// selectParams are selectSpeakers' knobs; the constants above in
// production, other values in tests.
type selectParams struct {
	max                        int
	enterDB, leaveDB, marginDB float64
}

// selectSpeakers decides who is mixed this frame, setting speaking on
// each candidate. Speakers stay while above leaveDB; free slots go to the
// loudest inputs above enterDB; when slots are full a newcomer replaces
// the quietest speaker only if louder by marginDB. The result depends
// only on the candidates, not on their order (ties go to the lower id).
//
// order is scratch space, reused across calls.
func selectSpeakers(c []candidate, p selectParams, order []int) []int {
	n := 0
	order = order[:0]
	for i := range c {
		if c[i].speaking && c[i].level >= p.leaveDB {
			n++
		} else {
			c[i].speaking = false
		}
		order = append(order, i)
	}
	// Loudest first; speakers over max (max lowered) lose the quietest.
	slices.SortFunc(order, func(a, b int) int {
		if c[a].level != c[b].level {
			return cmp.Compare(c[b].level, c[a].level)
		}
		return cmp.Compare(c[a].id, c[b].id)
	})
	for i := len(order) - 1; i >= 0 && n > p.max; i-- {
		if s := &c[order[i]]; s.speaking {
			s.speaking = false
			n--
		}
	}
	for _, i := range order {
		nc := &c[i]
		if nc.speaking || nc.level < p.enterDB {
			continue
		}
		if n < p.max {
			nc.speaking = true
			n++
			continue
		}
		q := quietestSpeaker(c, order)
		if q < 0 || nc.level < c[q].level+p.marginDB {
			break // order is descending: nobody later qualifies either
		}
		c[q].speaking = false
		nc.speaking = true
	}
	return order
}

// quietestSpeaker returns the index of the quietest speaker in c, given
// order sorted loudest first, or -1.
func quietestSpeaker(c []candidate, order []int) int {
	for i := len(order) - 1; i >= 0; i-- {
		if c[order[i]].speaking {
			return order[i]
		}
	}
	return -1
}
