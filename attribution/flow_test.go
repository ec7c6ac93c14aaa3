package attribution_test

import (
	"errors"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/modeltest"
)

// familyModel loads a tiny random model of a family (the fixture's tokenizer and template fit every
// family's tiny model).
func familyModel(t *testing.T, fam string) *model.Model {
	t.Helper()
	dir, err := modeltest.Write(filepath.Join(t.TempDir(), fam), fam, 7)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := mustLoadModel(t, dir)
	return m
}

// TestAttentionFlowBruteForce computes everything AttentionFlow reports from the model's own captured
// attention patterns (blocks.L.attn.hook_pattern, [head, query, key] in full, float64 arithmetic) and
// compares: the target query's mass on every key column per layer and head, the head-mean segment ×
// segment masses per layer, and attention rollout as the dense product Â_{L−1}·…·Â_0 with Â_l = ½(mean_h
// A_l + I), its target row over tokens and its segment rows aggregated to key columns. On the tiny
// llama and on the tiny Gemma-3, whose layer 0 is a 4-key sliding window. Tolerance 1e-5 absolute: the
// captured patterns and the kernel's agree to ~1e-6 per entry (model's TestAttentionMatchesPattern),
// summed over ≤ 200 keys and carried through two layers. Every query row adds up to 1 over the key
// columns (each pattern row is a distribution, and each Â_l is row-stochastic, so their product is),
// which is checked without renormalising the brute-force product.
func TestAttentionFlowBruteForce(t *testing.T) {
	f := load(t)
	r, tg := inbox(t, f)
	for _, fam := range []string{"llama", "gemma3"} {
		t.Run(fam, func(t *testing.T) {
			m := familyModel(t, fam)
			fl, err := attribution.AttentionFlow(m, r, tg.Token, attribution.FlowOptions{})
			if err != nil {
				t.Fatal(err)
			}
			T, L, H := tg.Token, m.Dims().NLayers, m.Dims().NHeads
			var names []hook.Name
			for l := range L {
				names = append(names, hook.PatternAt(l))
			}
			res, err := m.RunWithCache(r.IDs[:T], names...)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(fl.Value-attribution.MetricValue(res.Logits.Row(0), fl.Metric)) > 1e-5 {
				t.Errorf("Value %v, log p from a run %v", fl.Value, attribution.MetricValue(res.Logits.Row(0), fl.Metric))
			}
			// The key column of each position, from the definition.
			keyIdx := map[string]int{}
			for k, n := range fl.Keys {
				keyIdx[n.ID] = k
			}
			col := make([]int, T)
			for p := range col {
				c, ok := keyIdx[r.Segments[r.TokenSegment[p]].ID]
				if !ok {
					c = keyIdx[attribution.KeyOther]
				}
				if p == 0 {
					c = keyIdx[attribution.KeySink]
				}
				col[p] = c
			}
			nq := len(fl.Queries)
			if q := fl.Queries[nq-1]; !q.Target || q.Tokens.Start != tg.Token || len(fl.Keys) != nq+1 {
				t.Fatalf("queries end with %+v; %d keys for %d queries", q, len(fl.Keys), nq)
			}
			// queryRow is the weight of each position in query row q.
			queryRow := func(q int) []float64 {
				w := make([]float64, T)
				if fl.Queries[q].Target {
					w[T-1] = 1
					return w
				}
				sp := fl.Queries[q].Tokens
				for p := sp.Start; p < sp.End; p++ {
					w[p] = 1 / float64(sp.Len())
				}
				return w
			}
			pat := func(l, h, i, j int) float64 { return float64(res.Cache[hook.PatternAt(l)].Data[(h*T+i)*T+j]) }
			worst := 0.0
			check := func(what string, got, want float64) {
				if d := math.Abs(got - want); !(d <= 1e-5) {
					t.Errorf("%s = %.6g, brute force %.6g", what, got, want)
				}
				worst = math.Max(worst, math.Abs(got-want))
			}
			rollout := make([][]float64, T) // Â_{L−1}·…·Â_0, built from the bottom
			for l := range L {
				abar := make([][]float64, T)
				for i := range T {
					abar[i] = make([]float64, T)
					for j := range T {
						for h := range H {
							abar[i][j] += pat(l, h, i, j) / float64(H)
						}
						abar[i][j] *= 0.5
					}
					abar[i][i] += 0.5
				}
				if l == 0 {
					rollout = abar
				} else {
					next := make([][]float64, T)
					for i := range T {
						next[i] = make([]float64, T)
						for k := range T {
							if abar[i][k] == 0 {
								continue
							}
							for j := range T {
								next[i][j] += abar[i][k] * rollout[k][j]
							}
						}
					}
					rollout = next
				}
				for h := range H {
					want := make([]float64, len(fl.Keys))
					for j := range T {
						want[col[j]] += pat(l, h, T-1, j)
					}
					for k := range want {
						check("Target["+fl.Keys[k].ID+"]", fl.Target[l][h][k], want[k])
					}
				}
				for q := range nq {
					w := queryRow(q)
					want := make([]float64, len(fl.Keys))
					for i := range T {
						for j := range T {
							for h := range H {
								want[col[j]] += w[i] * pat(l, h, i, j) / float64(H)
							}
						}
					}
					sum := 0.0
					for k := range want {
						check("Segment", fl.Segment[l][q][k], want[k])
						sum += fl.Segment[l][q][k]
					}
					check("Σ Segment row", sum, 1)
				}
			}
			for j := range T {
				check("RolloutTokens", fl.RolloutTokens[j], rollout[T-1][j])
			}
			for q := range nq {
				w := queryRow(q)
				want := make([]float64, len(fl.Keys))
				unnorm := 0.0
				for i := range T {
					for j := range T {
						want[col[j]] += w[i] * rollout[i][j]
						unnorm += w[i] * rollout[i][j]
					}
				}
				check("Σ brute-force rollout row", unnorm, 1)
				for k := range want {
					check("Rollout", fl.Rollout[q][k], want[k])
				}
			}
			t.Logf("%d queries × %d keys, %d layers: max |Δ| %.2g", nq, len(fl.Keys), L, worst)

			// The token view: BySegment of the rollout Result gives the content columns of the target row.
			res2, err := fl.Result(attribution.MethodRollout)
			if err != nil {
				t.Fatal(err)
			}
			segs, err := attribution.BySegment(r, res2)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range segs {
				if k, ok := keyIdx[s.ID]; ok && fl.Queries[0].Tokens.Start > 0 {
					check("BySegment(rollout)["+s.ID+"]", s.Score, fl.Rollout[nq-1][k])
				}
			}
		})
	}
}

