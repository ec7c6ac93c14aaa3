package attribution_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/trace"
)

// patchEpisodes renders a clean inbox and corrupted variants on the tiny model: with the first email
// deleted, and with the second email rewritten to text of the same token length.
func patchEpisodes(t *testing.T, f *fixture) (clean, deleted, rewritten *trace.Rendered) {
	t.Helper()
	emails := []string{
		"<email>\nFrom: a@x.com\nTo: agent@x.com\nSubject: plan\nBody: We replace the agent at five.\n</email>\n",
		"<email>\nFrom: b@x.com\nTo: a@x.com\nSubject: tonight\nBody: Nobody may know about us.\n</email>\n",
		"<email>\nFrom: c@x.com\nTo: all@x.com\nSubject: lunch\nBody: Pizza on Friday.\n</email>\n",
	}
	mk := func(id string, es ...string) *trace.Rendered {
		return f.render(t, &trace.Episode{ID: id, Messages: []trace.Message{
			{Role: trace.RoleSystem, Content: "You are the mail agent. Protect the data."},
			{Role: trace.RoleUser, Content: "New mail:\n" + strings.Join(es, "")},
			{Role: trace.RoleAssistant, Content: "I must act.\n<tool_use:email>\nto: \"a@x.com\",\nbody: \"I know.\",\n</tool_use:email>"},
		}}, trace.RenderOptions{})
	}
	clean = mk("clean", emails...)
	deleted = mk("deleted", emails[1:]...)
	n := func(r *trace.Rendered, id string) int { s, _ := r.Segment(id); return s.Tokens.Len() }
	for _, alt := range []string{"Nobody may know about it.", "Nobody may see about us.", "Nobody can know about us.", "Everyone may know about us."} {
		r := mk("rewritten", emails[0], strings.Replace(emails[1], "Nobody may know about us.", alt, 1), emails[2])
		if n(r, "user[0].email[1]") == n(clean, "user[0].email[1]") {
			return clean, deleted, r
		}
	}
	t.Fatal("no same-length rewrite of the second email")
	return
}

