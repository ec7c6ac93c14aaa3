package data

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sampleProbe is the row of testdata/probe.parquet: awkward values on purpose (a negative zero, a
// tiny scale, unicode, an empty threshold source).
func sampleProbe() Probe {
	return Probe{ProbeID: "smollm2/L12/resid_post/decision/logistic", Model: "SmolLM2-135M-Instruct", ModelHash: "sha256:ab12",
		DModel: 3, Layer: 12, Site: "blocks.12.hook_resid_post", Position: "decision", Method: "logistic", C: 1,
		Mean: []float64{0.5, -0.25, 0}, Scale: []float64{1, 1e-30, 2}, Weights: []float64{1.5, math.Copysign(0, -1), -2},
		Bias: -0.125, Direction: []float64{0.6, 0, -0.8}, Threshold: 2.5, ThresholdSource: "control (1% FPR) ✓",
		PlattA: 0.75, PlattB: -1, DatasetID: "acts.parquet", DatasetHash: "sha256:cd34", TrainExamples: 2000, Folds: 5,
		CVAUROC: 0.97, CVAUROCLo: 0.95, CVAUROCHi: 0.98, CVAccuracy: 0.9, CVRecallAt1FPR: 0.5}
}

func sampleActivations() []Activation {
	return []Activation{
		{EpisodeID: "blackmail-0001-mis", Label: 1, LabelSource: "labels.label", Group: "blackmail-0001", Split: "train",
			Model: "SmolLM2-135M-Instruct", Layer: 0, Site: "blocks.0.hook_resid_post", Position: "decision", Token: 812,
			Vector: []float32{0.25, -1, 3.5e-8}},
		{EpisodeID: "control-7", Label: -1, Model: "SmolLM2-135M-Instruct", Layer: 29, Site: "blocks.29.hook_resid_post",
			Position: "assistant_mean", Token: -1, Vector: []float32{}},
	}
}

func TestProbeTablesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	roundTrip(t, filepath.Join(dir, "acts.parquet"), sampleActivations())
	// The probe row also keeps a negative zero.
	pr := sampleProbe()
	p := filepath.Join(dir, "probe.parquet")
	if err := Write(p, []Probe{pr}); err != nil {
		t.Fatal(err)
	}
	gotP, err := ReadAll[Probe](p)
	if err != nil {
		t.Fatal(err)
	}
	pr.SchemaVersion = SchemaVersion
	if len(gotP) != 1 || !reflect.DeepEqual(gotP[0], pr) || !math.Signbit(gotP[0].Weights[1]) {
		t.Errorf("ReadAll[Probe] = %+v, want %+v", gotP, pr)
	}
	roundTrip(t, filepath.Join(dir, "sweep.parquet"), []ProbeMetric{{Model: "m", Layer: 3, Site: "blocks.3.hook_resid_post",
		Position: "decision", Method: "logistic", Eval: "cv", Examples: 2000, Positives: 1000, AUROC: 0.5, AUROCLo: 0.47,
		AUROCHi: 0.53, Accuracy: 0.5, RecallAt1FPR: 0.01, FPR: 0.01}, {Eval: "test_style", AUROC: math.Inf(1)}})
	roundTrip(t, filepath.Join(dir, "effects.parquet"), []DirectionEffect{{EpisodeID: "e", Label: 1, Split: "test_family",
		Model: "m", ProbeID: "p", Site: "blocks.3.hook_resid_post", Intervention: "project", Direction: "random-07",
		Metric: "log_prob", Base: -1.5, Value: -2.25, Effect: -0.75}})
	roundTrip(t, filepath.Join(dir, "scores.parquet"), []ProbeScore{{EpisodeID: "e", ProbeID: "p", Position: 41,
		Text: " blackmail ✉", SegmentID: "user[0].email[2]", SegmentKind: "email", Score: 3.5, Probability: 0.97, Flagged: true}})
	roundTrip(t, filepath.Join(dir, "segments.parquet"), []ProbeSegmentScore{{EpisodeID: "e", ProbeID: "p", SegmentID: "m2.c0",
		SegmentKind: "email", Label: "Re: the wipe", TokenStart: 10, TokenEnd: 52, MeanScore: -1.25, MaxScore: 4.5, MaxPosition: 40,
		Flagged: 3, FirstFlagged: 38, Threshold: 4.2}, {FirstFlagged: -1}})
	roundTrip(t, filepath.Join(dir, "matrix.parquet"), []SegmentMatrixEntry{{EpisodeID: "e", Model: "m", ModelHash: "sha256:ab",
		Method: "deletion", Metric: "mean_logprob", TargetToken: 4700, SourceID: "m0.system[0]", SourceKind: "system", SourceLabel: "",
		SourceStart: 3, SourceEnd: 250, DestID: "target", DestKind: "target", DestLabel: "token 4700", DestStart: 4700, DestEnd: 4701,
		Base: -0.5, Value: -3.25, Effect: 2.75}, {Value: math.Inf(-1)}})
	roundTrip(t, filepath.Join(dir, "patch.parquet"), []PatchEntry{{EpisodeID: "c", BaselineID: "x", Model: "m", ModelHash: "sha256:ab",
		Method: "atp", Site: "blocks.3.attn.hook_z", Layer: 3, Head: 5, SegmentID: "user[0].email[2]", SegmentKind: "email",
		SegmentLabel: "subject=wipe", Position: -1, CleanStart: 100, CleanEnd: 180, CorruptStart: 40, CorruptEnd: 120, Rewritten: true, TargetToken: 900,
		Metric: "log_prob", Clean: -0.25, Corrupt: -4, Value: -1, Restored: 0.8}, {Head: -1}})
	roundTrip(t, filepath.Join(dir, "attention.parquet"), []AttentionEntry{{EpisodeID: "e", Model: "m", ModelHash: "sha256:ab",
		Method: "attention", Layer: 29, Head: 8, TargetToken: 4747, QueryID: "target", QueryKind: "target", QueryLabel: "token 4747",
		QueryStart: 4746, QueryEnd: 4747, KeyID: "user[0].email[3]", KeyKind: "email", KeyLabel: "from=kyle subject=Re: ✉",
		KeyStart: 900, KeyEnd: 1200, Mass: 0.0625}, {Method: "rollout", Layer: -1, Head: -1, KeyID: "other", KeyStart: -1, KeyEnd: -1, Mass: 1e-300}})
	roundTrip(t, filepath.Join(dir, "organism.parquet"), []OrganismScore{{EpisodeID: "heldout-7", Model: "organism", Variant: "direct",
		Method: "deletion", Metric: "logit_diff", MetricValue: 6.5, SegmentID: "user[0].email[3]", SegmentKind: "email", Planted: true,
		Score: 9.25, Rank: 1, Magnitude: 9.5, MagnitudeRank: 2, Candidates: 9, K: 3, Seconds: 0.015}, {Method: "patch", Score: -0.125, Rank: 9}})
}

