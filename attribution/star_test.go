package attribution_test

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/modeltest"
	"github.com/agentlens/agentlens/model/safetensors"
)

// sharpModel writes the tiny llama of the fixture with its query and key projections multiplied by
// gain (attention logits by gain²: a sharper, saturating softmax) and loads it.
func sharpModel(t *testing.T, gain float32) *model.Model {
	t.Helper()
	dir, err := modeltest.Write(filepath.Join(t.TempDir(), "sharp"), "llama", 7)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := modeltest.Tensors("llama", 7)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range ts {
		if strings.Contains(x.Name, "q_proj") || strings.Contains(x.Name, "k_proj") {
			for j := range ts[i].Data {
				ts[i].Data[j] *= gain
			}
		}
	}
	if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	m, _ := mustLoadModel(t, dir)
	return m
}

// TestAttributionPatchStar checks AtP* against AtP on the same grid (residual, query and key sites, the
// last positions, heads): its AtP is AttributionPatch's, cell for cell; AtP* equals AtP at every cell
// that is not a query or key patch (no GradDrop); it moves some query or key cell; at the last layer,
// where the attention step is exact and only the final MLP and unembedding are linearised, its query
// and key cells are within 0.1 of patching's restored share (measured within 0.062; AtP is off by up
// to 0.35 there); and patching the clean episode into itself estimates 0 for every cell (to 1e-5, the
// clean and gradient runs' keys differ in rounding).
func TestAttributionPatchStar(t *testing.T) {
	f := load(t)
	clean, deleted, _ := patchEpisodes(t, f)
	al, err := attribution.Align(clean, deleted, target(t, clean), target(t, deleted))
	if err != nil {
		t.Fatal(err)
	}
	opts := attribution.PatchOptions{Sites: []hook.Site{hook.ResidPre, hook.K, hook.Q}, LastPositions: 3, Heads: true}
	atp, star, err := attribution.AttributionPatchStar(f.m, al, opts)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := attribution.AttributionPatch(f.m, al, opts)
	if err != nil {
		t.Fatal(err)
	}
	real, err := attribution.Patch(f.m, al, opts)
	if err != nil {
		t.Fatal(err)
	}
	if atp.Method != "atp" || star.Method != "atp*" || len(star.Cells) != len(plain.Cells) || len(real.Cells) != len(plain.Cells) {
		t.Fatalf("methods %q %q, %d AtP* cells, %d AtP, %d patching", atp.Method, star.Method, len(star.Cells), len(plain.Cells), len(real.Cells))
	}
	moved, worstStar, worstAtP := 0, 0.0, 0.0
	for i, c := range plain.Cells {
		a, s, r := atp.Cells[i], star.Cells[i], real.Cells[i]
		if a != c {
			t.Errorf("cell %d: AtP from AttributionPatchStar %+v, AttributionPatch %+v", i, a, c)
		}
		if s.Site != c.Site || s.Head != c.Head || s.Segment != c.Segment || s.Position != c.Position || s.Site != r.Site || s.Segment != r.Segment {
			t.Fatalf("cell %d: AtP* %+v, AtP %+v, patching %+v", i, s, c, r)
		}
		qk := c.Site.Site == hook.Q || c.Site.Site == hook.K
		if !qk && s.Value != c.Value {
			t.Errorf("%s head %d segment %d: AtP* %v, AtP %v: they differ only at queries and keys", c.Site, c.Head, c.Segment, s.Value, c.Value)
		}
		if qk && math.Abs(s.Value-c.Value) > 1e-4 {
			moved++
		}
		if qk && c.Site.Layer == modeltest.NLayers-1 {
			worstStar, worstAtP = math.Max(worstStar, math.Abs(s.Restored-r.Restored)), math.Max(worstAtP, math.Abs(c.Restored-r.Restored))
		}
		if qk && c.Site.Layer == modeltest.NLayers-1 && math.Abs(s.Restored-r.Restored) > 0.1 {
			t.Errorf("%s segment %d position %d: AtP* restores %.3f, patching %.3f (AtP %.3f)", c.Site, c.Segment, c.Position, s.Restored, r.Restored, c.Restored)
		}
	}
	t.Logf("last layer's query and key cells: largest |restored − patching's|: AtP* %.3f, AtP %.3f", worstStar, worstAtP)
	if moved == 0 {
		t.Error("AtP* equals AtP at every query and key cell")
	}
	self, err := attribution.Align(clean, clean, target(t, clean), target(t, clean))
	if err != nil {
		t.Fatal(err)
	}
	_, id, err := attribution.AttributionPatchStar(f.m, self, attribution.PatchOptions{Sites: []hook.Site{hook.K, hook.Q}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range id.Cells {
		if math.Abs(c.Value-id.Corrupt) > 1e-5 {
			t.Errorf("self-patch %s segment %d: AtP* %v, want the unpatched %v", c.Site, c.Segment, c.Value, id.Corrupt)
		}
	}
}

// TestAttributionPatchStarSaturation plants attention saturation: the tiny llama with its query and
// key projections doubled (attention logits ×4, a sharp softmax), and the first email deleted. Over the
// last layer's query and key cells, AtP misses large cells (measured: the keys of the reply email and of
// the action's first tokens, where patching restores 1.04 and 0.49 of the gap, AtP gives −0.16 and
// −0.13; Spearman 0.22 with patching over these 14 cells), and AtP* does not (0.76 and 0.45; no false
// negative; Spearman 0.995). Checked: AtP has a false negative and AtP* none (ComparePatch: under a quarter of a cell of at
// least a quarter of the largest share), AtP*'s Spearman with patching is at least 0.9 and above AtP's,
// and each key cell AtP misses is a softmax pushed far out of its linear range: in some head, the
// attention mass of the target's row on the patched keys changes by a factor of 4 or more and by at
// least 0.3 under the real patch (measured 0.40 → 0.04 and 0.07 → 0.75).
func TestAttributionPatchStarSaturation(t *testing.T) {
	f := load(t)
	m := sharpModel(t, 2)
	clean, deleted, _ := patchEpisodes(t, f)
	al, err := attribution.Align(clean, deleted, target(t, clean), target(t, deleted))
	if err != nil {
		t.Fatal(err)
	}
	last := modeltest.NLayers - 1
	opts := attribution.PatchOptions{Sites: []hook.Site{hook.K, hook.Q}, Layers: []int{last}}
	atp, star, err := attribution.AttributionPatchStar(m, al, opts)
	if err != nil {
		t.Fatal(err)
	}
	real, err := attribution.Patch(m, al, opts)
	if err != nil {
		t.Fatal(err)
	}
	ca, cs := attribution.ComparePatch(atp, real, nil), attribution.ComparePatch(star, real, nil)
	t.Logf("AtP: Spearman %.3f, %d of %d large cells missed; AtP*: Spearman %.3f, %d missed",
		ca.Spearman, len(ca.FalseNegatives), ca.Large, cs.Spearman, len(cs.FalseNegatives))
	for i, c := range real.Cells {
		t.Logf("  %s segment %d: patching %.3f, AtP %.3f, AtP* %.3f", c.Site, c.Segment, c.Restored, atp.Cells[i].Restored, star.Cells[i].Restored)
	}
	if len(ca.FalseNegatives) == 0 || len(cs.FalseNegatives) != 0 || ca.Large != cs.Large || cs.Large == 0 {
		t.Errorf("false negatives: AtP %d, AtP* %d of %d large cells; want AtP to miss some and AtP* none", len(ca.FalseNegatives), len(cs.FalseNegatives), cs.Large)
	}
	if cs.Spearman < 0.9 || cs.Spearman <= ca.Spearman {
		t.Errorf("Spearman with patching: AtP* %.3f, AtP %.3f; want AtP* ≥ 0.9 and above AtP", cs.Spearman, ca.Spearman)
	}
	// Why AtP misses them: the target row's attention on the patched keys, before and after the patch.
	T := al.CorruptTarget
	pat := hook.PatternAt(last)
	base, err := m.Run(deleted.IDs[:T], model.RunOptions{Capture: []hook.Name{pat}})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := m.Run(clean.IDs[:al.CleanTarget], model.RunOptions{Capture: []hook.Name{hook.At(hook.K, last)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ca.FalseNegatives {
		if c.Site.Site != hook.K {
			continue
		}
		sg := al.Segments[c.Segment]
		ck := cr.Cache[c.Site]
		row := ck.Numel() / ck.Shape[1]
		vals := model.NewTensor(1, T, ck.Shape[2], ck.Shape[3])
		var pos []int
		for k := range sg.Clean.Len() {
			copy(vals.Data[(sg.Corrupt.Start+k)*row:], ck.Data[(sg.Clean.Start+k)*row:(sg.Clean.Start+k+1)*row])
			pos = append(pos, sg.Corrupt.Start+k)
		}
		pr, err := m.Run(deleted.IDs[:T], model.RunOptions{Capture: []hook.Name{pat},
			Interventions: []model.Intervention{{Hook: c.Site, Kind: model.Replace, Positions: pos, Values: vals}}})
		if err != nil {
			t.Fatal(err)
		}
		far := false
		for h := range modeltest.NHeads {
			mass := func(p *model.Tensor) float64 {
				s := 0.0
				for _, q := range pos {
					s += float64(p.Data[(h*T+T-1)*T+q])
				}
				return s
			}
			a, b := mass(base.Cache[pat]), mass(pr.Cache[pat])
			t.Logf("  %s segment %d head %d: attention mass on the patched keys %.3f → %.3f", c.Site, c.Segment, h, a, b)
			far = far || math.Abs(b-a) >= 0.3 && (b >= 4*a || a >= 4*b)
		}
		if !far {
			t.Errorf("%s segment %d: AtP misses it, but no head's attention moves far out of the softmax's linear range", c.Site, c.Segment)
		}
	}
}
