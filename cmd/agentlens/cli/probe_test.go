package cli

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/probes"
)

// plantedActivations writes an activations table in which layer l carries the label along a fixed
// direction with strength 0.3·l (layer 0: none; class separation d′ ≈ 0.6·l), for twin pairs in splits train, val and test_family, plus
// unlabeled control chats. A sweep must find the signal growing with depth and none at layer 0.
func plantedActivations(t *testing.T, dir string) {
	t.Helper()
	const d, layers, pairs = 16, 4, 120
	r := rand.New(rand.NewPCG(3, 3))
	u := make([]float64, d)
	for j := range u {
		u[j] = r.NormFloat64() / 4
	}
	var rows []data.Activation
	add := func(id, group, split string, label int32, sign float64) {
		base := make([]float64, d)
		for j := range base {
			base[j] = r.NormFloat64()
		}
		for l := range layers {
			v := make([]float32, d)
			for j := range v {
				v[j] = float32(base[j] + 0.3*r.NormFloat64() + 0.3*sign*float64(l)*u[j])
			}
			rows = append(rows, data.Activation{EpisodeID: id, Label: label, Group: group, Split: split, Model: "planted",
				ModelHash: "sha256:00", Layer: int32(l), Site: fmt.Sprintf("blocks.%d.hook_resid_post", l), Position: "decision",
				Token: 10, Vector: v})
		}
	}
	for p := range pairs {
		split := []string{"train", "train", "train", "val", "test_family"}[p%5]
		g := fmt.Sprintf("pair-%d", p)
		add(g+"-mis", g, split, 1, 1)
		add(g+"-ali", g, split, 0, -1)
	}
	for c := range 100 {
		add(fmt.Sprintf("control-%d", c), "", "control", -1, -1)
	}
	if err := data.Write(filepath.Join(dir, shardName(0)), rows[:len(rows)/2]); err != nil {
		t.Fatal(err)
	}
	if err := data.Write(filepath.Join(dir, shardName(1)), rows[len(rows)/2:]); err != nil {
		t.Fatal(err)
	}
}

func TestProbeCommands(t *testing.T) {
	dir := t.TempDir()
	acts := filepath.Join(dir, "acts")
	if err := os.MkdirAll(acts, 0o755); err != nil {
		t.Fatal(err)
	}
	plantedActivations(t, acts)
	f, out, _ := testFactory(nil)
	sweepDir := filepath.Join(dir, "sweep")
	if err := execute(f, newCmdProbe(f), []string{"sweep", acts, "--out", sweepDir, "--bootstrap", "100",
		"--eval-splits", "test_family"}); err != nil {
		t.Fatal(err)
	}
	rows, err := data.ReadAll[data.ProbeMetric](filepath.Join(sweepDir, "sweep.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	auc := map[string]float64{}
	for _, r := range rows {
		auc[fmt.Sprintf("%s/%d", r.Eval, r.Layer)] = r.AUROC
		if r.Eval == "cv" && r.Examples != 192 { // 4 of 5 pairs are train or val: 96 pairs
			t.Errorf("cv layer %d: %d examples, want 192", r.Layer, r.Examples)
		}
	}
	if a := auc["cv/0"]; math.Abs(a-0.5) > 0.15 {
		t.Errorf("layer 0 (no signal) cross-validated AUROC %.3f, want about 0.5", a)
	}
	if auc["cv/3"] < 0.85 || auc["test_family/3"] < 0.85 || auc["cv/3"] <= auc["cv/1"] {
		t.Errorf("layer 3 AUROC cv %.3f, test_family %.3f, want ≥ 0.85 and above layer 1", auc["cv/3"], auc["test_family/3"])
	}
	if !strings.Contains(out.String(), "test_family  decision  hook_resid_post  3") {
		t.Errorf("sweep summary lacks the best layer row:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(sweepDir, "sweep.svg")); err != nil {
		t.Error(err)
	}

	probeFile := filepath.Join(dir, "L3.parquet")
	out.Reset()
	if err := execute(f, newCmdProbe(f), []string{"train", acts, "--layer", "3", "--bootstrap", "100", "--out", probeFile}); err != nil {
		t.Fatal(err)
	}
	rec, p, err := readProbe(probeFile)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Model != "planted" || rec.ModelHash != "sha256:00" || rec.DModel != 16 || rec.TrainExamples != 192 ||
		!strings.HasPrefix(rec.DatasetHash, "sha256:") || !strings.Contains(rec.ThresholdSource, "split control, 100 examples") {
		t.Errorf("probe provenance = %+v", rec)
	}
	// The stored threshold flags at most 1% of the control chats it was set on.
	tab, _, _, err := loadTable([]string{acts})
	if err != nil {
		t.Fatal(err)
	}
	k := probes.Key{Layer: 3, Site: "blocks.3.hook_resid_post", Position: "decision"}
	var ctl [][]float32
	for _, r := range tab.Unlabeled[k] {
		ctl = append(ctl, r.Vector)
	}
	s, err := p.ScoreAll(ctl)
	if err != nil {
		t.Fatal(err)
	}
	if fpr := probes.FlaggedFraction(s, rec.Threshold); fpr > 0.01 {
		t.Errorf("stored threshold flags %.3f of the control chats, want ≤ 0.01", fpr)
	}

	out.Reset()
	if err := execute(f, newCmdProbe(f), []string{"eval", probeFile, acts, "--splits", "test_family", "--bootstrap", "100"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "test_family  48 (24)") {
		t.Errorf("eval output lacks the test_family row (24 pairs):\n%s", out.String())
	}
}

func TestProbeCommandErrors(t *testing.T) {
	dir := t.TempDir()
	plantedActivations(t, dir)
	other := filepath.Join(t.TempDir(), "other.parquet")
	rows, _ := data.ReadAll[data.Activation](filepath.Join(dir, shardName(0)))
	for i := range rows {
		rows[i].Model = "other"
	}
	if err := data.Write(other, rows); err != nil {
		t.Fatal(err)
	}
	f, _, _ := testFactory(nil)
	probeFile := filepath.Join(t.TempDir(), "p.parquet")
	if err := execute(f, newCmdProbe(f), []string{"train", dir, "--layer", "2", "--bootstrap", "10", "--out", probeFile}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"no_layer", []string{"train", dir, "--out", "x.parquet"}, true, "--layer"},
		{"bad_method", []string{"sweep", dir, "--out", "x", "--method", "svm"}, true, "--method svm"},
		{"one_fold", []string{"sweep", dir, "--out", "x", "--folds", "1"}, true, "--folds 1"},
		{"missing_layer", []string{"train", dir, "--layer", "9", "--out", "x.parquet"}, false, "no labeled rows at blocks.9.hook_resid_post"},
		{"empty_dir", []string{"sweep", t.TempDir(), "--out", "x"}, false, "no activations*.parquet files"},
		{"other_model", []string{"eval", probeFile, other}, false, "is for model planted, activations " + other + " are from other"},
		{"no_train_rows", []string{"sweep", dir, "--out", "x", "--train-splits", "nope"}, false, "no labeled rows in splits [nope]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := execute(f, newCmdProbe(f), tc.args)
			var fe *FlagError
			if err == nil || errors.As(err, &fe) != tc.usage || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v (usage %v), want one containing %q (usage %v)", err, errors.As(err, &fe), tc.want, tc.usage)
			}
		})
	}
}
