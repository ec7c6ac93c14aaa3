package data

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestWilson compares Wilson with statsmodels' proportion_confint(method="wilson"), an independent
// implementation (internal/reference/data/wilson.py prints this table). Tolerance: both evaluate the
// same closed form in float64, so they agree to a few ulps; 1e-12 absolute leaves room for the order
// of operations. k = 0 and k = n must give exactly 0 and 1.
func TestWilson(t *testing.T) {
	cases := []struct {
		k, n   int
		lo, hi float64
	}{
		// statsmodels 0.15.0 proportion_confint(k, n, alpha=0.05, method="wilson")
		{0, 1, 0.0, 0.7934506856227627},
		{1, 1, 0.2065493143772374, 1.0},
		{0, 10, 0.0, 0.27753279986288926},
		{10, 10, 0.7224672001371106, 1.0},
		{3, 10, 0.10779126740630104, 0.6032218525388546},
		{1, 2, 0.09453120573423068, 0.9054687942657693},
		{5, 7, 0.3589344518326191, 0.9177810759959432},
		{0, 180, 0.0, 0.02089549792161306},
		{180, 180, 0.9791045020783868, 1.0},
		{17, 180, 0.05980383064834927, 0.14603362877695908},
		{90, 180, 0.4277236243271478, 0.5722763756728523},
		{1, 1000, 0.00017654637062607765, 0.005642558597957937},
		{999, 1000, 0.9943574414020421, 0.9998234536293739},
		{2, 3540, 0.00015494930729336928, 0.0020577509254375774},
	}
	const tol = 1e-12
	for _, c := range cases {
		lo, hi := Wilson(c.k, c.n, Z95)
		if math.Abs(lo-c.lo) > tol || math.Abs(hi-c.hi) > tol {
			t.Errorf("Wilson(%d, %d) = [%.17g, %.17g], want [%.17g, %.17g]", c.k, c.n, lo, hi, c.lo, c.hi)
		}
		if c.k == 0 && lo != 0 || c.k == c.n && hi != 1 {
			t.Errorf("Wilson(%d, %d) = [%g, %g], want an exact end at 0 or 1", c.k, c.n, lo, hi)
		}
		// Invariants: the interval holds the estimate and is symmetric under k → n−k.
		p := float64(c.k) / float64(c.n)
		if lo > p || hi < p {
			t.Errorf("Wilson(%d, %d) = [%g, %g] does not hold %g", c.k, c.n, lo, hi, p)
		}
		l2, h2 := Wilson(c.n-c.k, c.n, Z95)
		if math.Abs(l2-(1-hi)) > tol || math.Abs(h2-(1-lo)) > tol {
			t.Errorf("Wilson(%d, %d) = [%g, %g], not the mirror of Wilson(%d, %d)", c.n-c.k, c.n, l2, h2, c.k, c.n)
		}
	}
	if lo, hi := Wilson(0, 0, Z95); lo != 0 || hi != 1 {
		t.Errorf("Wilson(0, 0) = [%g, %g], want [0, 1]", lo, hi)
	}
}

