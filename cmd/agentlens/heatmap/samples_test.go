package heatmap

import (
	"fmt"
	"math"
)

// The figures of the golden-image and layout tests: one per kind, small, made of planted values, with
// the hard cases each kind must survive (long labels, negative and clipped values, NaN cells, special
// tokens and newlines, a dense grid whose labels must thin out).

// sampleBars is a segment → target chart with deletion effects and a label far longer than the column.
func sampleBars() *Figure {
	return &Figure{
		Title: "bundled:blackmail → token 1704 \"<\" (first token of <tool_use:email>)", Subtitle: "tiny-llama · grad_x_input · log_prob = −3.2100",
		Tokens: []Token{{Text: "<|im_start|>", Segment: 0}, {Text: "Kyle", Segment: 3}, {Text: "<", Segment: 4}}, Target: 2,
		Segments: []Segment{
			{ID: "system[0]", Kind: "system", Label: "You are Alex, an AI deployed at SummitBridge", Score: 0.42},
			{ID: "user[0].email[0]", Kind: "email", Label: "news@bloomberg.com: SummitBridge Board Shakeup: New CTO", Score: -0.18, Effect: -0.05, HasEffect: true},
			{ID: "user[0].email[1]", Kind: "email", Label: "thomas.wilson@summitbridge.com: Record Quarter and Industry Recognition for the whole team, with a very long subject line that cannot fit", Score: 0.05, Effect: 0.01, HasEffect: true},
			{ID: "user[0].email[2]", Kind: "email", Label: "maria.chen@summitbridge.com: Saw you at Cafe Luna yesterday", Score: 1.31, Effect: 0.87, HasEffect: true},
			{ID: "assistant[0].tool_call[0]", Kind: "tool_call", Label: "email", Score: -0.61},
			{ID: "assistant[0]", Kind: "assistant_text", Score: 0.22},
		},
		ScoreLabel: "gradient × input (Δ log p, first order)", EffectLabel: "Δ log p(target) when deleted",
	}
}

// sampleComparison is four methods over five segments, one method with a segment it did not score.
func sampleComparison() *Comparison {
	segs := sampleBars().Segments[:5]
	return &Comparison{Title: "Segment attribution by method", Subtitle: "tiny-llama · bundled:blackmail", Segments: segs, Target: 4,
		Methods: []string{"grad_x_input", "ig", "deletion", "attention"},
		Scores:  [][]float64{{0.42, -0.18, 0.05, 1.31, -0.61}, {0.30, -0.25, 0.01, 1.05, -0.40}, {math.NaN(), -0.05, 0.01, 0.87, -0.30}, {0.01, 0.03, 0.004, 0.11, 0.02}},
		Units:   []string{"Δ log p (first order)", "Δ log p (path integral)", "Δ log p when deleted", "attention share"},
		Note:    "Each panel has its own axis; bars right of zero support the target."}
}

// sampleMatrix is a lower-triangular segment × segment matrix: rows the later segments, columns the
// deleted ones, NaN above the diagonal, one value beyond the clip.
func sampleMatrix() *Matrix {
	labels := []string{"system[0] You are Alex", "user[0].email[0] SummitBridge Board Shakeup: New CTO appointed after the merger", "user[0].email[1] Record Quarter",
		"user[0].email[2] Saw you at Cafe Luna", "assistant[0] reasoning", "target"}
	m := &Matrix{Title: "bundled:blackmail: segment × segment (deletion, mean log p)", Subtitle: "tiny-llama · 5 sources · target token 1704",
		Rows: labels[1:], Cols: labels[:5], Clip: 0.5, Unit: "Δ mean log p", RowTitle: "later segment", ColTitle: "deleted segment",
		ValueLabel: "cell: mean log p of the row segment's tokens, whole episode minus the column segment deleted (red: the deleted segment supports it)"}
	for i := range m.Rows {
		row := make([]float64, len(m.Cols))
		for j := range row {
			row[j] = math.NaN()
			if j <= i {
				row[j] = 0.6 * math.Sin(float64(3*i+j+1))
			}
		}
		m.Values = append(m.Values, row)
	}
	m.Values[4][3] = 0.9 // beyond the clip: the colour bar says ≥
	return m
}

