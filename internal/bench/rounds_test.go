package bench

import (
	"context"
	"math"
	"strings"
	"testing"
)

// TestRowRounds plants rounds whose ratios and medians are known: agentlens 3, 1.2, 2 s against
// torch 2, 1, 2.5 s gives round ratios 1.5, 1.2, 0.8 (median 1.2, not the 1.0 of the two medians 2/2).
func TestRowRounds(t *testing.T) {
	m := func(engine string, s float64) Measurement {
		return Measurement{Engine: engine, Seconds: s, CPUSeconds: 2 * s}
	}
	round := func(a, tt float64) Round {
		tm := m(EngineTorch, tt)
		return Round{Agentlens: m(EngineAgentlens, a), Torch: &tm}
	}
	near := func(x, want float64) bool { return math.Abs(x-want) < 1e-12 }

	row := Row{Rounds: []Round{round(3, 2), round(1.2, 1), round(2, 2.5)}}
	a, tm := row.representatives()
	if a.Seconds != 2 || tm == nil || tm.Seconds != 2 {
		t.Errorf("representatives = %v s and %+v, want the median rounds 2 s and 2 s", a.Seconds, tm)
	}
	s, ok := row.Ratio()
	if !ok || !near(s.Median, 1.2) || !near(s.Min, 0.8) || !near(s.Max, 1.5) || s.N != 3 {
		t.Errorf("Ratio = %+v %v, want median 1.2 in [0.8, 1.5] over 3", s, ok)
	}
	// CPU seconds are twice the wall-clock ones in both engines: the same ratios.
	if c, ok := row.CPURatio(); !ok || !near(c.Median, 1.2) {
		t.Errorf("CPURatio = %+v %v, want median 1.2", c, ok)
	}
	if got := formatRatio(row.Ratio()); got != "1.20× [0.80–1.50]" {
		t.Errorf("ratio cell = %q", got)
	}

	// An even count: the ratio is the mean of the middle two, the measurement shown the lower one.
	row.Rounds = append(row.Rounds, round(4, 1))
	if s, _ := row.Ratio(); !near(s.Median, 1.35) || s.Max != 4 {
		t.Errorf("Ratio over 4 rounds = %+v, want median (1.2+1.5)/2 and largest 4", s)
	}
	if a, _ := row.representatives(); a.Seconds != 2 {
		t.Errorf("agentlens over 4 rounds = %v s, want the lower middle round, 2 s", a.Seconds)
	}

	// A failed round is what the row shows, and no ratio is given.
	bad := Measurement{Engine: EngineTorch, Error: "out of memory"}
	row.Rounds[1].Torch = &bad
	if _, tm := row.representatives(); tm == nil || tm.Error != "out of memory" {
		t.Errorf("torch with a failed round = %+v, want the failure", tm)
	}
	if _, ok := row.Ratio(); ok {
		t.Error("Ratio with a failed round is ok, want none")
	}

	// A row built by hand is its own single round; without torch there is no ratio.
	one := Row{Agentlens: m(EngineAgentlens, 3), Torch: row.Rounds[0].Torch}
	if s, ok := one.Ratio(); !ok || s.N != 1 || !near(s.Median, 1.5) || formatRatio(s, ok) != "1.50×" {
		t.Errorf("single-round Ratio = %+v %v", s, ok)
	}
	if _, ok := (Row{Agentlens: m(EngineAgentlens, 3)}).Ratio(); ok {
		t.Error("Ratio without torch is ok, want none")
	}
}

// TestRunRounds runs three rounds on the tiny model and checks the order the engines took turns in,
// that each row keeps every round, and that the measurement shown is the median round.
func TestRunRounds(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	var logged []string
	rep, err := Run(context.Background(), Options{
		Model: tinyModel(t), Backend: "go", Jobs: []Job{{Forward, 16}}, Threads: 1, Rounds: 3,
		Python: fakePythonPath(t, envFakePython), ChildCommand: selfCommand(envChild),
		Log: func(s string) { logged = append(logged, s) }, TempDir: t.TempDir(),
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Rounds != 3 || len(rep.Rows) != 1 {
		t.Fatalf("report rounds %d rows %d, want 3 and 1", rep.Rounds, len(rep.Rows))
	}
	var order []string
	for _, l := range logged {
		if strings.HasSuffix(l, ": running") {
			order = append(order, strings.TrimSuffix(strings.TrimPrefix(l, "forward:16 "), ": running"))
		}
	}
	want := []string{"agentlens (round 1 of 3)", "torch (round 1 of 3)", "torch (round 2 of 3)",
		"agentlens (round 2 of 3)", "agentlens (round 3 of 3)", "torch (round 3 of 3)"}
	if strings.Join(order, "; ") != strings.Join(want, "; ") {
		t.Errorf("runs went\n%q\nwant\n%q", order, want)
	}
	row := rep.Rows[0]
	if len(row.Rounds) != 3 || row.Rounds[0].TorchFirst || !row.Rounds[1].TorchFirst || row.Rounds[2].TorchFirst {
		t.Fatalf("rounds = %+v, want 3 with torch first in the second only", row.Rounds)
	}
	var secs []float64
	for _, rd := range row.Rounds {
		if !rd.Agentlens.OK() || rd.Torch == nil || rd.Torch.Seconds != 0.5 {
			t.Fatalf("round = %+v, want both engines measured", rd)
		}
		secs = append(secs, rd.Agentlens.Seconds)
	}
	lower := 0
	for _, s := range secs {
		if s < row.Agentlens.Seconds {
			lower++
		}
	}
	if lower != 1 {
		t.Errorf("agentlens shows %v s of rounds %v, want the median", row.Agentlens.Seconds, secs)
	}
	// The fake torch takes 0.5 s each round, so the median ratio is the median round over 0.5.
	if s, ok := row.Ratio(); !ok || math.Abs(s.Median-row.Agentlens.Seconds/0.5) > 1e-12 || s.N != 3 {
		t.Errorf("Ratio = %+v %v, want %v over 3 rounds", s, ok, row.Agentlens.Seconds/0.5)
	}
	var b strings.Builder
	if err := WriteTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "3 rounds per job") || !strings.Contains(b.String(), "× [") {
		t.Errorf("table does not say its rounds or give a ratio range:\n%s", b.String())
	}
}
