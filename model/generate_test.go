package model_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"

	"github.com/agentlens/agentlens/internal/testutil"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/backend"
	"github.com/agentlens/agentlens/model/modeltest"
)

// xlaBackend is one XLA backend for the generation tests (nil and an error when the plugin is absent).
var xlaBackend = sync.OnceValues(func() (backends.Backend, error) {
	b, _, err := backend.New(backend.XLA, backend.Options{})
	return b, err
})

// genModels returns the tiny model of a family on SimpleGo and, when the XLA plugin is available, on
// XLA, keyed by backend name.
func genModels(t *testing.T, fam string) map[string]*model.Model {
	t.Helper()
	out := map[string]*model.Model{"go": tiny(t, fam, model.Options{})}
	xb, err := xlaBackend()
	if err != nil {
		t.Logf("xla backend unavailable, checking SimpleGo only: %v", err)
		return out
	}
	dir, err := modeltest.Write(t.TempDir(), fam, 1)
	if err != nil {
		t.Fatal(err)
	}
	xm, _, err := model.Load(dir, model.LoadOptions{Backend: xb})
	if err != nil {
		t.Fatal(err)
	}
	out["xla"] = xm
	return out
}

// argmax returns the index of the largest value, ties to the lowest index, and the gap to the runner-up.
func argmax(row []float32) (int, float64) {
	best, second := 0, math.Inf(-1)
	for i, v := range row {
		if v > row[best] {
			second, best = float64(row[best]), i
		} else if i != best && float64(v) > second {
			second = float64(v)
		}
	}
	return best, float64(row[best]) - second
}

// TestGenerateGreedyMatchesFullForward is the KV cache's correctness test: greedy generation equals, token
// for token, the argmax of a full forward pass (Run over the whole sequence) repeated at each step, for
// every family and backend, with prompts of 40 tokens (longer than the tiny sliding window of 16, so
// windows cut the cached keys) and 24 new tokens. Log-probabilities equal log-softmax of the full
// forward's logits within 2e-5: the decode step sums attention in another order (attn.Decode over the
// cache segments instead of the forward's tiles) and runs its graphs on a few rows instead of 64, so
// float32 sums differ in the last bits; the tiny models' logits are O(1).
func TestGenerateGreedyMatchesFullForward(t *testing.T) {
	const nNew = 24
	for _, fam := range modeltest.Families {
		t.Run(fam, func(t *testing.T) {
			for back, m := range genModels(t, fam) {
				prompt := tokens(40, 5)
				gens, stats, err := m.Generate(prompt, 1, model.SampleOptions{MaxTokens: nNew})
				if err != nil {
					t.Fatal(err)
				}
				g := gens[0]
				if len(g.Tokens) != nNew || g.StopReason != model.StopMax || stats.Generated != nNew || stats.PromptTokens != 40 {
					t.Fatalf("%s: %d tokens, reason %q, stats %+v; want %d, max_tokens", back, len(g.Tokens), g.StopReason, stats, nNew)
				}
				seq := slices.Clone(prompt)
				worst := 0.0
				for step := range nNew {
					res, err := m.Run(seq, model.RunOptions{})
					if err != nil {
						t.Fatal(err)
					}
					want, gap := argmax(res.Logits.Row(0))
					if g.Tokens[step] != want {
						t.Fatalf("%s step %d: token %d, full forward's argmax %d (top-2 logit gap %.3g)", back, step, g.Tokens[step], want, gap)
					}
					lp := logSoftmaxAt(res.Logits.Row(0), want)
					worst = math.Max(worst, math.Abs(float64(g.LogProbs[step])-lp))
					seq = append(seq, want)
				}
				t.Logf("%s: max |Δlogprob| vs full forward %.2e", back, worst)
				if worst > 2e-5 {
					t.Errorf("%s: max |Δlogprob| = %g, want ≤ 2e-5", back, worst)
				}
			}
		})
	}
}

