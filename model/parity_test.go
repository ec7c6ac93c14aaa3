package model_test

import (
	"compress/gzip"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/backend"
	"github.com/agentlens/agentlens/model/modeltest"
)

type tinyGolden struct {
	Transformers string `json:"transformers"`
	Cases        []struct {
		Family string      `json:"family"`
		Tokens []int       `json:"tokens"`
		Logits [][]float64 `json:"logits"`
	} `json:"cases"`
}

func readGzipJSON(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(zr).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestTinyParityWithTransformers compares logits at every position with Hugging Face transformers run in
// float32 on the same tiny weights (internal/reference/model/tiny_logits.py), on SimpleGo and, when it is
// available, on XLA. Tolerance 1e-3 absolute is the bar; the goldens are rounded to 1e-6, and the
// measured difference is logged.
func TestTinyParityWithTransformers(t *testing.T) {
	var g tinyGolden
	readGzipJSON(t, "testdata/tiny_logits.json.gz", &g)
	backs := []string{"go"}
	xb, _, xerr := backend.New(backend.XLA, backend.Options{})
	if xerr == nil {
		backs = append(backs, "xla")
	} else {
		t.Logf("xla backend unavailable, checking SimpleGo only: %v", xerr)
	}
	for _, back := range backs {
		t.Run(back, func(t *testing.T) {
			models := map[string]*model.Model{}
			for _, c := range g.Cases {
				m := models[c.Family]
				if m == nil {
					if back == "go" {
						m = tiny(t, c.Family, model.Options{})
					} else {
						dir, err := modeltest.Write(t.TempDir(), c.Family, 1)
						if err != nil {
							t.Fatal(err)
						}
						if m, _, err = model.Load(dir, model.LoadOptions{Backend: xb}); err != nil {
							t.Fatal(err)
						}
					}
					models[c.Family] = m
				}
				res, err := m.Run(c.Tokens, model.RunOptions{LogitPositions: model.AllPositions(len(c.Tokens))})
				if err != nil {
					t.Fatal(err)
				}
				worst := 0.0
				for p, row := range c.Logits {
					got := res.Logits.Row(p)
					for v, want := range row {
						worst = math.Max(worst, math.Abs(float64(got[v])-want))
					}
				}
				t.Logf("%s, %d tokens: max |Δlogit| vs transformers %s = %.2e", c.Family, len(c.Tokens), g.Transformers, worst)
				if worst > 1e-3 {
					t.Errorf("%s, %d tokens: max |Δlogit| = %g, want ≤ 1e-3", c.Family, len(c.Tokens), worst)
				}
			}
		})
	}
}