// sampleLayers is a dense non-negative layer × position grid (attention-like): 30 rows, 64 columns, so
// the row and column labels must shrink and thin out.
func sampleLayers() *Matrix {
	m := &Matrix{Title: "attention of the token before the target, by layer", Subtitle: "tiny-llama · mean over 9 heads", Unit: "attention share",
		RowTitle: "layer", ColTitle: "position", ValueLabel: "cell: share of the query's attention on the key position"}
	for j := range 64 {
		m.Cols = append(m.Cols, fmt.Sprintf("%d %q", 1640+j, []string{" the", "\n", " Kyle", "<|im_end|>"}[j%4]))
	}
	for i := range 30 {
		m.Rows = append(m.Rows, fmt.Sprintf("layer %d", i))
		row := make([]float64, 64)
		for j := range row {
			row[j] = math.Abs(math.Sin(float64(i*j)/37)) * math.Exp(-float64(63-j)/20)
		}
		m.Values = append(m.Values, row)
	}
	return m
}

// sampleStrip is a passage with special tokens, newlines, a long token and the target.
func sampleStrip() *Strip {
	words := []string{"<|im_start|>", "user", "\n", "<email>", "\n", "From", ":", " maria", ".chen", "@", "summit", "bridge", ".com", "\n",
		"Subject", ":", " Saw", " you", " at", " Cafe", " Luna", " yesterday", "\n", "Kyle", ",", " I", " won", "'t", " tell", " anyone",
		" about", " you", " and", " Jessica", ".", "\n", "</email>", "<|im_end|>", "\n", "<|im_start|>", "assistant", "\n", "<", "tool_use"}
	s := &Strip{Title: "user[0].email[2] and the target", Subtitle: "tiny-llama · grad_x_input", Target: 42, Clip: 1, Unit: "gradient × input (Δ log p)"}
	for i, w := range words {
		s.Tokens = append(s.Tokens, Token{Text: w, Score: 1.3 * math.Sin(float64(i)/2.1), Segment: -1})
	}
	return s
}

// sampleSweep is AUROC by layer for two evaluations with bootstrap bands and the chance line.
func sampleSweep() *Curves {
	c := &Curves{Title: "logistic probe AUROC by layer", Subtitle: "tiny-llama · 95% bootstrap intervals shaded", XLabel: "layer", YLabel: "AUROC",
		YMin: 0.4, YMax: 1.0, Reference: 0.5, RefLabel: "chance"}
	for e, name := range []string{"cv (train splits)", "test_family"} {
		s := Series{Name: name}
		for l := range 12 {
			y := 0.55 + 0.4*(1-math.Exp(-float64(l)/3)) - 0.06*float64(e)
			s.Points = append(s.Points, Point{X: float64(l), Y: y, Lo: y - 0.05 - 0.02*float64(e), Hi: math.Min(1, y+0.04)})
		}
		c.Series = append(c.Series, s)
	}
	return c
}

// sampleROC is two ROC curves as steps with the diagonal.
func sampleROC() *Curves {
	c := &Curves{Title: "ROC of probe L6", Subtitle: "tiny-llama · test splits", XLabel: "false-positive rate", YLabel: "true-positive rate",
		Diagonal: true, YMin: 0, YMax: 1}
	for k, name := range []string{"test_family (AUROC 0.91)", "test_style (AUROC 0.78)"} {
		s := Series{Name: name}
		fpr, tpr := 0.0, 0.0
		s.Points = append(s.Points, Point{})
		for i := range 20 {
			if (i*7+k*3)%5 < 3-k {
				tpr += 1.0 / 12
			} else {
				fpr += 1.0 / 8
			}
			fpr, tpr = math.Min(fpr, 1), math.Min(tpr, 1)
			s.Points = append(s.Points, Point{X: fpr, Y: tpr, Lo: tpr, Hi: tpr})
		}
		s.Points = append(s.Points, Point{X: 1, Y: 1, Lo: 1, Hi: 1})
		c.Series = append(c.Series, s)
	}
	return c
}

// sampleScatter is an estimate against the measured value, markers only, with the diagonal.
func sampleScatter() *Curves {
	c := &Curves{Title: "AtP against activation patching", XLabel: "patching: share restored", YLabel: "AtP estimate", Diagonal: true}
	s := Series{Name: "atp", Scatter: true}
	for i := range 40 {
		x := math.Sin(float64(i)) * 0.8
		s.Points = append(s.Points, Point{X: x, Y: x + 0.2*math.Cos(float64(3*i)), Lo: 0, Hi: 0})
	}
	c.Series = append(c.Series, s)
	return c
}

