package model_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/agentlens/agentlens/model"
	_ "github.com/agentlens/agentlens/model/all"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/modeltest"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
)

var goBackend = sync.OnceValues(func() (backends.Backend, error) { return simplego.New("ops_sequential") })

// tiny loads a tiny random model of the family written by modeltest.
func tiny(t testing.TB, family string, opts model.Options) *model.Model {
	t.Helper()
	b, err := goBackend()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := modeltest.Write(t.TempDir(), family, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := model.Load(dir, model.LoadOptions{Backend: b, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func tokens(n int, seed uint64) []int {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]int, n)
	for i := range out {
		out[i] = r.IntN(modeltest.DVocab)
	}
	return out
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func allSites(nLayers int) []hook.Name {
	names := []hook.Name{hook.HookEmbed(), hook.LnFinalNormalized()}
	for l := 0; l < nLayers; l++ {
		for _, s := range hook.BlockSites {
			names = append(names, hook.At(s, l))
		}
	}
	return names
}

// TestHooksFireOncePerBlock captures every site and checks each appears once with its documented shape.
func TestHooksFireOncePerBlock(t *testing.T) {
	for _, fam := range modeltest.Families {
		t.Run(fam, func(t *testing.T) {
			m := tiny(t, fam, model.Options{})
			const T = 11
			res, err := m.RunWithCache(tokens(T, 1), allSites(modeltest.NLayers)...)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(res.Cache), 2+len(hook.BlockSites)*modeltest.NLayers; got != want {
				t.Fatalf("cache has %d entries, want %d", got, want)
			}
			d := m.Dims()
			want := map[hook.Site][]int{
				hook.ResidPre: {1, T, d.DModel}, hook.Q: {1, T, d.NHeads, d.DHead}, hook.K: {1, T, d.NKVHeads, d.DHead},
				hook.Pattern: {1, d.NHeads, T, T}, hook.Z: {1, T, d.NHeads, d.DHead}, hook.MLPPost: {1, T, d.DMLP},
			}
			for site, shape := range want {
				got := res.Cache[hook.At(site, 1)]
				if got == nil || !slices.Equal(got.Shape, shape) {
					t.Errorf("%s shape = %v, want %v", hook.At(site, 1), got.Shape, shape)
				}
			}
			// Every attention pattern row sums to one and is causal.
			p := res.Cache[hook.PatternAt(0)]
			for h := 0; h < d.NHeads; h++ {
				for q := 0; q < T; q++ {
					row := p.Row(0, h, q)
					sum := 0.0
					for k, v := range row {
						sum += float64(v)
						if k > q && v != 0 {
							t.Fatalf("pattern[%d,%d,%d] = %g, want 0 (causal)", h, q, k, v)
						}
					}
					if math.Abs(sum-1) > 1e-5 {
						t.Fatalf("pattern row (%d,%d) sums to %g", h, q, sum)
					}
				}
			}
		})
	}
}

// TestResidualDecomposition checks resid_post of the last block equals embed + Σ attn_out + Σ mlp_out
// (float32 sums of ~10 terms of magnitude ~1: 1e-5 absolute).
func TestResidualDecomposition(t *testing.T) {
	for _, fam := range modeltest.Families {
		t.Run(fam, func(t *testing.T) {
			m := tiny(t, fam, model.Options{})
			res, err := m.RunWithCache(tokens(9, 2), allSites(modeltest.NLayers)...)
			if err != nil {
				t.Fatal(err)
			}
			sum := slices.Clone(res.Cache[hook.HookEmbed()].Data)
			for l := 0; l < modeltest.NLayers; l++ {
				for _, n := range []hook.Name{hook.AttnOutAt(l), hook.MLPOutAt(l)} {
					for i, v := range res.Cache[n].Data {
						sum[i] += v
					}
				}
			}
			if d := maxAbsDiff(sum, res.Cache[hook.ResidPostAt(modeltest.NLayers-1)].Data); d > 1e-5 {
				t.Errorf("|embed + Σ outputs − resid_post| = %g, want ≤ 1e-5", d)
			}
		})
	}
}

// TestPatchOwnCacheIsExact: patching every site with the run's own activations reproduces logits
// bit for bit (x·0 + x·1 is exact in IEEE arithmetic).
func TestPatchOwnCacheIsExact(t *testing.T) {
	for _, fam := range modeltest.Families {
		t.Run(fam, func(t *testing.T) {
			m := tiny(t, fam, model.Options{GraphAttention: true}) // the base run captures patterns: graph attention in every run
			toks := tokens(13, 3)
			names := allSites(modeltest.NLayers)
			base, err := m.Run(toks, model.RunOptions{Capture: names, LogitPositions: model.AllPositions(len(toks))})
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				if n.Site == hook.LnFinal {
					continue
				}
				iv, err := model.PatchFrom(base.Cache, n, nil)
				if err != nil {
					t.Fatal(err)
				}
				got, err := m.Run(toks, model.RunOptions{Interventions: []model.Intervention{iv}, LogitPositions: model.AllPositions(len(toks))})
				if err != nil {
					t.Fatalf("patch %s: %v", n, err)
				}
				if !slices.Equal(got.Logits.Data, base.Logits.Data) {
					t.Errorf("patch %s with own cache: logits differ by %g, want bit-exact", n, maxAbsDiff(got.Logits.Data, base.Logits.Data))
				}
			}
		})
	}
}

// TestAblationAndSteering: zero-ablating attention output changes logits; steering adds the vector.
func TestAblationAndSteering(t *testing.T) {
	m := tiny(t, "llama", model.Options{})
	toks := tokens(10, 4)
	base, err := m.Run(toks, model.RunOptions{Capture: []hook.Name{hook.ResidPostAt(0)}})
	if err != nil {
		t.Fatal(err)
	}
	abl, err := m.Run(toks, model.RunOptions{Interventions: []model.Intervention{{Hook: hook.AttnOutAt(1), Kind: model.Zero}}})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(abl.Logits.Data, base.Logits.Data); d < 1e-3 {
		t.Errorf("zero-ablating blocks.1.hook_attn_out changed logits by %g, want a visible change", d)
	}
	vec := model.NewTensor(modeltest.DModel)
	for i := range vec.Data {
		vec.Data[i] = float32(i%5) - 2
	}
	steer, err := m.Run(toks, model.RunOptions{
		Capture:       []hook.Name{hook.ResidPostAt(0)},
		Interventions: []model.Intervention{{Hook: hook.ResidPostAt(0), Kind: model.Add, Positions: []int{2, 7}, Values: vec}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b0, s0 := base.Cache[hook.ResidPostAt(0)], steer.Cache[hook.ResidPostAt(0)]
	for pos := 0; pos < len(toks); pos++ {
		for j := 0; j < modeltest.DModel; j++ {
			want := b0.Row(0, pos)[j]
			if pos == 2 || pos == 7 {
				want += vec.Data[j]
			}
			if got := s0.Row(0, pos)[j]; got != want {
				t.Fatalf("steered resid_post[%d][%d] = %g, want %g", pos, j, got, want)
			}
		}
	}
	// Projecting out a direction leaves no component along it at the chosen positions (the graph path,
	// at resid_post, and the host path, at hook_embed) and changes nothing elsewhere.
	for _, site := range []hook.Name{hook.ResidPostAt(0), hook.HookEmbed()} {
		proj, err := m.Run(toks, model.RunOptions{
			Capture:       []hook.Name{site},
			Interventions: []model.Intervention{{Hook: site, Kind: model.Project, Positions: []int{3, 8}, Values: vec}},
		})
		if err != nil {
			t.Fatal(err)
		}
		orig, err := m.Run(toks, model.RunOptions{Capture: []hook.Name{site}})
		if err != nil {
			t.Fatal(err)
		}
		var vv float64
		for _, v := range vec.Data {
			vv += float64(v * v)
		}
		for pos := 0; pos < len(toks); pos++ {
			got, was := proj.Cache[site].Row(0, pos), orig.Cache[site].Row(0, pos)
			var dot, dotWas, norm float64
			for j, v := range vec.Data {
				dot += float64(got[j] * v)
				dotWas += float64(was[j] * v)
				norm += float64(was[j] * was[j])
			}
			if pos == 3 || pos == 8 {
				// float32 rounding of the subtraction: 1e-5 of |x|·|v|.
				if math.Abs(dot) > 1e-5*math.Sqrt(norm*vv) {
					t.Errorf("%s projected at %d: component along v = %g, want 0 (was %g)", site, pos, dot, dotWas)
				}
				for j := range got {
					if want := was[j] - float32(dotWas/vv)*vec.Data[j]; math.Abs(float64(got[j]-want)) > 1e-5*(1+math.Abs(float64(want))) {
						t.Fatalf("%s projected at %d: [%d] = %g, want %g", site, pos, j, got[j], want)
					}
				}
			} else {
				if d := maxAbsDiff(got, was); d != 0 {
					t.Errorf("%s at untouched position %d changed by %g", site, pos, d)
				}
			}
		}
	}
	if _, err := m.Run(toks, model.RunOptions{Interventions: []model.Intervention{{Hook: hook.At(hook.Q, 0), Kind: model.Project,
		Values: model.NewTensor(4)}}}); !errors.Is(err, model.ErrBadInput) {
		t.Errorf("projection on hook_q (two-axis rows): err = %v, want ErrBadInput", err)
	}
	if _, err := m.Run(toks, model.RunOptions{Interventions: []model.Intervention{{Hook: hook.ResidPostAt(0), Kind: model.Project,
		Values: model.NewTensor(modeltest.DModel)}}}); !errors.Is(err, model.ErrBadInput) {
		t.Errorf("projection on a zero direction: err = %v, want ErrBadInput", err)
	}
	// Mean ablation over all positions makes every position's value equal.
	mean, err := m.Run(toks, model.RunOptions{
		Capture:       []hook.Name{hook.MLPOutAt(0)},
		Interventions: []model.Intervention{{Hook: hook.MLPOutAt(0), Kind: model.Mean}},
	})
	if err != nil {
		t.Fatal(err)
	}
	mo := mean.Cache[hook.MLPOutAt(0)]
	if d := maxAbsDiff(mo.Row(0, 0), mo.Row(0, 9)); d > 1e-6 {
		t.Errorf("mean-ablated rows differ by %g", d)
	}
}

// TestBucketInvariance: padding to a different bucket does not change logits beyond float32 reordering
// noise (1e-5).
func TestBucketInvariance(t *testing.T) {
	for _, fam := range modeltest.Families {
		t.Run(fam, func(t *testing.T) {
			toks := tokens(21, 5)
			a, err := tiny(t, fam, model.Options{Bucket: 64}).Run(toks, model.RunOptions{LogitPositions: model.AllPositions(21)})
			if err != nil {
				t.Fatal(err)
			}
			b, err := tiny(t, fam, model.Options{Bucket: 8}).Run(toks, model.RunOptions{LogitPositions: model.AllPositions(21)})
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(a.Logits.Data, b.Logits.Data); d > 1e-5 {
				t.Errorf("bucket 64 vs 8: max |Δlogit| = %g", d)
			}
		})
	}
}

// TestGradientFiniteDifferences compares directional derivatives of log p(target) with central
// differences taken through Replace interventions. The random tiny models are sharply nonlinear (at a
// step of 1e-2 plain central differences are off by 1%) while float32 rounding (~1e-6 on the metric)
// swamps small steps, so the step is 2% of the site's RMS and the estimate is Richardson-extrapolated
// from h and h/2 (truncation O(h⁴)). Measured with the sgemm DotGeneral: worst relative error 2.7e-4 at
// 2%; at 0.5% rounding noise reaches 1.6e-3 and at 4% truncation 1.2e-3, so 2% sits in the valley.
// Relative error ≤ 1e-3 of max(|fd|, 1).
func TestGradientFiniteDifferences(t *testing.T) {
	for _, fam := range modeltest.Families {
		t.Run(fam, func(t *testing.T) {
			m := tiny(t, fam, model.Options{})
			toks := tokens(12, 6)
			metric := model.Metric{Kind: model.LogProb, Position: 10, Target: toks[11]}
			sites := []hook.Name{hook.HookEmbed(), hook.At(hook.ResidMid, 0), hook.At(hook.MLPPost, 1), hook.At(hook.Z, 1), hook.At(hook.Pattern, 0), hook.At(hook.RotK, 1)}
			g, err := m.Gradient(toks, metric, model.GradOptions{Wrt: sites})
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(9, 9))
			for _, site := range sites {
				act, grad := g.Cache[site], g.Grads[site]
				if act == nil || grad == nil {
					t.Fatalf("%s: missing activation or gradient", site)
				}
				dir := make([]float32, len(act.Data))
				dot := 0.0
				for i := range dir {
					dir[i] = float32(r.NormFloat64())
					dot += float64(dir[i]) * float64(grad.Data[i])
				}
				eval := func(h float32) float64 {
					v := &model.Tensor{Shape: act.Shape, Data: slices.Clone(act.Data)}
					for i := range v.Data {
						v.Data[i] += h * dir[i]
					}
					res, err := m.Run(toks, model.RunOptions{LogitPositions: []int{metric.Position},
						Interventions: []model.Intervention{{Hook: site, Kind: model.Replace, Values: v}}})
					if err != nil {
						t.Fatal(err)
					}
					return logSoftmaxAt(res.Logits.Data, metric.Target)
				}
				rms := 0.0
				for _, v := range act.Data {
					rms += float64(v) * float64(v)
				}
				h := float32(0.02 * math.Sqrt(rms/float64(len(act.Data))))
				d1 := (eval(h) - eval(-h)) / (2 * float64(h))
				d2 := (eval(h/2) - eval(-h/2)) / float64(h)
				fd := (4*d2 - d1) / 3
				rel := math.Abs(fd-dot) / math.Max(math.Abs(fd), 1)
				t.Logf("%s: rel err %.2g", site, rel)
				if rel > 1e-3 {
					t.Errorf("%s: gradient·u = %.6g, finite difference %.6g (rel err %.2g)", site, dot, fd, rel)
				}
			}
			// The metric value matches the forward pass.
			res, err := m.Run(toks, model.RunOptions{LogitPositions: []int{10}})
			if err != nil {
				t.Fatal(err)
			}
			if lp := logSoftmaxAt(res.Logits.Data, metric.Target); math.Abs(lp-g.Value) > 1e-5 {
				t.Errorf("gradient pass value %g, forward log-prob %g", g.Value, lp)
			}
		})
	}
}

func logSoftmaxAt(logits []float32, target int) float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	s := 0.0
	for _, v := range logits {
		s += math.Exp(float64(v) - mx)
	}
	return float64(logits[target]) - mx - math.Log(s)
}
