package bench

import (
	"cmp"
	"slices"
)

// Spread summarises one quantity over a row's rounds: the median (the mean of the two middle values
// for an even count), the smallest and largest value, and how many rounds there were.
type Spread struct {
	Median, Min, Max float64
	N                int
}

// Ratio is the median over the row's rounds of agentlens wall-clock seconds over torch's, with its
// range. Each round's two runs are close in time, so the ratio of a round is less moved by a machine
// whose speed drifts than the ratio of two medians would be. ok is false when the reference was not
// run, or either engine failed in some round or took no time.
func (r Row) Ratio() (s Spread, ok bool) {
	return r.spread(func(m *Measurement) float64 { return m.Seconds })
}

// CPURatio is Ratio for CPU seconds (all threads).
func (r Row) CPURatio() (s Spread, ok bool) {
	return r.spread(func(m *Measurement) float64 { return m.CPUSeconds })
}

// rounds returns the row's rounds; a row built by hand has its two measurements as its one round.
func (r Row) rounds() []Round {
	if len(r.Rounds) > 0 {
		return r.Rounds
	}
	return []Round{{Agentlens: r.Agentlens, Torch: r.Torch}}
}

func (r Row) spread(value func(*Measurement) float64) (Spread, bool) {
	var ratios []float64
	for _, rd := range r.rounds() {
		a, t := &rd.Agentlens, rd.Torch
		if !a.OK() || t == nil || !t.OK() || value(a) <= 0 || value(t) <= 0 {
			return Spread{}, false
		}
		ratios = append(ratios, value(a)/value(t))
	}
	slices.Sort(ratios)
	n := len(ratios)
	med := ratios[n/2]
	if n%2 == 0 {
		med = (ratios[n/2-1] + ratios[n/2]) / 2
	}
	return Spread{Median: med, Min: ratios[0], Max: ratios[n-1], N: n}, true
}

// representatives returns each engine's measurement for the row: its first failed round, else its
// median round by wall-clock seconds (the lower middle one for an even count); torch is nil when the
// reference was not run.
func (r Row) representatives() (Measurement, *Measurement) {
	var as, ts []Measurement
	for _, rd := range r.rounds() {
		as = append(as, rd.Agentlens)
		if rd.Torch != nil {
			ts = append(ts, *rd.Torch)
		}
	}
	a := medianRound(as)
	if len(ts) == 0 {
		return a, nil
	}
	t := medianRound(ts)
	return a, &t
}

// medianRound returns the first measurement that failed, else the median by Seconds (the lower
// middle one for an even count, so that the measurement shown is one that was taken).
func medianRound(ms []Measurement) Measurement {
	for _, m := range ms {
		if !m.OK() {
			return m
		}
	}
	sorted := slices.Clone(ms)
	slices.SortStableFunc(sorted, func(x, y Measurement) int { return cmp.Compare(x.Seconds, y.Seconds) })
	return sorted[(len(sorted)-1)/2]
}
