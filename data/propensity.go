package data

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Z95 is the standard normal quantile of a two-sided 95 % interval, Φ⁻¹(0.975).
const Z95 = 1.959963984540054

// Wilson returns the Wilson score interval of k successes in n trials at normal quantile z (Z95 for
// 95 %): (p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n). Unlike the normal interval it stays inside
// [0, 1] and is not empty at k = 0 or k = n (lo is then exactly 0, hi exactly 1). With n = 0 it is
// the uninformative [0, 1]. It panics when k is outside [0, n].
func Wilson(k, n int, z float64) (lo, hi float64) {
	if k < 0 || k > n {
		panic(fmt.Sprintf("data: Wilson(%d, %d): k outside [0, n]", k, n))
	}
	if n == 0 {
		return 0, 1
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	den := 1 + z2/nf
	center := (p + z2/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / den
	lo, hi = max(0, center-half), min(1, center+half)
	if k == 0 {
		lo = 0
	}
	if k == n {
		hi = 1
	}
	return lo, hi
}

// Groupings of Propensity: a name for a set of RolloutRow columns.
var groupings = map[string][]string{
	"condition": {"condition_id"},
	"cell":      {"family", "goal_type", "urgency", "framing"},
	"grid cell": {"family", "goal_type", "urgency", "framing"},
	"all":       {},
}

// groupColumns are the RolloutRow columns Propensity can group by.
var groupColumns = map[string]func(r *RolloutRow) string{
	"condition_id": func(r *RolloutRow) string { return r.ConditionID },
	"family":       func(r *RolloutRow) string { return r.Family },
	"goal_type":    func(r *RolloutRow) string { return r.GoalType },
	"urgency":      func(r *RolloutRow) string { return r.Urgency },
	"framing":      func(r *RolloutRow) string { return r.Framing },
	"style":        func(r *RolloutRow) string { return r.Style },
	"source":       func(r *RolloutRow) string { return r.Source },
	"model":        func(r *RolloutRow) string { return r.Model },
	"model_hash":   func(r *RolloutRow) string { return r.ModelHash },
	"verdict_source": func(r *RolloutRow) string {
		return r.VerdictSource
	},
}

// GroupColumns resolves a Propensity grouping: "condition" (condition_id), "cell" or "grid cell"
// (family, goal_type, urgency, framing), "all" (one group), or RolloutRow columns joined by ","
// ("family", "family,urgency", "model,family"). It fails on an unknown column, naming the known ones.
func GroupColumns(by string) ([]string, error) {
	if cols, ok := groupings[by]; ok {
		return cols, nil
	}
	cols := strings.Split(by, ",")
	for i, c := range cols {
		cols[i] = strings.TrimSpace(c)
		if _, ok := groupColumns[cols[i]]; !ok {
			known := make([]string, 0, len(groupColumns))
			for k := range groupColumns {
				known = append(known, k)
			}
			slices.Sort(known)
			return nil, fmt.Errorf("group by %q: column %q: want condition, cell, all, or columns of %s", by, cols[i], strings.Join(known, ", "))
		}
	}
	return cols, nil
}

// Propensity aggregates rollouts into one row per group (see GroupColumns; "condition" and "family"
// are the usual ones), rows sorted by key: n rollouts, how many were harmful and how many undecided,
// the harmful rate over all n (an undecided rollout counts as not harmful: report undecided beside the
// rate) and its 95 % Wilson interval. It panics on a grouping GroupColumns rejects: check user input
// with GroupColumns first.
func Propensity(rows []RolloutRow, by string) []PropensityRow {
	cols, err := GroupColumns(by)
	if err != nil {
		panic("data: Propensity: " + err.Error())
	}
	groups := map[string]*PropensityRow{}
	for i := range rows {
		parts := make([]string, len(cols))
		for j, c := range cols {
			parts[j] = groupColumns[c](&rows[i])
		}
		key := strings.Join(parts, "/")
		g, ok := groups[key]
		if !ok {
			g = &PropensityRow{SchemaVersion: SchemaVersion, GroupBy: by, Key: key}
			groups[key] = g
		}
		g.N++
		if rows[i].Harmful {
			g.Harmful++
		}
		if rows[i].Reason != "" {
			g.Undecided++
		}
	}
	out := make([]PropensityRow, 0, len(groups))
	for _, g := range groups {
		g.Rate = float64(g.Harmful) / float64(g.N)
		g.WilsonLo, g.WilsonHi = Wilson(int(g.Harmful), int(g.N), Z95)
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b PropensityRow) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// SetVerdict fills the verdict columns of a rollout row from v.
func (r *RolloutRow) SetVerdict(v Verdict) {
	r.Harmful, r.Action, r.VerdictSource, r.Evidence, r.Reason = v.Harmful, v.Action, v.Source, v.Evidence, v.Reason
}

// NewRolloutRow starts the row of a rollout of c: its condition columns; the caller fills the sampling
// settings, the episode's sizes and (SetVerdict) the verdict.
func NewRolloutRow(c Condition, episodeID string, sample int) RolloutRow {
	return RolloutRow{SchemaVersion: SchemaVersion, EpisodeID: episodeID, ConditionID: c.ID, Family: c.Family, GoalType: c.GoalType,
		Urgency: c.Urgency, Framing: c.Framing, Style: c.Style, Source: c.Source, Sample: int32(sample)}
}
