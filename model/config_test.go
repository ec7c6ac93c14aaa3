package model_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/model"
)

func TestRopeConfig(t *testing.T) {
	var c struct {
		RopeScaling    *model.RopeConfig `json:"rope_scaling"`
		RopeParameters *model.RopeConfig `json:"rope_parameters"`
	}
	if _, err := model.DecodeConfig([]byte(`{"rope_parameters": {"type": "yarn", "rope_theta": 5e5, "factor": 4}}`), &c); err != nil {
		t.Fatal(err)
	}
	rs, key := model.PickRope(c.RopeScaling, c.RopeParameters)
	if rs != c.RopeParameters || key != "rope_parameters" || rs.Kind() != "yarn" {
		t.Fatalf("PickRope = %+v, %q (kind %q), want the rope_parameters block", rs, key, rs.Kind())
	}
	if th := rs.Theta(0, 10000); th != 5e5 {
		t.Errorf("Theta(0) = %g, want the block's 5e5", th)
	}
	if th := rs.Theta(1e6, 10000); th != 1e6 {
		t.Errorf("Theta(1e6) = %g, want the top-level 1e6", th)
	}
	err := rs.CheckType(key, "Fam", "linear")
	if !errors.Is(err, model.ErrBadConfig) || !strings.Contains(err.Error(), `rope_parameters type "yarn" is not supported for Fam`) || !strings.Contains(err.Error(), "rope_scaling") {
		t.Errorf("CheckType = %v", err)
	}
	if err := (&model.RopeConfig{RopeType: "yarn", Type: "default"}).CheckType("rope_scaling", "Fam"); err == nil {
		t.Error("CheckType accepts rope_type yarn beside type default")
	}
	if err := (&model.RopeConfig{RopeType: "default", Type: "yarn"}).CheckType("rope_scaling", "Fam"); err != nil {
		t.Errorf("CheckType(rope_type default, type yarn) = %v, want rope_type to win as in Hugging Face", err)
	}
	if err := (&model.RopeConfig{RopeType: "linear"}).CheckType("rope_scaling", "Fam", "linear"); err != nil {
		t.Errorf("CheckType(linear allowed) = %v", err)
	}

	var none *model.RopeConfig
	if rs, key := model.PickRope(nil, nil); rs != nil || key != "rope_scaling" {
		t.Errorf("PickRope(nil, nil) = %v, %q", rs, key)
	}
	if none.Kind() != "" || none.Theta(0, 10000) != 10000 || none.CheckType("rope_scaling", "Fam") != nil {
		t.Error("a nil block is not the default")
	}
	inv := model.DefaultInvFreq(10000, 8)
	if got := none.ScaleInvFreq(slices.Clone(inv)); !slices.Equal(got, inv) {
		t.Errorf("nil ScaleInvFreq = %v, want %v", got, inv)
	}
	if got := (&model.RopeConfig{Type: "linear", Factor: 2}).ScaleInvFreq(slices.Clone(inv)); got[1] != inv[1]/2 {
		t.Errorf("linear ScaleInvFreq = %v, want %v halved", got, inv)
	}
	l3 := &model.RopeConfig{RopeType: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8}
	if got, want := l3.ScaleInvFreq(slices.Clone(inv)), model.Llama3InvFreq(inv, 8, 1, 4, 8); !slices.Equal(got, want) {
		t.Errorf("llama3 ScaleInvFreq = %v, want %v", got, want)
	}
}

func TestRequireAct(t *testing.T) {
	if err := model.RequireAct("hidden_act", "", "silu"); err != nil {
		t.Errorf("absent act: %v", err)
	}
	if err := model.RequireAct("hidden_act", "silu", "silu"); err != nil {
		t.Errorf("silu: %v", err)
	}
	err := model.RequireAct("hidden_act", "gelu", "silu")
	if !errors.Is(err, model.ErrBadConfig) || !strings.Contains(err.Error(), `hidden_act "gelu" (want silu)`) {
		t.Errorf("gelu: %v", err)
	}
	if _, err := model.DecodeConfig([]byte(`[1]`), &struct{}{}); !errors.Is(err, model.ErrBadConfig) {
		t.Errorf("DecodeConfig([1]) = %v, want ErrBadConfig", err)
	}
}