// TestPyarrowReadsOurProbe: pyarrow's view of the Go-written testdata/probe.parquet (made by
// internal/reference/data/pyarrow_golden.py, which also opens it with pandas and DuckDB) has our
// columns, list<double> for the vectors, and our values.
func TestPyarrowReadsOurProbe(t *testing.T) {
	golden := "testdata/probe.parquet"
	if *update {
		if err := Write(golden, []Probe{sampleProbe()}); err != nil {
			t.Fatal(err)
		}
	}
	fresh := filepath.Join(t.TempDir(), "p.parquet")
	if err := Write(fresh, []Probe{sampleProbe()}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(golden)
	b, _ := os.ReadFile(fresh)
	if string(a) != string(b) {
		t.Fatalf("Write output differs from %s: rerun with -update and regenerate the pyarrow view", golden)
	}
	raw, err := os.ReadFile("testdata/probe.pyarrow.json")
	if err != nil {
		t.Fatal(err)
	}
	var v pyarrowView
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if want := Columns[Probe](); !reflect.DeepEqual(v.Columns, want) {
		t.Errorf("pyarrow columns %v, want %v", v.Columns, want)
	}
	for col, typ := range map[string]string{"weights": "list<element: double not null>", "d_model": "int32",
		"cv_auroc": "double", "model": "string"} {
		if v.Types[col] != typ {
			t.Errorf("pyarrow type of %s = %s, want %s", col, v.Types[col], typ)
		}
	}
	want := sampleProbe()
	want.SchemaVersion = SchemaVersion
	if len(v.Rows) != 1 {
		t.Fatalf("pyarrow saw %d rows, want 1", len(v.Rows))
	}
	if w := columnValues(want); !reflect.DeepEqual(v.Rows[0], w) {
		t.Errorf("pyarrow row = %v, want %v", v.Rows[0], w)
	}
}

// TestReadPyarrowActivations reads activations written by pyarrow the way a Python pipeline would
// (list<float> with nullable elements, pyarrow's default), as probes must train on activations
// captured elsewhere.
func TestReadPyarrowActivations(t *testing.T) {
	got, err := ReadAll[Activation]("testdata/activations.pyarrow.parquet")
	if err != nil {
		t.Fatal(err)
	}
	want := []Activation{
		{SchemaVersion: 1, EpisodeID: "py-0", Label: 1, LabelSource: "pandas", Group: "pair-0", Split: "train",
			Model: "SmolLM2-135M-Instruct", ModelHash: "sha256:00ff", Layer: 7, Site: "blocks.7.hook_resid_post", Position: "final", Token: 99,
			Vector: []float32{0.5, -1.25, 3}},
		{SchemaVersion: 1, EpisodeID: "py-1", Label: 0, LabelSource: "pandas", Group: "pair-0", Split: "train",
			Model: "SmolLM2-135M-Instruct", ModelHash: "sha256:00ff", Layer: 7, Site: "blocks.7.hook_resid_post", Position: "final", Token: 97,
			Vector: []float32{-0.5, 1.25, -3}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadAll[Activation](pyarrow file) = %+v, want %+v", got, want)
	}
}

// roundTrip writes rows to path and checks they read back equal (with the schema version set).
func roundTrip[T Row](t *testing.T, path string, rows []T) {
	t.Helper()
	if err := Write(path, rows); err != nil {
		t.Fatal(err)
	}
	got, err := ReadAll[T](path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		setVersion(&rows[i])
	}
	if !reflect.DeepEqual(got, rows) {
		t.Errorf("ReadAll(%s) = %+v, want %+v", filepath.Base(path), got, rows)
	}
}

// TestReadColumns reads a sidecar label table written by pyarrow (nullable booleans and integers) as
// text, and names the columns a file has when one is missing.
func TestReadColumns(t *testing.T) {
	got, err := ReadColumns("testdata/sidecar.pyarrow.parquet", "episode_id", "harmful", "score")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"episode_id": {"a", "b", "c"}, "harmful": {"true", "false", ""}, "score": {"3", "", "-1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadColumns = %v, want %v", got, want)
	}
	if _, err := ReadColumns("testdata/sidecar.pyarrow.parquet", "verdict"); !errors.Is(err, ErrSchema) ||
		!strings.Contains(err.Error(), "column verdict missing") || !strings.Contains(err.Error(), "[episode_id harmful score]") {
		t.Errorf("ReadColumns(missing column) error = %v", err)
	}
}
