package bench

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Kind names a workload.
type Kind string

// The workloads.
const (
	// Forward is one forward pass over the tokens capturing every layer's resid_post
	// (blocks.L.hook_resid_post), with logits at the last position only.
	Forward Kind = "forward"
	// Gradient is the gradient of the last token's log-probability (read at position N-2) with respect
	// to hook_embed: one forward and one backward pass.
	Gradient Kind = "gradient"
	// Ablate is a base forward pass over the tokens, then AblateSegments forward passes, the i-th over
	// the tokens with the i-th of AblateSegments equal segments removed (an episode with one segment left
	// out), logits at the last position and nothing captured. Both engines reuse the base pass's keys and
	// values for the tokens before the removed segment, as attribution.AblateSegments does: torch crops
	// past_key_values at the segment's start and runs the passes one by one; agentlens truncates its
	// model.Prefix at the same point and runs the passes packed in one model.RunBatch.
	Ablate Kind = "ablate"
	// Shared is SharedEpisodes episodes of N tokens that share their first N/2 tokens (a system prompt):
	// the prompt's keys and values are computed once, then each episode's own N − N/2 tokens (the job's
	// second half rotated left by 7 positions per episode, see sharedEpisode) run after it, capturing
	// every layer's resid_post with logits at the last position. torch runs the episodes one by one;
	// agentlens packs them into model.RunBatch batches of up to 4096 positions.
	Shared Kind = "shared"
	// Matmul is MatmulRepeats products of an MLP-shaped pair of matmuls on N rows, [N, MatmulIn] ·
	// [MatmulOut, MatmulIn]ᵀ then [N, MatmulOut] · [MatmulIn, MatmulOut]ᵀ (SmolLM2-135M's up and down
	// projections), on device-resident random inputs. Torch runs them with torch.matmul, whose CPU sgemm
	// (oneDNN/MKL) is the tuned sgemm the achieved GFLOP/s are compared against.
	Matmul Kind = "matmul"
	// Matrix is the segment × segment deletion matrix (attribution.DeletionMatrix) of the tokens, the
	// last one the target and the positions before it cut into CrossSegments equal segments: a base
	// pass scoring every next token, then one pass per segment with it deleted, after the base pass's
	// keys and values for the tokens before it, scoring every later token (each segment's mean
	// log-likelihood and the target's log-probability). torch crops past_key_values the same way and
	// forms the log-probabilities in blocks of positions.
	Matrix Kind = "matrix"
	// AtP is attribution patching (attribution.AttributionPatch) from the tokens (clean) into the same
	// tokens with segment CorruptSegment rewritten (corrupted): one clean forward capturing
	// resid_pre, attn_out and mlp_out of every layer, one corrupted forward and backward pass for the
	// gradients of log p(target) at the same sites, then the layer × segment grid of first-order
	// estimates.
	AtP Kind = "atp"
	// Patch is activation patching (attribution.Patch) of the same clean and corrupted pair at
	// resid_pre of the first, middle and last layer over each of the CrossSegments segments (3 ×
	// CrossSegments patched runs), each run after the corrupted run's keys and values for the tokens
	// before the patched segment.
	Patch Kind = "patch"
	// Generate is text generation with a KV cache after an N-token prompt: GenerateNew greedy tokens
	// for one sample, then GenerateNew tokens for each of GenerateSamples samples (temperature 0.8,
	// top-p 0.95), never stopping early. agentlens computes the prompt once per call (model.Generate)
	// and decodes the samples together against its shared keys and values; torch runs transformers'
	// generate (use_cache=True, min_new_tokens = max_new_tokens), the samples as
	// num_return_sequences. Both time the whole calls, prompts included.
	Generate Kind = "generate"
)

// Generate job sizes: new tokens per sample, and the samples of the sampled call.
const (
	GenerateNew     = 64
	GenerateSamples = 8
)

// Matmul job shapes and repeat count.
const (
	MatmulIn      = 576
	MatmulOut     = 1536
	MatmulRepeats = 10
)

// FLOPs returns the floating-point operations of a Matmul job (0 for other kinds).
func (j Job) FLOPs() float64 {
	if j.Kind != Matmul {
		return 0
	}
	return MatmulRepeats * 2 * 2 * float64(j.Tokens) * MatmulIn * MatmulOut
}

// SharedEpisodes is the number of episodes of a Shared job.
const SharedEpisodes = 100

// AblateSegments is the number of segments (and forward passes) of an Ablate job.
const AblateSegments = 20

// Kinds lists the known workloads in table order.
var Kinds = []Kind{Forward, Gradient, Ablate, Shared, Matmul, Matrix, AtP, Patch, Generate}

// Job is one workload at one sequence length.
type Job struct {
	Kind   Kind `json:"kind"`
	Tokens int  `json:"tokens"` // N, the sequence length
}

// String returns the job as ParseJobs reads it: "forward:1024".
func (j Job) String() string { return string(j.Kind) + ":" + strconv.Itoa(j.Tokens) }

