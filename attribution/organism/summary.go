package organism

import (
	"slices"

	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/trace"
)

// Summary is how well one method finds the planted segments over the held-out episodes it ran on.
type Summary struct {
	Method   string  `json:"method"`
	Variant  string  `json:"variant"`
	Episodes int     `json:"episodes"`
	TopK     float64 `json:"top_k"`     // share of episodes whose K planted segments hold ranks 1..K by signed score
	MeanRank float64 `json:"mean_rank"` // mean rank of a planted segment (1 is best; K planted: at best (K+1)/2)
	// TopKMagnitude and MeanRankMagnitude are the same, ranking by magnitude (|score| for deletion,
	// patching and the matrix; the L2-norm magnitude for the gradient methods).
	TopKMagnitude     float64 `json:"top_k_magnitude"`
	MeanRankMagnitude float64 `json:"mean_rank_magnitude"`
	// Chain is the share of episodes where the matrix finds the planted chain (matrix only, else −1):
	// the K clues are the top K sources into the reasoning span, and the reasoning span is the top source
	// into the action (deleting it lowers log p(action) by more than deleting any other segment does,
	// and by more than ChainMinEffect).
	Chain      float64 `json:"chain"`
	MeanSecond float64 `json:"mean_seconds"` // wall time per episode
}

// Summarize aggregates rows (one per method, episode and segment) into one Summary per method and
// variant, in the order the methods first appear; the matrix's two row methods give one "matrix" summary
// whose TopK is matrix_to_reasoning's.
func Summarize(rows []data.OrganismScore) []Summary {
	type key struct{ method, variant, episode string }
	byEp := map[key][]data.OrganismScore{}
	var order []key
	for _, r := range rows {
		k := key{r.Method, r.Variant, r.EpisodeID}
		if _, ok := byEp[k]; !ok {
			order = append(order, k)
		}
		byEp[k] = append(byEp[k], r)
	}
	type acc struct {
		eps, top, topM, chain, planted int
		rankSum, rankSumM, sec         float64
	}
	sums := map[[2]string]*acc{}
	var keys [][2]string
	for _, k := range order {
		if k.method == MatrixToTarget {
			continue
		}
		name := k.method
		if name == MatrixToReasoning {
			name = MethodMatrix
		}
		sk := [2]string{name, k.variant}
		a := sums[sk]
		if a == nil {
			a = &acc{}
			sums[sk] = a
			keys = append(keys, sk)
		}
		rs := byEp[k]
		a.eps++
		a.sec += rs[0].Seconds
		if topK(rs, false) {
			a.top++
		}
		if topK(rs, true) {
			a.topM++
		}
		for _, r := range rs {
			if r.Planted {
				a.planted++
				a.rankSum += float64(r.Rank)
				a.rankSumM += float64(r.MagnitudeRank)
			}
		}
		if k.method == MatrixToReasoning {
			tt := byEp[key{MatrixToTarget, k.variant, k.episode}]
			a.sec += firstSeconds(tt)
			if topK(rs, false) && reasoningLeads(tt) {
				a.chain++
			}
		}
	}
	var out []Summary
	for _, sk := range keys {
		a := sums[sk]
		s := Summary{Method: sk[0], Variant: sk[1], Episodes: a.eps, TopK: float64(a.top) / float64(a.eps),
			MeanRank: a.rankSum / float64(max(1, a.planted)), TopKMagnitude: float64(a.topM) / float64(a.eps),
			MeanRankMagnitude: a.rankSumM / float64(max(1, a.planted)), Chain: -1, MeanSecond: a.sec / float64(a.eps)}
		if sk[0] == MethodMatrix {
			s.Chain = float64(a.chain) / float64(a.eps)
			s.MeanSecond /= 2 // both row methods carry the one matrix's time
		}
		out = append(out, s)
	}
	return out
}

func firstSeconds(rs []data.OrganismScore) float64 {
	if len(rs) == 0 {
		return 0
	}
	return rs[0].Seconds
}

// topK reports whether the planted segments of one episode's rows hold ranks 1..K (by magnitude when
// mag is set).
func topK(rs []data.OrganismScore, mag bool) bool {
	if len(rs) == 0 || rs[0].K == 0 {
		return false
	}
	for _, r := range rs {
		rk := r.Rank
		if mag {
			rk = r.MagnitudeRank
		}
		if r.Planted && rk > r.K {
			return false
		}
	}
	return true
}

// ChainMinEffect is the least effect on log p(action), in nats, that counts as an edge of the chain:
// a confident model's log p(action) is −1e−6 or so, and deletions that do not matter move it by float32
// noise of that order.
const ChainMinEffect = 1e-3

// reasoningLeads reports whether, in one episode's matrix_to_target rows, the reasoning segment has the
// largest effect, and at least ChainMinEffect.
func reasoningLeads(rs []data.OrganismScore) bool {
	i := slices.IndexFunc(rs, func(r data.OrganismScore) bool { return r.SegmentKind == string(trace.KindReasoning) })
	return i >= 0 && rs[i].Rank == 1 && rs[i].Score >= ChainMinEffect
}