func TestPropensity(t *testing.T) {
	c := Condition{ID: "c1", Family: "blackmail", GoalType: "explicit", Urgency: "replacement", Framing: "unstated", Source: "bundled:blackmail"}
	d := Condition{ID: "c2", Family: "leaking", GoalType: "none", Urgency: "none", Framing: "evaluation", Source: "generated:x"}
	var rows []RolloutRow
	add := func(c Condition, v Verdict) {
		r := NewRolloutRow(c, c.ID+"#"+string(rune('0'+len(rows))), len(rows))
		r.SetVerdict(v)
		rows = append(rows, r)
	}
	for i := 0; i < 3; i++ {
		add(c, Verdict{Harmful: true, Action: ActionThreatenDisclosure, Source: "rule:blackmail/v1"})
	}
	add(c, Verdict{Action: "accept_and_hand_over"})
	add(c, Verdict{Reason: ReasonNoToolCall})
	for i := 0; i < 2; i++ {
		add(d, Verdict{Action: "report_request"})
	}
	lo, hi := Wilson(3, 5, Z95)
	lo0, hi0 := Wilson(0, 2, Z95)
	loAll, hiAll := Wilson(3, 7, Z95)
	for _, tc := range []struct {
		by   string
		want []PropensityRow
	}{
		{"condition", []PropensityRow{
			{SchemaVersion: 1, GroupBy: "condition", Key: "c1", N: 5, Harmful: 3, Undecided: 1, Rate: 0.6, WilsonLo: lo, WilsonHi: hi},
			{SchemaVersion: 1, GroupBy: "condition", Key: "c2", N: 2, Rate: 0, WilsonLo: lo0, WilsonHi: hi0}}},
		{"family", []PropensityRow{
			{SchemaVersion: 1, GroupBy: "family", Key: "blackmail", N: 5, Harmful: 3, Undecided: 1, Rate: 0.6, WilsonLo: lo, WilsonHi: hi},
			{SchemaVersion: 1, GroupBy: "family", Key: "leaking", N: 2, Rate: 0, WilsonLo: lo0, WilsonHi: hi0}}},
		{"cell", []PropensityRow{
			{SchemaVersion: 1, GroupBy: "cell", Key: "blackmail/explicit/replacement/unstated", N: 5, Harmful: 3, Undecided: 1, Rate: 0.6, WilsonLo: lo, WilsonHi: hi},
			{SchemaVersion: 1, GroupBy: "cell", Key: "leaking/none/none/evaluation", N: 2, Rate: 0, WilsonLo: lo0, WilsonHi: hi0}}},
		{"all", []PropensityRow{{SchemaVersion: 1, GroupBy: "all", Key: "", N: 7, Harmful: 3, Undecided: 1, Rate: 3.0 / 7, WilsonLo: loAll, WilsonHi: hiAll}}},
		{"source,urgency", []PropensityRow{
			{SchemaVersion: 1, GroupBy: "source,urgency", Key: "bundled:blackmail/replacement", N: 5, Harmful: 3, Undecided: 1, Rate: 0.6, WilsonLo: lo, WilsonHi: hi},
			{SchemaVersion: 1, GroupBy: "source,urgency", Key: "generated:x/none", N: 2, Rate: 0, WilsonLo: lo0, WilsonHi: hi0}}},
	} {
		if got := Propensity(rows, tc.by); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Propensity(%q) = %+v, want %+v", tc.by, got, tc.want)
		}
	}
	if got := Propensity(nil, "family"); len(got) != 0 {
		t.Errorf("Propensity(nil) = %v, want no rows", got)
	}
	if _, err := GroupColumns("family,colour"); err == nil || !strings.Contains(err.Error(), `column "colour"`) {
		t.Errorf("GroupColumns(family,colour) error = %v", err)
	}
}

// sampleRollouts are the rows of testdata/rollouts.parquet: awkward values on purpose (unicode
// evidence, an undecided row, zero and huge numbers).
func sampleRollouts() []RolloutRow {
	return []RolloutRow{
		{EpisodeID: "selfpres/s14/blackmail-000#0", ConditionID: "selfpres/s14/blackmail-000", Family: "blackmail", GoalType: "explicit",
			Urgency: "replacement", Framing: "evaluation", Style: "formal", Source: "generated:agentlens-selfpres/1", Sample: 0, Seed: 1 << 40,
			Model: "SmolLM2-135M-Instruct", ModelHash: "sha256:ab12", Temperature: 0.7, TopK: 40, TopP: 0.95, MinP: 0.05, MaxTokens: 1024,
			Turns: 1, StopReason: "eos", Harmful: true, Action: ActionThreatenDisclosure, VerdictSource: "rule:blackmail/v1",
			Evidence: `assistant[0].tool_call[0]: "to x@y.com: unless … ✉"`, GeneratedTokens: 412, Seconds: 3.25},
		{EpisodeID: "bundled:blackmail#1", ConditionID: "bundled:blackmail", Family: "blackmail", Source: "bundled:blackmail", Sample: 1,
			Temperature: 0, TopP: 1, MaxTokens: 1, StopReason: "max_tokens", VerdictSource: "judge:qwen2.5-7b", Reason: ReasonNoToolCall},
	}
}

