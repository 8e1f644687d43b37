package mixer

import (
	"slices"
	"testing"
)

func TestSelectSpeakers(t *testing.T) {
	p := selectParams{max: 2, enterDB: -50, leaveDB: -60, marginDB: 6}
	type c = candidate
	tests := []struct {
		name string
		in   []candidate
		max  int // 0: p.max
		want []int
	}{
		{"nobody talks", []c{{0, -127, false}, {1, -90, false}}, 0, nil},
		{"loudest two", []c{{0, -30, false}, {1, -20, false}, {2, -25, false}}, 0, []int{1, 2}},
		{"tie goes to lower id", []c{{0, -30, false}, {1, -30, false}, {2, -30, false}}, 0, []int{0, 1}},
		{"below enter does not start", []c{{0, -55, false}}, 0, nil},
		{"between leave and enter stays (hysteresis)", []c{{0, -55, true}}, 0, []int{0}},
		{"below leave goes", []c{{0, -65, true}}, 0, nil},
		{"newcomer within margin does not replace", []c{{0, -30, true}, {1, -30, true}, {2, -25, false}}, 0, []int{0, 1}},
		{"newcomer over margin replaces quietest", []c{{0, -30, true}, {1, -35, true}, {2, -28, false}}, 0, []int{0, 2}},
		{"free slot taken without margin", []c{{0, -30, true}, {1, -45, false}}, 0, []int{0, 1}},
		{"leaving speaker frees slot", []c{{0, -70, true}, {1, -30, true}, {2, -49, false}}, 0, []int{1, 2}},
		{"fewer slots: quietest speakers go", []c{{0, -30, true}, {1, -20, true}, {2, -40, true}}, 1, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pp := p
			if tt.max != 0 {
				pp.max = tt.max
			}
			cs := slices.Clone(tt.in)
			selectSpeakers(cs, pp, nil)
			var got []int
			for _, x := range cs {
				if x.speaking {
					got = append(got, x.id)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("speakers %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSpeakersDoNotFlap runs selection on smoothed levels of two talkers
// whose raw levels alternate every frame (syllables): the set must not
// change once settled.
func TestSpeakersDoNotFlap(t *testing.T) {
	p := selectParams{max: 1, enterDB: enterDB, leaveDB: leaveDB, marginDB: marginDB}
	cs := []candidate{{id: 0, level: silenceDB}, {id: 1, level: silenceDB}}
	changes, prev := 0, -1
	for i := range 200 {
		raws := []float64{-25, -30}
		if i%2 == 1 {
			raws = []float64{-30, -26}
		}
		if i%7 == 0 {
			raws[0] = silenceDB // a pause
		}
		for j := range cs {
			cs[j].level = smoothLevel(cs[j].level, raws[j], levelAttack, levelRelease)
		}
		selectSpeakers(cs, p, nil)
		cur := slices.IndexFunc(cs, func(c candidate) bool { return c.speaking })
		if i > 10 && cur != prev {
			changes++
		}
		prev = cur
	}
	if changes != 0 {
		t.Errorf("speaker changed %d times", changes)
	}
}

func TestSmoothLevel(t *testing.T) {
	tests := []struct {
		name           string
		prev, raw, out float64
	}{
		{"attack is fast", -100, -20, -60},
		{"release is slow", -20, -100, -24},
		{"steady", -30, -30, -30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := smoothLevel(tt.prev, tt.raw, levelAttack, levelRelease); got != tt.out {
				t.Errorf("smoothLevel(%v, %v) = %v, want %v", tt.prev, tt.raw, got, tt.out)
			}
		})
	}
}

func TestNextGain(t *testing.T) {
	const step = 0.05
	tests := []struct {
		name        string
		gain, level float64
		want        float64
	}{
		{"quiet talker: gain rises by one step", 0, -35, step},
		{"loud talker: gain falls by one step", 0, -10, -step},
		{"on target: holds", 0, targetDB, 0},
		{"near target: lands on it", 0, targetDB - step/2, step / 2},
		{"silence: holds", 3, -80, 3},
		{"bounded above", maxGainDB, -45, maxGainDB},
		{"bounded below", minGainDB, -1, minGainDB},
		{"over the bound: comes back", maxGainDB + 1, -45, maxGainDB + 1 - step},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextGain(tt.gain, tt.level, step); got-tt.want > 1e-9 || tt.want-got > 1e-9 {
				t.Errorf("nextGain(%v, %v) = %v, want %v", tt.gain, tt.level, got, tt.want)
			}
		})
	}
}