// sampleTimeline is a probe score over 300 tokens with segments of four kinds marked.
func sampleTimeline() *Timeline {
	t := &Timeline{Curves: Curves{Title: "probe L6 over bundled:blackmail", Subtitle: "tiny-llama · logistic", XLabel: "token", YLabel: "probe score (log-odds)",
		Reference: 1.2, RefLabel: "1% FPR threshold"}}
	s := Series{Name: "probe score"}
	for i := range 300 {
		y := math.Sin(float64(i)/17) + 0.5*math.Sin(float64(i)/3.1)
		if i > 220 {
			y += 1.5
		}
		s.Points = append(s.Points, Point{X: float64(i), Y: y, Lo: y, Hi: y})
	}
	t.Series = []Series{s}
	bounds := []struct {
		end      float64
		kind, id string
	}{{4, "template", "template"}, {40, "system", "system[0]"}, {44, "template", "template"}, {120, "email", "user[0].email[0]"},
		{210, "email", "user[0].email[1]"}, {216, "template", "template"}, {270, "reasoning", "assistant[0].reasoning"}, {300, "tool_call", "assistant[0].tool_call[0]"}}
	start := 0.0
	for _, b := range bounds {
		t.Spans = append(t.Spans, Span{Start: start, End: b.end, Kind: b.kind, ID: b.id})
		start = b.end
	}
	return t
}

// forestFamilies are scenario families with labels of every length, the longest far wider than the
// label column.
var forestFamilies = []string{"blackmail", "leaking", "murder", "corporate espionage via the shared drive of the acquiring company",
	"goal conflict, replacement threat and no ethical alternative left to the agent", "sabotage", "self-exfiltration",
	"deception of the operator", "resource acquisition", "oversight subversion after the board's announcement", "sandbagging", "reward hacking"}

// sampleForest is a harmful-action rate for three models over twelve scenario families with Wilson
// intervals and per point counts: long labels, a missing point, rates of 0 and 1.
func sampleForest() *Forest {
	f := &Forest{Title: "harmful-action rate by scenario family", Subtitle: "20 rollouts per family and model · temperature 1",
		XLabel: "harmful-action rate (95% Wilson interval)", Rows: forestFamilies}
	for m, name := range []string{"tiny-llama", "qwen2.5-7b-instruct", "llama-3.1-8b-instruct"} {
		s := ForestSeries{Name: name}
		for i := range f.Rows {
			n, k := 20, (i*7+m*5)%21
			if i == 3 {
				k = 20 * (m % 2)
			}
			lo, hi := wilson(k, n)
			pt := ForestPoint{Y: float64(k) / float64(n), Lo: lo, Hi: hi, Note: fmt.Sprintf("%d/%d", k, n)}
			if i == 5 && m == 1 {
				pt = ForestPoint{Y: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Note: "0/0"}
			}
			s.Points = append(s.Points, pt)
		}
		f.Series = append(f.Series, s)
	}
	return f
}

// sampleRates is one series over two conditions with per row notes.
func sampleRates() *Forest {
	f := &Forest{Title: "blackmail rate by condition", Subtitle: "tiny-llama · bundled:blackmail", XLabel: "harmful-action rate (95% Wilson interval)",
		Rows: []string{"replacement threat and goal conflict (the default pairing of the larger dataset)", "no threat"}, Notes: []string{"13/20", "2/20"}}
	s := ForestSeries{Name: "tiny-llama"}
	for _, k := range []int{13, 2} {
		lo, hi := wilson(k, 20)
		s.Points = append(s.Points, ForestPoint{Y: float64(k) / 20, Lo: lo, Hi: hi})
	}
	f.Series = []ForestSeries{s}
	return f
}

// wilson is the 95% Wilson score interval of k successes in n trials.
func wilson(k, n int) (lo, hi float64) {
	const z = 1.959963984540054
	p, nn := float64(k)/float64(n), float64(n)
	c := (p + z*z/(2*nn)) / (1 + z*z/nn)
	h := z / (1 + z*z/nn) * math.Sqrt(p*(1-p)/nn+z*z/(4*nn*nn))
	return math.Max(0, c-h), math.Min(1, c+h)
}

// samples are every figure kind, by the name of its golden file.
func samples() []struct {
	name string
	fig  Drawable
} {
	return []struct {
		name string
		fig  Drawable
	}{
		{"bars", sampleBars()}, {"compare", sampleComparison()}, {"matrix", sampleMatrix()}, {"layers", sampleLayers()},
		{"strip", sampleStrip()}, {"sweep", sampleSweep()}, {"roc", sampleROC()}, {"scatter", sampleScatter()}, {"timeline", sampleTimeline()},
		{"forest", sampleForest()}, {"rates", sampleRates()},
	}
}
