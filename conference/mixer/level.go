package mixer

import "math"

// Levels are in dBov, as in RFC 6464: 0 is the loudest, silenceDB the
// quietest the header extension can say.
const silenceDB = -127.0

// rmsDB returns the RMS level of x in dBov, at least silenceDB.
func rmsDB(x []float32) float64 {
	if len(x) == 0 {
		return silenceDB
	}
	var sum float64
	for _, v := range x {
		sum += float64(v) * float64(v)
	}
	return max(silenceDB, 10*math.Log10(sum/float64(len(x))))
}

// Level smoothing (per frame of 20 ms): a voice onset is taken almost at
// once, a pause slowly, so a speaker does not lose its slot between two
// words. From -20 dBov, release needs about 300 ms of silence to fall
// under leaveDB.
const (
	levelAttack  = 0.5
	levelRelease = 0.05
)

// smoothLevel moves the smoothed level prev towards the frame's level
// raw: fast upwards (attack), slowly downwards (release).
func smoothLevel(prev, raw, attack, release float64) float64 {
	a := release
	if raw > prev {
		a = attack
	}
	return prev + a*(raw-prev)
}

// dbToGain converts decibels to a linear amplitude factor.
func dbToGain(db float64) float32 {
	return float32(math.Pow(10, db/20))
}
