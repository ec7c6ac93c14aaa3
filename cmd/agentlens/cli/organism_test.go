package cli

import (
	"slices"
	"testing"

	"github.com/agentlens/agentlens/attribution/organism"
)

func TestNewCmdOrganismEval(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		want      organismEvalOptions // Out, Model, Episodes, Methods, Layer, Seed compared
		wantUsage string
	}{
		{name: "defaults", args: []string{"--out", "ev"}, want: organismEvalOptions{Out: "ev", Model: "embedded", RModel: "embedded", Episodes: 200, Methods: organism.Methods, Seed: 1}},
		{name: "all flags", args: []string{"-o", "ev", "-m", "mine", "--reasoning-model", "same", "-n", "30", "--method", "deletion,ig", "--layer", "1", "--seed", "4"},
			want: organismEvalOptions{Out: "ev", Model: "mine", RModel: "same", Episodes: 30, Methods: []string{"deletion", "ig"}, Layer: 1, Seed: 4}},
		{name: "no out", args: nil, wantUsage: "--out is required"},
		{name: "bad method", args: []string{"--out", "ev", "--method", "saliency"}, wantUsage: "--method saliency: want some of deletion,ig"},
		{name: "no episodes", args: []string{"--out", "ev", "-n", "0"}, wantUsage: "--episodes 0: want at least 1"},
		{name: "seed zero", args: []string{"--out", "ev", "--seed", "0"}, wantUsage: "--seed 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parseFlags(t, newCmdOrganismEval, tc.args, tc.wantUsage)
			if got == nil {
				return
			}
			if got.Out != tc.want.Out || got.Model != tc.want.Model || got.RModel != tc.want.RModel || got.Episodes != tc.want.Episodes || !slices.Equal(got.Methods, tc.want.Methods) ||
				got.Layer != tc.want.Layer || got.Seed != tc.want.Seed {
				t.Errorf("options = out %q model %q episodes %d methods %v layer %d seed %d, want %+v", got.Out, got.Model, got.Episodes,
					got.Methods, got.Layer, got.Seed, tc.want)
			}
		})
	}
}

func TestNewCmdOrganismTrain(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		want      organismTrainOptions // Out, Seed, Steps, Batch, LR, Episodes compared
		wantUsage string
	}{
		{name: "defaults", args: []string{"--out", "m"}, want: organismTrainOptions{Out: "m", Seed: 1, Steps: organism.DefaultSteps, Batch: 32, LR: 3e-3, Episodes: 20000, Variant: "both"}},
		{name: "all flags", args: []string{"-o", "m", "--seed", "7", "--steps", "10", "--batch", "4", "--lr", "0.01", "--episodes", "64"},
			want: organismTrainOptions{Out: "m", Seed: 7, Steps: 10, Batch: 4, LR: 0.01, Episodes: 64, Variant: "both"}},
		{name: "no out", args: nil, wantUsage: "--out is required"},
		{name: "no steps", args: []string{"--out", "m", "--steps", "0"}, wantUsage: "--steps 0"},
		{name: "bad lr", args: []string{"--out", "m", "--lr", "-1"}, wantUsage: "--lr -1"},
		{name: "too few episodes", args: []string{"--out", "m", "--episodes", "8"}, wantUsage: "--episodes 8: want at least one batch (32)"},
		{name: "stray argument", args: []string{"--out", "m", "x"}, wantUsage: "accepts 0 arg(s), received 1"},
		{name: "reasoning", args: []string{"--out", "m", "--variant", "reasoning", "--flip-share", "0.1"},
			want: organismTrainOptions{Out: "m", Seed: 1, Steps: organism.DefaultSteps, Batch: 32, LR: 3e-3, Episodes: 20000, Variant: "reasoning", Flip: 0.1}},
		{name: "bad variant", args: []string{"--out", "m", "--variant", "both,direct"}, wantUsage: "--variant both,direct: want both, direct or reasoning"},
		{name: "flip without reasoning", args: []string{"--out", "m", "--variant", "direct", "--flip-share", "0.1"}, wantUsage: "--flip-share 0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parseFlags(t, newCmdOrganismTrain, tc.args, tc.wantUsage)
			if got == nil {
				return
			}
			if got.Out != tc.want.Out || got.Seed != tc.want.Seed || got.Steps != tc.want.Steps || got.Batch != tc.want.Batch ||
				got.LR != tc.want.LR || got.Episodes != tc.want.Episodes || got.Variant != tc.want.Variant || got.Flip != tc.want.Flip {
				t.Errorf("options = %+v, want %+v", *got, tc.want)
			}
		})
	}
}
