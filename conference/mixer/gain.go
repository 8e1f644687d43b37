package mixer

// Level normalization: participants with quiet microphones are brought up
// and loud ones down towards a common loudness. Slowly, so it follows the
// talker rather than each syllable, and within bounds, so a near-silent
// line is not pumped into noise.
const (
	// targetDB is the loudness we aim at, the usual speech level for
	// telephony (ITU-T P.56 active level around -26 dBov, plus a little
	// since we measure RMS over frames including short pauses).
	targetDB = -23.0
	// maxGainDB and minGainDB bound the gain.
	maxGainDB = 12.0
	minGainDB = -12.0
	// gainRateDB is how fast the gain may move, in dB per second.
	gainRateDB = 2.5
	// voiceDB is the frame level under which the gain holds still: no
	// adapting to silence or background noise.
	voiceDB = -50.0
)

// nextGain returns the gain (dB) after one frame at level levelDB, moving
// at most step dB towards what would bring the input to targetDB.
func nextGain(gainDB, levelDB, step float64) float64 {
	if levelDB < voiceDB {
		return gainDB
	}
	want := min(maxGainDB, max(minGainDB, targetDB-levelDB))
	switch {
	case want > gainDB+step:
		return gainDB + step
	case want < gainDB-step:
		return gainDB - step
	}
	return want
}
