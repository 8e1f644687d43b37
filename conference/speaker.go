package conference

import "time"

// Active-speaker choice for the video a receiver sees: the loudest other
// participant who sends video, switched only when someone else has been
// clearly louder for a while, so a cough does not flip the picture.
const (
	// switchMarginDB is how much louder (smoothed dBov) a challenger
	// must be than the one shown.
	switchMarginDB = 6.0
	// switchHold is how long it must stay so.
	switchHold = 600 * time.Millisecond
)

// candidate is a participant whose video could be shown, with its audio
// level (dBov, -127 silent).
type candidate struct {
	peer  string
	level float64
}

// speakerChoice is one receiver's state: who is shown, and who has been
// louder since when.
type speakerChoice struct {
	current    string
	challenger string
	since      time.Time
}

// next returns the choice after looking at the candidates at now. With no
// candidate nobody is shown; when the one shown stops sending video, the
// loudest other takes over at once.
func (s speakerChoice) next(cands []candidate, now time.Time) speakerChoice {
	if len(cands) == 0 {
		return speakerChoice{}
	}
	loudest := cands[0]
	cur, found := candidate{}, false
	for _, c := range cands {
		if c.level > loudest.level {
			loudest = c
		}
		if c.peer == s.current {
			cur, found = c, true
		}
	}
	if !found {
		return speakerChoice{current: loudest.peer}
	}
	if loudest.peer == cur.peer || loudest.level < cur.level+switchMarginDB {
		return speakerChoice{current: cur.peer}
	}
	if s.challenger != loudest.peer {
		return speakerChoice{current: cur.peer, challenger: loudest.peer, since: now}
	}
	if now.Sub(s.since) >= switchHold {
		return speakerChoice{current: loudest.peer}
	}
	return s
}