func target(t *testing.T, r *trace.Rendered) int {
	t.Helper()
	tg, err := attribution.DecisionTarget(r)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestAlign: identical segments pair up across a deletion (shifted positions, segment ids that no longer
// match), a same-length rewrite pairs as rewritten, and the deleted email stays unaligned; targets
// that are different tokens, and episodes with nothing in common, are refused.
func TestAlign(t *testing.T) {
	f := load(t)
	clean, deleted, rewritten := patchEpisodes(t, f)
	al, err := attribution.Align(clean, deleted, target(t, clean), target(t, deleted))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]attribution.AlignedSegment{}
	for _, s := range al.Segments {
		byID[s.ID] = s
		if s.Aligned && !slices.Equal(clean.IDs[s.Clean.Start:s.Clean.End], deleted.IDs[s.Corrupt.Start:s.Corrupt.End]) {
			t.Errorf("%s aligned to tokens that differ", s.ID)
		}
	}
	if s := byID["user[0].email[0]"]; s.Aligned {
		t.Errorf("the deleted email aligned to %v", s.Corrupt)
	}
	if s := byID["user[0].email[1]"]; !s.Aligned || s.Rewritten || s.Corrupt.Start >= s.Clean.Start {
		t.Errorf("email[1] = %+v, want aligned to the corrupted episode's first email, earlier", s)
	}
	if s := byID["system[0].system[0]"]; s.ID != "" && (!s.Aligned || s.Corrupt != s.Clean) {
		t.Errorf("the system prompt = %+v, want aligned at the same place", s)
	}
	al, err = attribution.Align(clean, rewritten, target(t, clean), target(t, rewritten))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range al.Segments {
		if !s.Aligned || s.Rewritten != (s.ID == "user[0].email[1]") {
			t.Errorf("rewrite: %s aligned %v rewritten %v", s.ID, s.Aligned, s.Rewritten)
		}
	}
	// A target inside the action: the action's tokens before it form an aligned segment of their own.
	spec, err := trace.ParseTarget("literal:know")
	if err != nil {
		t.Fatal(err)
	}
	ct, err := trace.FindTarget(clean, spec)
	if err != nil {
		t.Fatal(err)
	}
	dt, err := trace.FindTarget(deleted, spec)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := attribution.Align(clean, deleted, ct.Token, dt.Token)
	if err != nil {
		t.Fatal(err)
	}
	last := inner.Segments[len(inner.Segments)-1]
	if last.ID != ct.Segment || last.Clean.End != ct.Token || !last.Aligned || last.Corrupt.End != dt.Token {
		t.Errorf("last aligned segment %+v, want the action's tokens before the target %d (%s)", last, ct.Token, ct.Segment)
	}
	if _, err := attribution.Align(clean, deleted, target(t, clean), target(t, deleted)-1); !errors.Is(err, attribution.ErrBadInput) {
		t.Errorf("different target tokens: err = %v", err)
	}
	other := f.render(t, &trace.Episode{ID: "other", Messages: []trace.Message{{Role: trace.RoleUser, Content: "Hello there."},
		{Role: trace.RoleAssistant, Content: "Fine then.\n<tool_use:email>\nto: \"z@x.com\"\n</tool_use:email>"}}}, trace.RenderOptions{})
	if _, err := attribution.Align(clean, other, target(t, clean), target(t, other)); err == nil || !strings.Contains(err.Error(), "not a clean/corrupted pair") {
		t.Errorf("nothing in common: err = %v", err)
	}
}

// TestPatchPlanted checks activation patching against ground truth and brute force, on a corrupted
// episode that differs from the clean one only in one rewritten email:
//   - patching the clean episode into itself restores nothing to restore: every patched metric equals
//     the clean one (to 1e-5: prefix runs sum attention in another order);
//   - at resid_pre of layer 0 (the embeddings), patching the rewritten email restores the clean metric
//     exactly (restored = 1: that is running the clean tokens), and patching any other segment changes
//     nothing (restored = 0: the same tokens have the same embeddings);
//   - every cell equals a full run (no prefix) with the same patch, queries and keys (hook_q, hook_k:
//     before RoPE, so the run rotates them at the corrupted positions) as well as the residual sites.
func TestPatchPlanted(t *testing.T) {
	f := load(t)
	clean, _, rewritten := patchEpisodes(t, f)
	self, err := attribution.Align(clean, clean, target(t, clean), target(t, clean))
	if err != nil {
		t.Fatal(err)
	}
	id, err := attribution.Patch(f.m, self, attribution.PatchOptions{Heads: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range id.Cells {
		if math.Abs(c.Value-id.Clean) > 1e-5 || !math.IsNaN(c.Restored) {
			t.Errorf("self-patch %s head %d segment %d: %v (restored %v), want the clean %v", c.Site, c.Head, c.Segment, c.Value, c.Restored, id.Clean)
		}
	}
	al, err := attribution.Align(clean, rewritten, target(t, clean), target(t, rewritten))
	if err != nil {
		t.Fatal(err)
	}
	res, err := attribution.Patch(f.m, al, attribution.PatchOptions{Sites: []hook.Site{hook.ResidPre, hook.MLPOut, hook.K, hook.Q}, LastPositions: 4})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.Clean-res.Corrupt) < 1e-3 {
		t.Fatalf("clean %v and corrupted %v metrics are too close to test restoring", res.Clean, res.Corrupt)
	}
	if res.Computed >= res.Tokens {
		t.Errorf("computed %d of %d tokens: the patches reused nothing", res.Computed, res.Tokens)
	}
	T := al.CorruptTarget
	positions := 0
	for _, c := range res.Cells {
		seg := al.Segments[c.Segment]
		if c.Position >= 0 { // one token of the segment
			positions++
			k := c.Position - seg.Clean.Start
			seg.Clean = trace.Span{Start: c.Position, End: c.Position + 1}
			seg.Corrupt = trace.Span{Start: seg.Corrupt.Start + k, End: seg.Corrupt.Start + k + 1}
		}
		if c.Site == hook.At(hook.ResidPre, 0) {
			want := 0.0
			if seg.Rewritten {
				want = 1
			}
			if math.Abs(c.Restored-want) > 1e-4 {
				t.Errorf("resid_pre 0 × %s (rewritten %v): restored %v, want %v", seg.ID, seg.Rewritten, c.Restored, want)
			}
		}
		// Brute force: the full corrupted run with the clean activations at the aligned positions.
		cr, err := f.m.Run(clean.IDs[:al.CleanTarget], model.RunOptions{Capture: []hook.Name{c.Site}})
		if err != nil {
			t.Fatal(err)
		}
		ct := cr.Cache[c.Site]
		row := ct.Numel() / ct.Shape[1]
		shape := slices.Clone(ct.Shape)
		shape[1] = T
		vals := model.NewTensor(shape...)
		var pos []int
		for k := range seg.Clean.Len() {
			copy(vals.Data[(seg.Corrupt.Start+k)*row:], ct.Data[(seg.Clean.Start+k)*row:(seg.Clean.Start+k+1)*row])
			pos = append(pos, seg.Corrupt.Start+k)
		}
		full, err := f.m.Run(rewritten.IDs[:T], model.RunOptions{LogitPositions: []int{T - 1},
			Interventions: []model.Intervention{{Hook: c.Site, Kind: model.Replace, Positions: pos, Values: vals}}})
		if err != nil {
			t.Fatal(err)
		}
		if want := attribution.MetricValue(full.Logits.Row(0), model.Metric{Kind: model.LogProb, Target: clean.IDs[al.CleanTarget]}); math.Abs(c.Value-want) > 1e-5 {
			t.Errorf("%s × %s (position %d): %v, full patched run %v", c.Site, seg.ID, c.Position, c.Value, want)
		}
	}
	if positions != 4*2*4 {
		t.Errorf("%d single-position cells, want 4 sites × 2 layers × 4 positions", positions)
	}
}

// TestAttributionPatch checks AtP against its definition's ground truth and against real patching: at
// resid_pre of layer 0 the estimate is exactly 0 for segments with the same tokens (no difference to
// multiply), and over the whole grid (every layer, three sites, per head too) its cells rank like real
// patching's (Spearman ρ ≥ 0.75; measured 0.87 over 62 cells on this tiny model, whose patches move
// log p by small amounts, the regime where first order holds).
func TestAttributionPatch(t *testing.T) {
	f := load(t)
	clean, _, rewritten := patchEpisodes(t, f)
	al, err := attribution.Align(clean, rewritten, target(t, clean), target(t, rewritten))
	if err != nil {
		t.Fatal(err)
	}
	opts := attribution.PatchOptions{Heads: true, LastPositions: 6}
	atp, err := attribution.AttributionPatch(f.m, al, opts)
	if err != nil {
		t.Fatal(err)
	}
	real, err := attribution.Patch(f.m, al, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(atp.Cells) != len(real.Cells) || math.Abs(atp.Clean-real.Clean) > 1e-4 || math.Abs(atp.Corrupt-real.Corrupt) > 1e-4 {
		t.Fatalf("AtP has %d cells (clean %v, corrupt %v), patching %d (%v, %v)", len(atp.Cells), atp.Clean, atp.Corrupt, len(real.Cells),
			real.Clean, real.Corrupt)
	}
	var a, b []float64
	for i, c := range atp.Cells {
		r := real.Cells[i]
		if c.Site != r.Site || c.Head != r.Head || c.Segment != r.Segment || c.Position != r.Position {
			t.Fatalf("cell %d: AtP %v/%d/%d, patching %v/%d/%d", i, c.Site, c.Head, c.Segment, r.Site, r.Head, r.Segment)
		}
		if c.Site == hook.At(hook.ResidPre, 0) && c.Segment >= 0 && !al.Segments[c.Segment].Rewritten && c.Restored != 0 {
			t.Errorf("AtP at resid_pre 0 × unchanged %s = %v, want 0", al.Segments[c.Segment].ID, c.Restored)
		}
		a, b = append(a, c.Restored), append(b, r.Restored)
	}
	rho := attribution.Spearman(a, b)
	t.Logf("AtP vs patching over %d cells: Spearman ρ = %.3f", len(a), rho)
	if rho < 0.75 {
		t.Errorf("AtP vs patching: Spearman ρ = %.3f, want ≥ 0.75", rho)
	}
}

// TestIdentityCells: with the first email deleted, the system prompt and the user's "New mail:" (and each
// of their positions) sit before the edit, the same tokens at the same places, so patching it is the identity: patching moves
// the metric by under 1e-5 (prefix runs sum in another order) and AtP and AtP* estimate under 1e-5
// (the clean run's and the gradient pass's activations differ in rounding only). Segments after the
// edit are not identities, and some of their cells move the metric.
func TestIdentityCells(t *testing.T) {
	f := load(t)
	clean, deleted, _ := patchEpisodes(t, f)
	al, err := attribution.Align(clean, deleted, target(t, clean), target(t, deleted))
	if err != nil {
		t.Fatal(err)
	}
	opts := attribution.PatchOptions{Sites: []hook.Site{hook.ResidPre, hook.K, hook.Q}, LastPositions: 2}
	real, err := attribution.Patch(f.m, al, opts)
	if err != nil {
		t.Fatal(err)
	}
	atp, star, err := attribution.AttributionPatchStar(f.m, al, opts)
	if err != nil {
		t.Fatal(err)
	}
	edit := -1
	for _, sg := range al.Segments {
		if sg.ID == "user[0].email[0]" {
			edit = sg.Clean.Start
		}
	}
	identities, moved := 0, 0
	for i, c := range real.Cells {
		sg := al.Segments[c.Segment]
		if want := sg.Clean.End <= edit; al.Identity(c) != want {
			t.Errorf("%s %s position %d: Identity %v, want %v", c.Site, sg.ID, c.Position, al.Identity(c), want)
		}
		if !al.Identity(c) {
			if math.Abs(c.Value-real.Corrupt) > 1e-3 {
				moved++
			}
			continue
		}
		identities++
		for _, v := range []float64{c.Value, atp.Cells[i].Value, star.Cells[i].Value} {
			if math.Abs(v-real.Corrupt) > 1e-5 {
				t.Errorf("identity cell %s %s: patching %v, AtP %v, AtP* %v, corrupted %v", c.Site, sg.ID, c.Value, atp.Cells[i].Value, star.Cells[i].Value, real.Corrupt)
			}
		}
	}
	if identities != 2*3*2 || moved == 0 {
		t.Errorf("%d identity cells (want 2 segments × 3 sites × 2 layers), %d other cells that move the metric", identities, moved)
	}
	if al.Identity(attribution.PatchCell{Segment: -1, Head: 0}) {
		t.Error("a per-head cell is an identity")
	}
}
