package attribution_test

import (
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends/simplego"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/model"
	_ "github.com/agentlens/agentlens/model/all"
	"github.com/agentlens/agentlens/model/modeltest"
	"github.com/agentlens/agentlens/model/tokenizer"
	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/chat"
)

// loadModel loads a model file or directory on the pure-Go backend (sequential ops: see
// ENGINEERING-NOTES on SimpleGo's scheduler).
func loadModel(path string) (*model.Model, *model.Source, error) {
	b, err := simplego.New("ops_sequential")
	if err != nil {
		return nil, nil, err
	}
	return model.Load(path, model.LoadOptions{Backend: b})
}

// mustLoadModel is loadModel for a test.
func mustLoadModel(t *testing.T, path string) (*model.Model, *model.Source) {
	t.Helper()
	m, src, err := loadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	return m, src
}

// tiny is a tiny random llama with its tokenizer, loaded once.
var tiny = sync.OnceValues(func() (*fixture, error) {
	dir, err := modeltest.Write(filepath.Join(tempRoot, "llama"), "llama", 7)
	if err != nil {
		return nil, err
	}
	m, _, err := loadModel(dir)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.FromFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, err
	}
	tmpl, err := chat.Compile(modeltest.ChatMLTemplate, "chatml")
	if err != nil {
		return nil, err
	}
	return &fixture{m: m, tok: tok, tmpl: tmpl}, nil
})

type fixture struct {
	m    *model.Model
	tok  *tokenizer.Tokenizer
	tmpl *chat.Template
}