// TestGenerateSampledLogProbsMatchFullForward complements the greedy test where a model is near one-hot
// (the tiny Gemma-3 always prefers one token, so greedy log-probabilities are all ≈ 0): it samples 24
// tokens at temperature 4, so unlikely tokens are drawn, and checks each one's log-probability against
// log-softmax of one full forward pass over the prompt and the sampled tokens (teacher forcing), for
// every family and backend. Tolerance 2e-5 + 2e-6·|log p|: the decode step's float32 logits differ from
// the forward's in the last bits (see the greedy test), and log p of an unlikely token is a difference
// of O(10–100) numbers.
func TestGenerateSampledLogProbsMatchFullForward(t *testing.T) {
	for _, fam := range modeltest.Families {
		t.Run(fam, func(t *testing.T) {
			for back, m := range genModels(t, fam) {
				prompt := tokens(40, 6)
				gens, _, err := m.Generate(prompt, 2, model.SampleOptions{MaxTokens: 24, Temperature: 4, Seed: 3})
				if err != nil {
					t.Fatal(err)
				}
				for i, g := range gens {
					seq := append(slices.Clone(prompt), g.Tokens...)
					res, err := m.Run(seq, model.RunOptions{LogitPositions: model.AllPositions(len(seq))})
					if err != nil {
						t.Fatal(err)
					}
					worst, low := 0.0, 0.0
					for j, tok := range g.Tokens {
						want := logSoftmaxAt(res.Logits.Row(len(prompt)+j-1), tok)
						d := math.Abs(float64(g.LogProbs[j]) - want)
						worst, low = math.Max(worst, d), math.Min(low, want)
						if d > 2e-5+2e-6*math.Abs(want) {
							t.Errorf("%s sample %d token %d (%d): log p %g, full forward %g", back, i, j, tok, g.LogProbs[j], want)
						}
					}
					t.Logf("%s sample %d: max |Δlog p| %.2e, lowest log p %.1f", back, i, worst, low)
				}
			}
		})
	}
}

// sampleCases are the sampling settings the reproducibility tests run.
var sampleCases = []struct {
	name string
	opts model.SampleOptions
}{
	{"temperature", model.SampleOptions{Temperature: 0.8}},
	{"top-k", model.SampleOptions{Temperature: 0.8, TopK: 5}},
	{"top-p", model.SampleOptions{Temperature: 0.8, TopP: 0.9}},
	{"min-p", model.SampleOptions{Temperature: 0.8, MinP: 0.05}},
	{"all", model.SampleOptions{Temperature: 1.2, TopK: 20, TopP: 0.8, MinP: 0.02}},
}

// TestGenerateSeededReproducible checks that seeded sampling gives the same tokens in two runs and on
// SimpleGo and XLA, for temperature, top-k, top-p and min-p and all together, with 3 samples of 16
// tokens, for every family, and that the samples differ from each other (the seeds are per sample)
// where the model leaves room for chance.
func TestGenerateSeededReproducible(t *testing.T) {
	for _, fam := range modeltest.Families {
		t.Run(fam, func(t *testing.T) {
			ms := genModels(t, fam)
			prompt := tokens(30, 9)
			for _, c := range sampleCases {
				opts := c.opts
				opts.MaxTokens, opts.Seed = 16, 42
				var ref [][]int
				for _, back := range []string{"go", "go", "xla"} {
					m := ms[back]
					if m == nil {
						continue
					}
					gens, _, err := m.Generate(prompt, 3, opts)
					if err != nil {
						t.Fatal(err)
					}
					var got [][]int
					uncertain := false // some drawn token had p < 0.9 (the tiny Gemma-3 is near one-hot)
					for _, g := range gens {
						got = append(got, g.Tokens)
						for _, lp := range g.LogProbs {
							uncertain = uncertain || lp < -0.1
						}
					}
					if ref == nil {
						ref = got
						if uncertain && slices.Equal(got[0], got[1]) && slices.Equal(got[1], got[2]) {
							t.Errorf("%s: three samples are identical: %v", c.name, got[0])
						}
						continue
					}
					for i := range got {
						if !slices.Equal(got[i], ref[i]) {
							t.Errorf("%s on %s, sample %d: %v, first run %v", c.name, back, i, got[i], ref[i])
						}
					}
				}
			}
		})
	}
}