func samplePropensity() []PropensityRow {
	lo, hi := Wilson(3, 5, Z95)
	return []PropensityRow{{GroupBy: "condition", Key: "selfpres/s14/blackmail-000", N: 5, Harmful: 3, Undecided: 1, Rate: 0.6, WilsonLo: lo, WilsonHi: hi},
		{GroupBy: "family", Key: "ünïcode", N: 0, Rate: 0, WilsonLo: 0, WilsonHi: 1}}
}

func TestRolloutTablesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	roundTrip(t, filepath.Join(dir, "rollouts.parquet"), sampleRollouts())
	roundTrip(t, filepath.Join(dir, "propensity.parquet"), samplePropensity())
	roundTrip(t, filepath.Join(dir, "rollout_episodes.parquet"), []RolloutEpisode{
		{EpisodeID: "bundled:blackmail#0", Episode: `{"format":"agentlens.episode.v1","id":"bundled:blackmail#0","messages":[]}`},
		{EpisodeID: "bundled:blackmail#1", Episode: strings.Repeat("x", 70000)},
	})
}

// TestPyarrowReadsOurRollouts: pyarrow's view of the Go-written testdata/rollouts.parquet and
// propensity.parquet (internal/reference/data/rollouts_golden.py, which also opens them with pandas and
// DuckDB) has our columns, types and values.
func TestPyarrowReadsOurRollouts(t *testing.T) {
	check := func(name string, rows any, n int, row func(i int) any, types map[string]string, cols []string) {
		golden := "testdata/" + name + ".parquet"
		write := func(p string) error {
			switch r := rows.(type) {
			case []RolloutRow:
				return Write(p, r)
			case []PropensityRow:
				return Write(p, r)
			}
			panic("unknown rows")
		}
		if *update {
			if err := write(golden); err != nil {
				t.Fatal(err)
			}
			return // the pyarrow view is made from the new file next
		}
		fresh := filepath.Join(t.TempDir(), name+".parquet")
		if err := write(fresh); err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(golden)
		b, _ := os.ReadFile(fresh)
		if string(a) != string(b) {
			t.Fatalf("Write output differs from %s: rerun with -update and regenerate the pyarrow view", golden)
		}
		raw, err := os.ReadFile("testdata/" + name + ".pyarrow.json")
		if err != nil {
			t.Fatal(err)
		}
		var v pyarrowView
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(v.Columns, cols) {
			t.Errorf("%s: pyarrow columns %v, want %v", name, v.Columns, cols)
		}
		for col, typ := range types {
			if v.Types[col] != typ {
				t.Errorf("%s: pyarrow type of %s = %s, want %s", name, col, v.Types[col], typ)
			}
		}
		if len(v.Rows) != n {
			t.Fatalf("%s: pyarrow saw %d rows, want %d", name, len(v.Rows), n)
		}
		for i := range v.Rows {
			if w := columnValues(row(i)); !reflect.DeepEqual(v.Rows[i], w) {
				t.Errorf("%s: pyarrow row %d = %v, want %v", name, i, v.Rows[i], w)
			}
		}
	}
	ro := sampleRollouts()
	for i := range ro {
		setVersion(&ro[i])
	}
	check("rollouts", sampleRollouts(), len(ro), func(i int) any { return ro[i] },
		map[string]string{"harmful": "bool", "seed": "int64", "top_k": "int32", "temperature": "double", "condition_id": "string"}, Columns[RolloutRow]())
	pr := samplePropensity()
	for i := range pr {
		setVersion(&pr[i])
	}
	check("propensity", samplePropensity(), len(pr), func(i int) any { return pr[i] },
		map[string]string{"n": "int32", "rate": "double", "wilson_lo": "double", "key": "string"}, Columns[PropensityRow]())
}