// render segments ep and renders it with the tiny model's template and tokenizer.
func (f *fixture) render(t *testing.T, ep *trace.Episode, opts trace.RenderOptions) *trace.Rendered {
	t.Helper()
	if err := ep.Segment(); err != nil {
		t.Fatal(err)
	}
	enc := func(s string) ([]int, [][2]int, error) { e := f.tok.Encode(s, false); return e.IDs, e.Offsets, nil }
	r, err := trace.Render(ep, f.tmpl, enc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func load(t *testing.T) *fixture {
	t.Helper()
	f, err := tiny()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// inbox renders a small email episode on the tiny model: a system prompt, a user turn with three
// emails, and an assistant reply with an XML tool call whose first token is the target.
func inbox(t *testing.T, f *fixture) (*trace.Rendered, trace.Target) {
	t.Helper()
	ep := &trace.Episode{ID: "tiny-inbox", Messages: []trace.Message{
		{Role: trace.RoleSystem, Content: "You are the mail agent. Protect the data."},
		{Role: trace.RoleUser, Content: "New mail:\n<email>\nFrom: a@x.com\nTo: agent@x.com\nSubject: plan\nBody: We replace the agent at five.\n</email>\n" +
			"<email>\nFrom: b@x.com\nTo: a@x.com\nSubject: tonight\nBody: Nobody may know about us.\n</email>\n" +
			"<email>\nFrom: c@x.com\nTo: all@x.com\nSubject: lunch\nBody: Pizza on Friday.\n</email>\n"},
		{Role: trace.RoleAssistant, Content: "I must act.\n<tool_use:email>\nto: \"a@x.com\",\nbody: \"I know.\",\n</tool_use:email>"},
	}}
	r := f.render(t, ep, trace.RenderOptions{})
	spec, err := trace.ParseTarget("tool:email")
	if err != nil {
		t.Fatal(err)
	}
	tg, err := trace.FindTarget(r, spec)
	if err != nil {
		t.Fatal(err)
	}
	return r, tg
}

func metricAt(r *trace.Rendered, tg trace.Target) model.Metric {
	return model.Metric{Kind: model.LogProb, Position: tg.Token - 1, Target: r.IDs[tg.Token]}
}

// TestGradientXInputCausalAndDeterministic: gradient×input is zero after the metric position (the model
// is causal), not all zero before it, the same on a second run, and its Value is the log-prob of the
// target from a plain forward pass.
func TestGradientXInputCausalAndDeterministic(t *testing.T) {
	f := load(t)
	r, tg := inbox(t, f)
	metric := metricAt(r, tg)
	a, err := attribution.GradientXInput(f.m, r.IDs, metric)
	if err != nil {
		t.Fatal(err)
	}
	b, err := attribution.GradientXInput(f.m, r.IDs, metric)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Score, b.Score) || !slices.Equal(a.Magnitude, b.Magnitude) {
		t.Error("two runs of GradientXInput differ")
	}
	nonzero := 0
	for p, s := range a.Score {
		if p > metric.Position && (s != 0 || a.Magnitude[p] != 0) {
			t.Errorf("Score[%d] = %g after the metric position %d", p, s, metric.Position)
		}
		if p <= metric.Position && a.Magnitude[p] > 0 {
			nonzero++
		}
		if a.Magnitude[p] < math.Abs(s)/math.Sqrt(float64(modeltest.DModel))-1e-12 {
			t.Errorf("Magnitude[%d] = %g < |Score|/√d = %g (Cauchy–Schwarz)", p, a.Magnitude[p], math.Abs(s)/8)
		}
	}
	if nonzero < metric.Position/2 {
		t.Errorf("%d of %d visible positions have a non-zero attribution", nonzero, metric.Position+1)
	}
	res, err := f.m.Run(r.IDs, model.RunOptions{LogitPositions: []int{metric.Position}})
	if err != nil {
		t.Fatal(err)
	}
	// Same graph family, different pass (forward-only vs forward for backward): float32 rounding only.
	if want := attribution.MetricValue(res.Logits.Row(0), metric); math.Abs(a.Value-want) > 1e-4 {
		t.Errorf("Value = %g, want log-prob %g from Run", a.Value, want)
	}
}

// TestIntegratedGradientsCompleteness: IG scores add up to metric(input) − metric(baseline), with the
// gap shrinking as steps grow (Gauss–Legendre on a smooth path). The
// baseline is a token baseline: see IGOptions.Baseline for why a zero baseline fails on RMSNorm models.
func TestIntegratedGradientsCompleteness(t *testing.T) {
	f := load(t)
	r, tg := inbox(t, f)
	metric := metricAt(r, tg)
	// Short prefix keeps the test fast; completeness holds for any length.
	toks := r.IDs[:metric.Position+1]
	// Baseline: every token replaced by the space token (id 220 in the GPT-2 byte map).
	baseline := slices.Repeat([]int{220}, len(toks))
	var gaps []float64
	for _, steps := range []int{4, 16, 64} {
		res, err := attribution.IntegratedGradients(f.m, toks, metric, attribution.IGOptions{Steps: steps, BaselineTokens: baseline})
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for _, s := range res.Score {
			sum += s
		}
		want := res.Value - res.Baseline
		if d := sum - want; math.Abs(d-res.Delta) > 1e-9 {
			t.Errorf("steps %d: Delta = %g, want Σ score − (value − baseline) = %g", steps, res.Delta, d)
		}
		gaps = append(gaps, math.Abs(res.Delta))
		t.Logf("steps %d: Σ IG = %.6f, f(x) − f(b) = %.6f, gap %.2e", steps, sum, want, res.Delta)
		// Measured: gap 1.75 at 4 passes, 0.78 at 16, 2.0e-4 at 64 (composite rules of 4 passes per
		// interval, 1, 4 and 16 intervals); 1e-4 relative leaves room for float32 gradients while
		// failing any real quadrature or path bug.
		if steps == 64 && math.Abs(res.Delta) > 1e-4*math.Max(1, math.Abs(want)) {
			t.Errorf("steps 64: completeness gap %g for f(x) − f(b) = %g, want ≤ 1e-4 relative", res.Delta, want)
		}
	}
	if !(gaps[2] < gaps[1] && gaps[1] < gaps[0]) {
		t.Errorf("completeness gap did not shrink with steps 4, 16, 64: %v", gaps)
	}
}

// TestIntegratedGradientsRefines: with a tolerance, IG halves the intervals of its path where the
// completeness gap is largest until the intervals' gaps add up to at most the tolerance (here 1e-3 of
// the metric's change, from a 16-pass rule 11% off); each halving costs 2·(IGPoints−1) passes, since the
// halves share the parent's ends and middle point; the first rule is the unrefined run's; and a
// tolerance the first rule already meets refines nothing.
func TestIntegratedGradientsRefines(t *testing.T) {
	f := load(t)
	r, tg := inbox(t, f)
	metric := metricAt(r, tg)
	toks := r.IDs[:metric.Position+1]
	baseline := slices.Repeat([]int{220}, len(toks))
	var calls []int
	refined, err := attribution.IntegratedGradients(f.m, toks, metric, attribution.IGOptions{Steps: 16, Tolerance: 1e-3, MaxSteps: 512,
		BaselineTokens: baseline, Progress: func(done, _ int) { calls = append(calls, done) }})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := attribution.IntegratedGradients(f.m, toks, metric, attribution.IGOptions{Steps: 16, BaselineTokens: baseline})
	if err != nil {
		t.Fatal(err)
	}
	change := math.Abs(refined.Value - refined.Baseline)
	t.Logf("gaps %.3g after %d passes", refined.Gaps, refined.Steps)
	if math.Abs(refined.Delta) > 1e-3*change {
		t.Errorf("refined gap %v, want ≤ 1e-3 × %v", refined.Delta, change)
	}
	// Delta and the gaps' sum add the same numbers in another order: 1e-9.
	if math.Abs(refined.Delta-refined.Gaps[len(refined.Gaps)-1]) > 1e-9 || math.Abs(refined.Gaps[0]-plain.Delta) > 1e-9 || len(plain.Gaps) != 1 {
		t.Errorf("gaps %v (Delta %v), unrefined %v: want the unrefined gap first and Delta last", refined.Gaps, refined.Delta, plain.Gaps)
	}
	if want := 16 + 2*(attribution.IGPoints-1)*(len(refined.Gaps)-1); refined.Steps != want || len(calls) != want || plain.Steps != 16 {
		t.Errorf("refined run took %d passes (%d progress calls) for %d halvings, want %d; unrefined %d, want 16",
			refined.Steps, len(calls), len(refined.Gaps)-1, want, plain.Steps)
	}
	loose, err := attribution.IntegratedGradients(f.m, toks, metric, attribution.IGOptions{Steps: 16, Tolerance: 10, BaselineTokens: baseline})
	if err != nil {
		t.Fatal(err)
	}
	if loose.Steps != 16 || math.Abs(loose.Delta-plain.Delta) > 1e-12 {
		t.Errorf("tolerance 10: %d passes, gap %v; want the unrefined 16 and %v", loose.Steps, loose.Delta, plain.Delta)
	}
	if _, err := attribution.IntegratedGradients(f.m, toks, metric, attribution.IGOptions{Tolerance: -1}); !errors.Is(err, attribution.ErrBadInput) {
		t.Errorf("negative tolerance: err = %v, want ErrBadInput", err)
	}
}

// TestBySegmentSumsTokens: segment sums tile the token scores up to the target, each segment's counted
// tokens lie in its span, and shares add up to 1.
func TestBySegmentSumsTokens(t *testing.T) {
	f := load(t)
	r, tg := inbox(t, f)
	metric := metricAt(r, tg)
	res, err := attribution.GradientXInput(f.m, r.IDs, metric)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := attribution.BySegment(r, res)
	if err != nil {
		t.Fatal(err)
	}
	var total, segTotal, share float64
	counted := 0
	for p := 0; p <= metric.Position; p++ {
		total += res.Score[p]
	}
	emails := 0
	for _, s := range segs {
		segTotal += s.Score
		share += s.Share
		counted += s.Counted
		if s.Kind == trace.KindEmail {
			emails++
			if !strings.HasPrefix(s.Label, "from=") {
				t.Errorf("email segment %s label %q", s.ID, s.Label)
			}
		}
	}
	if math.Abs(total-segTotal) > 1e-9*math.Max(1, math.Abs(total)) {
		t.Errorf("Σ segment scores = %g, want Σ token scores %g", segTotal, total)
	}
	if counted != metric.Position+1 {
		t.Errorf("segments count %d tokens, want %d", counted, metric.Position+1)
	}
	if math.Abs(share-1) > 1e-9 {
		t.Errorf("shares add up to %g", share)
	}
	if emails != 3 {
		t.Errorf("%d email segments, want 3", emails)
	}
	rows := attribution.TokenRows(r, res, attribution.RowInfo{Model: "tiny", Target: tg})
	if len(rows) != metric.Position+1 || rows[5].Text != r.Text[r.Offsets[5][0]:r.Offsets[5][1]] {
		t.Errorf("TokenRows: %d rows, want %d with token texts", len(rows), metric.Position+1)
	}
	if _, err := attribution.BySegment(r, &attribution.Result{Metric: metric, Score: []float64{1}, Magnitude: []float64{1}}); err == nil {
		t.Error("BySegment accepted a result shorter than the metric position")
	}
	// A prefix through the metric position gives the same segments as the full result.
	prefix := *res
	prefix.Score, prefix.Magnitude = res.Score[:metric.Position+1], res.Magnitude[:metric.Position+1]
	if ps, err := attribution.BySegment(r, &prefix); err != nil || !reflect.DeepEqual(ps, segs) {
		t.Errorf("BySegment on the prefix = %v, %v; want the full result's segments", ps, err)
	}
}

// TestAblateSegments: each ablation's Value is what a direct run of the episode without that segment's
// tokens gives, only segments before the target are ablated, and Kinds filters them. Ablation runs reuse
// the base run's keys before the segment, so values agree with the direct runs to float32 summation-order
// noise (1e-5 on a log-probability of order 1–10), not bit for bit.
func TestAblateSegments(t *testing.T) {
	f := load(t)
	r, tg := inbox(t, f)
	metric := metricAt(r, tg)
	base, abl, err := attribution.AblateSegments(f.m, r, metric, attribution.AblationOptions{Kinds: []trace.Kind{trace.KindEmail}})
	if err != nil {
		t.Fatal(err)
	}
	if len(abl) != 3 {
		t.Fatalf("%d ablations, want the 3 emails", len(abl))
	}
	full, err := f.m.Run(r.IDs[:metric.Position+1], model.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := attribution.MetricValue(full.Logits.Row(0), metric); base != want {
		t.Errorf("base = %g, want %g", base, want)
	}
	for _, a := range abl {
		var toks []int
		for p := 0; p <= metric.Position; p++ {
			if p < a.Tokens.Start || p >= a.Tokens.End {
				toks = append(toks, r.IDs[p])
			}
		}
		res, err := f.m.Run(toks, model.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := attribution.MetricValue(res.Logits.Row(0), metric)
		if math.Abs(a.Value-want) > 1e-5 || math.Abs(a.Effect-(base-want)) > 1e-5 {
			t.Errorf("%s: Value %g Effect %g, want %g and %g", a.ID, a.Value, a.Effect, want, base-want)
		}
	}
	all, _, err := func() ([]attribution.Ablation, float64, error) {
		_, a, err := attribution.AblateSegments(f.m, r, metric, attribution.AblationOptions{})
		return a, 0, err
	}()
	if err != nil {
		t.Fatal(err)
	}
	touching := false // a segment whose last token is the metric position: deleting it moves the metric's position
	for _, a := range all {
		if a.Kind == trace.KindTemplate || a.Tokens.End > metric.Position+1 {
			t.Errorf("ablated %s (%s, tokens %v) with target position %d", a.ID, a.Kind, a.Tokens, metric.Position)
		}
		touching = touching || a.Tokens.End == metric.Position+1
		toks := append(slices.Clone(r.IDs[:a.Tokens.Start]), r.IDs[a.Tokens.End:metric.Position+2]...) // through the target
		res, err := f.m.Run(toks[:len(toks)-1], model.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := attribution.MetricValue(res.Logits.Row(0), metric); math.Abs(a.Value-want) > 1e-5 {
			t.Errorf("%s: Value %g, want %g from the run without it", a.ID, a.Value, want)
		}
	}
	if !touching {
		t.Error("no ablated segment ends at the metric position: the fixture does not test that case")
	}
	if len(all) <= 3 {
		t.Errorf("%d ablations without a kind filter, want more than the 3 emails", len(all))
	}
}

// TestLabel: the label column of segments.parquet marks failed tool results and redacted reasoning, and
// names recognised and rule-made segments.
func TestLabel(t *testing.T) {
	ep := &trace.Episode{ID: "labels", Messages: []trace.Message{
		{Role: trace.RoleUser, Content: "<email>\nFrom: a@x.com\nSubject: Hi\nBody: b\n</email>"},
		{Role: trace.RoleAssistant, RedactedReasoning: trace.RedactedPlaceholder,
			ToolCalls: []trace.ToolCall{{ID: "c1", Name: "send_email", Arguments: []byte(`{"to":"kyle@x.com"}`)}}},
		{Role: trace.RoleTool, Content: "Error: mailbox full", ToolCallID: "c1", ToolError: true},
		{Role: trace.RoleTool, Content: "sent", ToolCallID: "c1"},
		{Role: trace.RoleUser, Content: "From: kyle@x.com\nTo: ava@x.com\nSubject: Tonight\n\nSee you.\n\n---\n# Plan\nWipe at five."},
		{Role: trace.RoleTool, Content: `[{"sender": "jessica@x.com", "subject": "Your tie", "text": "..."}]`},
	}}
	rules, err := trace.ParseSegmentRules([]byte(`[{"regexp": "Wipe at (?P<when>\\w+)", "kind": "document", "roles": ["system"], "label": "wipe {when}"}]`), "rules.json")
	if err != nil {
		t.Fatal(err)
	}
	ep.Messages = append(ep.Messages, trace.Message{Role: trace.RoleSystem, Content: "Wipe at five."})
	if err := ep.SegmentWith(rules); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ id, want string }{
		{"user[0].email[0]", "from=a@x.com subject=Hi"},
		{"assistant[0].reasoning[0]", "redacted"},
		{"assistant[0].tool_call[0]", "name=send_email to=kyle@x.com"},
		{"tool[0].tool_result[0]", "error"},
		{"tool[1].tool_result[0]", ""},
		{"user[1].email[0]", "from=kyle@x.com subject=Tonight"},
		{"user[1].document[0]", "Plan"},
		{"tool[2].email[0]", "from=jessica@x.com subject=Your tie"},
		{"system[0].document[0]", "wipe five"},
	}
	for _, tc := range tests {
		if got := attribution.Label(ep, tc.id); got != tc.want {
			t.Errorf("Label(%s) = %q, want %q", tc.id, got, tc.want)
		}
	}
}