// TestAttentionFlowPartialSegment: with a target inside the tool call (its body), the tool call's
// tokens before the target are their own query row and key column, so no content before the target
// falls into "other"; the top key is a content column.
func TestAttentionFlowPartialSegment(t *testing.T) {
	f := load(t)
	r, tg := inbox(t, f)
	target := tg.Token + 5 // inside the tool call
	fl, err := attribution.AttentionFlow(f.m, r, target, attribution.FlowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(fl.Queries, func(n attribution.MatrixNode) bool { return n.ID == tg.Segment })
	if i < 0 || fl.Queries[i].Tokens.End != target || fl.Queries[i].Tokens.Start != tg.Token {
		t.Fatalf("queries %+v lack %s cut at the target %d", fl.Queries, tg.Segment, target)
	}
	if k := fl.TopKey(); k < 0 || k >= len(fl.Keys)-2 {
		t.Errorf("TopKey = %d of %d keys", k, len(fl.Keys))
	}
	if _, err := fl.Result("saliency"); !errors.Is(err, attribution.ErrBadInput) {
		t.Errorf("Result(saliency): err = %v", err)
	}
	for _, bad := range []int{0, len(r.IDs)} {
		if _, err := attribution.AttentionFlow(f.m, r, bad, attribution.FlowOptions{}); !errors.Is(err, attribution.ErrBadInput) {
			t.Errorf("target %d: err = %v", bad, err)
		}
	}
}

// TestFlowRows: attention.parquet's rows hold, for every (method, layer, head, query row), masses
// that add up to 1 over the key columns (to 1e-5: float32 patterns summed over ≤ 200 keys); the
// target query's rows cover every layer × head and the head mean; the target query's span is the
// token before the target; and there is one layer-mean and one rollout row set per query.
func TestFlowRows(t *testing.T) {
	f := load(t)
	r, tg := inbox(t, f)
	fl, err := attribution.AttentionFlow(f.m, r, tg.Token, attribution.FlowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rows := attribution.FlowRows(r, fl, []string{attribution.MethodAttention, attribution.MethodRollout},
		attribution.RowInfo{Model: "tiny", ModelHash: "sha256:x", Target: tg})
	L, H, nq, nk := fl.Layers, fl.Heads, len(fl.Queries), len(fl.Keys)
	if want := (L*H + L*nq + nq + nq) * nk; len(rows) != want {
		t.Errorf("%d rows, want %d", len(rows), want)
	}
	type cell struct {
		method      string
		layer, head int32
		query       string
	}
	sums := map[cell]float64{}
	for _, e := range rows {
		sums[cell{e.Method, e.Layer, e.Head, e.QueryID}] += e.Mass
		if e.QueryID == "target" && (e.QueryStart != int32(tg.Token-1) || e.QueryEnd != int32(tg.Token) || e.TargetToken != int32(tg.Token)) {
			t.Fatalf("target row %+v", e)
		}
		if e.ModelHash != "sha256:x" || e.EpisodeID != "tiny-inbox" || (e.KeyID == attribution.KeyOther) != (e.KeyStart == -1) {
			t.Fatalf("row %+v", e)
		}
	}
	targets := 0
	for c, s := range sums {
		if math.Abs(s-1) > 1e-5 {
			t.Errorf("%+v: masses add up to %v", c, s)
		}
		if c.query == "target" && c.method == attribution.MethodAttention && c.layer >= 0 {
			targets++
		}
	}
	if targets != L*(H+1) {
		t.Errorf("%d target (layer, head) cells, want %d", targets, L*(H+1))
	}
}