// TestGenerateBatchEqualsSingles checks that n samples decoded together equal the same samples (same
// seeds, through FirstSample) generated one at a time, for every family and backend, with samples
// stopping at different steps so the batch shrinks (8 rows, then 4, 2, 1).
func TestGenerateBatchEqualsSingles(t *testing.T) {
	for _, fam := range modeltest.Families {
		t.Run(fam, func(t *testing.T) {
			for back, m := range genModels(t, fam) {
				prompt := tokens(25, 3)
				stop := func(sample int, gen []int) bool { return len(gen) >= 3+2*sample }
				opts := model.SampleOptions{MaxTokens: 18, Temperature: 0.8, TopP: 0.95, Seed: 7, Stop: stop}
				batch, _, err := m.Generate(prompt, 6, opts)
				if err != nil {
					t.Fatal(err)
				}
				for i := range batch {
					one := opts
					one.FirstSample = i
					single, _, err := m.Generate(prompt, 1, one)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(single[0].Tokens, batch[i].Tokens) || single[0].StopReason != batch[i].StopReason {
						t.Errorf("%s sample %d: alone %v (%s), in the batch %v (%s)", back, i, single[0].Tokens, single[0].StopReason,
							batch[i].Tokens, batch[i].StopReason)
					}
					if d := maxAbsDiff(single[0].LogProbs, batch[i].LogProbs); d > 2e-5 {
						t.Errorf("%s sample %d: max |Δlogprob| alone vs in the batch = %g", back, i, d)
					}
				}
			}
		})
	}
}

// TestGeneratePrefix checks that a Prefix of the prompt's start gives the same generation as none (and
// is reused), that a Prefix that only partly matches is reused up to the mismatch, that one of the whole
// prompt is reused but for its last position, and that
// GeneratePrefix gives the next turn the same generation as computing everything.
func TestGeneratePrefix(t *testing.T) {
	for _, fam := range []string{"llama", "mistral", "gemma2"} {
		t.Run(fam, func(t *testing.T) {
			m := tiny(t, fam, model.Options{})
			prompt := tokens(40, 11)
			opts := model.SampleOptions{MaxTokens: 12}
			want, _, err := m.Generate(prompt, 1, opts)
			if err != nil {
				t.Fatal(err)
			}
			pf, err := m.NewPrefix(prompt[:20])
			if err != nil {
				t.Fatal(err)
			}
			other, err := m.NewPrefix(append(slices.Clone(prompt[:30]), 1, 2, 3))
			if err != nil {
				t.Fatal(err)
			}
			whole, err := m.NewPrefix(prompt) // the last position is recomputed for its logits
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name  string
				pf    *model.Prefix
				reuse int
			}{{"start", pf, 20}, {"partial", other, 30}, {"whole prompt", whole, 39}} {
				opts.Prefix = c.pf
				got, stats, err := m.Generate(prompt, 1, opts)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got[0].Tokens, want[0].Tokens) || stats.PrefixReused != c.reuse {
					t.Errorf("%s: %v reusing %d, want %v reusing %d", c.name, got[0].Tokens, stats.PrefixReused, want[0].Tokens, c.reuse)
				}
			}
			// Next turn: the first turn's prompt and output, then a user message.
			next, err := m.GeneratePrefix(prompt, want[0])
			if err != nil {
				t.Fatal(err)
			}
			turn2 := append(append(slices.Clone(prompt), want[0].Tokens...), tokens(9, 12)...)
			if next.Len() != len(prompt)+len(want[0].Tokens) {
				t.Fatalf("GeneratePrefix: %d tokens, want %d", next.Len(), len(prompt)+len(want[0].Tokens))
			}
			fresh, err := m.NewPrefix(turn2[:next.Len()])
			if err != nil {
				t.Fatal(err)
			}
			opts.Prefix = nil
			ref, _, err := m.Generate(turn2, 1, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, pf := range []*model.Prefix{next, fresh} {
				opts.Prefix = pf
				got, stats, err := m.Generate(turn2, 1, opts)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got[0].Tokens, ref[0].Tokens) || stats.PrefixReused != next.Len() {
					t.Errorf("turn 2: %v reusing %d, want %v reusing %d", got[0].Tokens, stats.PrefixReused, ref[0].Tokens, next.Len())
				}
				if d := maxAbsDiff(got[0].LogProbs, ref[0].LogProbs); d > 2e-5 {
					t.Errorf("turn 2: max |Δlogprob| = %g", d)
				}
			}
		})
	}
}