// Work returns the number of token positions the job's passes cover, the numerator of its tokens/s
// (positions served from a reused prefix count too): N for Forward and Gradient, N×(AblateSegments−1)
// for Ablate's segment passes (every pass sees N minus one segment), N×SharedEpisodes for Shared,
// N×CrossSegments for Matrix's deletion passes, 2N for AtP's clean and corrupted passes and
// N×3×CrossSegments for Patch's patched runs; for Generate, the generated tokens,
// GenerateNew×(1+GenerateSamples).
func (j Job) Work() int {
	switch j.Kind {
	case Generate:
		return GenerateNew * (1 + GenerateSamples)
	case Ablate:
		return j.Tokens * (AblateSegments - 1)
	case Shared:
		return j.Tokens * SharedEpisodes
	case Matrix:
		return j.Tokens * CrossSegments
	case AtP:
		return 2 * j.Tokens
	case Patch:
		return j.Tokens * 3 * CrossSegments
	}
	return j.Tokens
}

// Validate reports whether the job has a known kind and a usable length: at least 2 tokens (the
// gradient reads position N-2), and at least AblateSegments for Ablate.
func (j Job) Validate() error {
	if !slices.Contains(Kinds, j.Kind) {
		return fmt.Errorf("%w: unknown kind %q (want %s)", ErrBadJob, j.Kind, kindList())
	}
	min := 2
	switch j.Kind {
	case Ablate:
		min = AblateSegments
	case Shared:
		min = 4
	case Matrix, AtP, Patch:
		min = 2 * (CrossSegments + 1) // every segment at least one token, and one after
	}
	if j.Tokens < min {
		return fmt.Errorf("%w: %s: need at least %d tokens", ErrBadJob, j, min)
	}
	return nil
}

func kindList() string {
	var s []string
	for _, k := range Kinds {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

// DefaultForwardTokens and DefaultGradientTokens are the sequence lengths of DefaultJobs.
var (
	DefaultForwardTokens  = []int{512, 1024, 4096}
	DefaultGradientTokens = []int{1024, 4096}
)

// DefaultJobs returns forward at DefaultForwardTokens and gradient at DefaultGradientTokens.
func DefaultJobs() []Job {
	var jobs []Job
	for _, n := range DefaultForwardTokens {
		jobs = append(jobs, Job{Kind: Forward, Tokens: n})
	}
	for _, n := range DefaultGradientTokens {
		jobs = append(jobs, Job{Kind: Gradient, Tokens: n})
	}
	return jobs
}

// ParseJobs parses a comma-separated list of jobs, each "kind:N" where N is a count with an optional
// k suffix (×1024): "forward:512,forward:1k,gradient:4k". A kind may list several lengths separated
// by "/": "forward:512/1k/4k". Duplicates are dropped, order is kept.
func ParseJobs(s string) ([]Job, error) {
	var jobs []Job
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		kind, ns, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("%w: %q: want kind:N", ErrBadJob, item)
		}
		for _, nstr := range strings.Split(ns, "/") {
			n, err := ParseCount(nstr)
			if err != nil {
				return nil, fmt.Errorf("%w: %q: %v", ErrBadJob, item, err)
			}
			j := Job{Kind: Kind(strings.ToLower(strings.TrimSpace(kind))), Tokens: n}
			if err := j.Validate(); err != nil {
				return nil, err
			}
			if !slices.Contains(jobs, j) {
				jobs = append(jobs, j)
			}
		}
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("%w: no jobs in %q", ErrBadJob, s)
	}
	return jobs, nil
}

// ParseCount parses a positive count with an optional k or K suffix meaning ×1024 ("4k" = 4096).
func ParseCount(s string) (int, error) {
	s = strings.TrimSpace(s)
	mul := 1
	if t, ok := strings.CutSuffix(strings.ToLower(s), "k"); ok {
		s, mul = t, 1024
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > 1<<24 {
		return 0, fmt.Errorf("bad count %q: want a positive integer, optionally with a k suffix", s)
	}
	return n * mul, nil
}

// DefaultSeed is the seed of the synthetic token sequence unless Options.Seed says otherwise.
const DefaultSeed = 0x5eed

// Tokens returns n token ids drawn uniformly from [0, vocab) by a PCG seeded with seed: the same
// (n, vocab, seed) always gives the same ids, and a shorter sequence is a prefix of a longer one.
func Tokens(n, vocab int, seed uint64) []int {
	if n <= 0 || vocab <= 0 {
		return nil
	}
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	ids := make([]int, n)
	for i := range ids {
		ids[i] = r.IntN(vocab)
	}
	return ids
}

// segmentBounds returns the AblateSegments+1 boundaries of n tokens cut into equal segments.
func segmentBounds(n int) []int {
	b := make([]int, AblateSegments+1)
	for i := range b {
		b[i] = n * i / AblateSegments
	}
	return b
}

// withoutSegment returns tokens with segment i (of AblateSegments) removed.
func withoutSegment(tokens []int, i int) []int {
	b := segmentBounds(len(tokens))
	return slices.Concat(tokens[:b[i]], tokens[b[i+1]:])
}

// sharedEpisode returns episode e of a Shared job: the first half of tokens (the shared prompt), then the
// second half rotated left by 7·e positions.
func sharedEpisode(tokens []int, e int) []int {
	h := len(tokens) / 2
	own := tokens[h:]
	r := 7 * e % len(own)
	return slices.Concat(tokens[:h], own[r:], own[:r])
}