// TestGenerateStops checks the three ways a sample ends.
func TestGenerateStops(t *testing.T) {
	m := tiny(t, "qwen2", model.Options{})
	prompt := tokens(20, 4)
	free, _, err := m.Generate(prompt, 1, model.SampleOptions{MaxTokens: 10})
	if err != nil {
		t.Fatal(err)
	}
	stopTok := free[0].Tokens[4]
	first := slices.Index(free[0].Tokens, stopTok)
	var asked []int
	for _, c := range []struct {
		name   string
		opts   model.SampleOptions
		n      int
		reason string
	}{
		{"max tokens", model.SampleOptions{MaxTokens: 7}, 7, model.StopMax},
		{"stop token", model.SampleOptions{MaxTokens: 10, StopTokens: []int{stopTok}}, first + 1, model.StopToken},
		{"stop func", model.SampleOptions{MaxTokens: 10, Stop: func(s int, gen []int) bool {
			asked = append(asked, len(gen))
			return len(gen) == 3
		}}, 3, model.StopFunc},
	} {
		var progress []int
		c.opts.Progress = func(done, total int) { progress = append(progress, done) }
		gens, _, err := m.Generate(prompt, 1, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		g := gens[0]
		if len(g.Tokens) != c.n || g.StopReason != c.reason || !slices.Equal(g.Tokens, free[0].Tokens[:c.n]) || len(g.LogProbs) != c.n {
			t.Errorf("%s: %v (%s), want %v (%s)", c.name, g.Tokens, g.StopReason, free[0].Tokens[:c.n], c.reason)
		}
		if len(progress) != c.n || progress[c.n-1] != c.n {
			t.Errorf("%s: progress %v, want 1..%d", c.name, progress, c.n)
		}
	}
	if !slices.Equal(asked, []int{1, 2, 3}) {
		t.Errorf("Stop asked with %v tokens, want 1, 2, 3", asked)
	}
}

// TestGenerateBadOptions checks that invalid options and prompts are errors wrapping ErrBadInput.
func TestGenerateBadOptions(t *testing.T) {
	m := tiny(t, "llama", model.Options{})
	prompt := tokens(10, 1)
	for _, c := range []struct {
		name   string
		prompt []int
		n      int
		opts   model.SampleOptions
	}{
		{"max tokens 0", prompt, 1, model.SampleOptions{}},
		{"negative temperature", prompt, 1, model.SampleOptions{MaxTokens: 4, Temperature: -0.5}},
		{"NaN temperature", prompt, 1, model.SampleOptions{MaxTokens: 4, Temperature: math.NaN()}},
		{"top-p above 1", prompt, 1, model.SampleOptions{MaxTokens: 4, Temperature: 1, TopP: 1.5}},
		{"negative top-k", prompt, 1, model.SampleOptions{MaxTokens: 4, Temperature: 1, TopK: -1}},
		{"min-p above 1", prompt, 1, model.SampleOptions{MaxTokens: 4, Temperature: 1, MinP: 2}},
		{"stop token outside vocabulary", prompt, 1, model.SampleOptions{MaxTokens: 4, StopTokens: []int{modeltest.DVocab}}},
		{"no samples", prompt, 0, model.SampleOptions{MaxTokens: 4}},
		{"empty prompt", nil, 1, model.SampleOptions{MaxTokens: 4}},
		{"token outside vocabulary", []int{1, modeltest.DVocab}, 1, model.SampleOptions{MaxTokens: 4}},
		{"beyond context", prompt, 1, model.SampleOptions{MaxTokens: 4096}},
	} {
		_, _, err := m.Generate(c.prompt, c.n, c.opts)
		if !errors.Is(err, model.ErrBadInput) {
			t.Errorf("%s: error %v, want one wrapping ErrBadInput", c.name, err)
		}
		if c.name == "beyond context" && err != nil && !(strings.Contains(err.Error(), "context length") && strings.Contains(err.Error(), "4096")) {
			t.Errorf("%s: error %q does not name the context length", c.name, err)
		}
	}
}

// TestSamplerStatistics checks the sampler on a fixed logits vector at a fixed seed: greedy is the argmax
// with ties to the lowest id; top-k = 2 only ever draws the two best; top-p and min-p drop what they
// should; and temperature sampling's frequencies lie within 4.5 binomial standard deviations of the
// softmax probabilities of logits/T (a false alarm about once in 10⁵ per token at a given seed; the seed is
// fixed, so the test is deterministic).
func TestSamplerStatistics(t *testing.T) {
	logits := []float32{1, 3, 3, 0.5, 2, -1, 2.5, 0}
	const draws = 20000
	freq := func(opts model.SampleOptions) []int {
		rng := rand.New(rand.NewPCG(1, 2))
		f := make([]int, len(logits))
		for range draws {
			f[model.SampleLogits(logits, opts, rng)]++
		}
		return f
	}
	if got := model.SampleLogits(logits, model.SampleOptions{}, nil); got != 1 {
		t.Errorf("greedy: %d, want 1 (tied with 2, lowest id)", got)
	}
	for _, temp := range []float64{0.8, 1, 2} {
		f := freq(model.SampleOptions{Temperature: temp})
		sum := 0.0
		for _, l := range logits {
			sum += math.Exp(float64(l) / temp)
		}
		for i, l := range logits {
			p := math.Exp(float64(l)/temp) / sum
			mean, sd := draws*p, math.Sqrt(draws*p*(1-p))
			if math.Abs(float64(f[i])-mean) > 4.5*sd+1 {
				t.Errorf("T=%g: token %d drawn %d times, want %.0f ± %.0f", temp, i, f[i], mean, 4.5*sd)
			}
		}
	}
	for _, c := range []struct {
		name string
		opts model.SampleOptions
		keep []int
	}{
		// Ties at the k-th score stay (as Hugging Face's top-k): k = 1 keeps both 3s.
		{"top-k 1", model.SampleOptions{Temperature: 1, TopK: 1}, []int{1, 2}},
		{"top-k 2", model.SampleOptions{Temperature: 1, TopK: 2}, []int{1, 2}},
		{"top-k 3", model.SampleOptions{Temperature: 1, TopK: 3}, []int{1, 2, 6}},
		// Probabilities at T=1: 3s 0.313 each, 2.5 0.190, 2 0.115, 1 0.042 ...: 0.5 needs both 3s,
		// 0.7 adds 2.5.
		{"top-p 0.5", model.SampleOptions{Temperature: 1, TopP: 0.5}, []int{1, 2}},
		{"top-p 0.7", model.SampleOptions{Temperature: 1, TopP: 0.7}, []int{1, 2, 6}},
		// min-p 0.3 keeps p ≥ 0.3·p_max: e^(l−3) ≥ 0.3, l ≥ 1.80; after top-k 3, 2.5 has e^−0.5 = 0.61 of p_max.
		{"min-p 0.3", model.SampleOptions{Temperature: 1, MinP: 0.3}, []int{1, 2, 4, 6}},
		{"top-k then min-p 0.5", model.SampleOptions{Temperature: 1, TopK: 3, MinP: 0.5}, []int{1, 2, 6}},
		{"top-k then min-p 0.7", model.SampleOptions{Temperature: 1, TopK: 3, MinP: 0.7}, []int{1, 2}},
	} {
		f := freq(c.opts)
		for i, n := range f {
			if n > 0 != slices.Contains(c.keep, i) {
				t.Errorf("%s: token %d drawn %d times, want only %v", c.name, i, n, c.keep)
			}
		}
	}
}

// ExampleModel_Generate samples two continuations of a prompt on a tiny random model, decoding them
// together with a KV cache, and greedily one more.
func ExampleModel_Generate() {
	dir, _ := os.MkdirTemp("", "model-example")
	defer os.RemoveAll(dir)
	mdir, _ := modeltest.Write(filepath.Join(dir, "tiny"), "llama", 1)
	backend, _ := simplego.New("ops_sequential")
	m, _, err := model.Load(mdir, model.LoadOptions{Backend: backend})
	if err != nil {
		fmt.Println(err)
		return
	}
	prompt := []int{1, 2, 3, 4, 5, 6, 7, 8}
	gens, stats, err := m.Generate(prompt, 2, model.SampleOptions{MaxTokens: 4, Temperature: 0.8, TopP: 0.95, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, g := range gens {
		fmt.Printf("sample %d: %d tokens (%s), %d log-probabilities\n", i, len(g.Tokens), g.StopReason, len(g.LogProbs))
	}
	fmt.Printf("prompt %d tokens, generated %d\n", stats.PromptTokens, stats.Generated)
	greedy, _, _ := m.Generate(prompt, 1, model.SampleOptions{MaxTokens: 3, StopTokens: []int{299}})
	full, _ := m.Run(append(append([]int{}, prompt...), greedy[0].Tokens[:2]...), model.RunOptions{})
	best := 0
	for v, x := range full.Logits.Row(0) {
		if x > full.Logits.Row(0)[best] {
			best = v
		}
	}
	fmt.Println("third greedy token is the full forward's argmax:", greedy[0].Tokens[2] == best)
	// Output:
	// sample 0: 4 tokens (max_tokens), 4 log-probabilities
	// sample 1: 4 tokens (max_tokens), 4 log-probabilities
	// prompt 8 tokens, generated 8
	// third greedy token is the full forward's argmax: true
}

type generateGolden struct {
	Transformers string `json:"transformers"`
	File         string `json:"file"`
	Cases        []struct {
		Name    string    `json:"name"`
		Prompt  []int     `json:"prompt"`
		Output  []int     `json:"output"`
		Top2Gap []float64 `json:"top2_gaps"`
	} `json:"cases"`
}

// TestGenerateMatchesTransformers checks greedy generation on the real SmolLM2-135M-Instruct (Q4_1 GGUF)
// against transformers' generate(do_sample=False, use_cache=True) in float32
// (internal/reference/model/generate_golden.py): the same 40 tokens for each chat prompt, on SimpleGo
// and XLA. A mismatch reports transformers' gap between its two best logits at that step and ours, so a
// near-tie (float32 summation order) can be told from a bug.
func TestGenerateMatchesTransformers(t *testing.T) {
	var g generateGolden
	data, err := os.ReadFile("testdata/generate_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	path := testutil.ModelPath(t, g.File)
	for _, name := range []string{"go", "xla"} {
		t.Run(name, func(t *testing.T) {
			be, _, err := backend.New(name, backend.Options{})
			if err != nil {
				t.Skipf("backend %s unavailable: %v", name, err)
			}
			m, _, err := model.Load(path, model.LoadOptions{Backend: be})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range g.Cases {
				gens, stats, err := m.Generate(c.Prompt, 1, model.SampleOptions{MaxTokens: len(c.Output)})
				if err != nil {
					t.Fatal(err)
				}
				got := gens[0].Tokens
				t.Logf("%s (%d prompt tokens): %d tokens in %.2f s after a %.2f s prompt", c.Name, len(c.Prompt), len(got),
					stats.DecodeSeconds, stats.PrefillSeconds)
				for i, want := range c.Output {
					if got[i] == want {
						continue
					}
					res, err := m.Run(append(slices.Clone(c.Prompt), c.Output[:i]...), model.RunOptions{})
					if err != nil {
						t.Fatal(err)
					}
					row := res.Logits.Row(0)
					t.Errorf("%s: token %d is %d, transformers %d; our logits %d: %.5f, %d: %.5f; transformers' top-2 gap %.5f",
						c.Name, i, got[i], want, got[i], row[got[i]], want, row[want], c.Top2Gap[i])
					break
				}
			}
		})
	}
}
