// Package model loads open-weight decoder language models (Hugging Face safetensors directories, GGUF files
// and the ollama model store) and runs them in GoMLX with TransformerLens-named hook points, so that
// activations can be captured, patched and ablated and gradients of a target metric taken.
//
// A "model" here is a decoder-only transformer family (Llama, Qwen2, Qwen3, Mistral, OLMo-2, Gemma-2,
// Gemma-3, Phi-3) plus its weights; the families live in subpackages that register themselves by their
// Hugging Face architecture name.
//
// Runs go layer by layer, one compiled graph per block shape, with sequence lengths padded to buckets so
// graphs are reused. A layer whose attention scores and pattern are neither captured, intervened on nor
// differentiated computes attention outside the graphs, in the tiled host kernel of model/internal/attn
// (flash-attention schedule, the [pos, pos] scores never formed), forward and, for gradients, backward
// (flash backward from the forward's row log-sum-exp); Options.GraphAttention turns it off. In the
// graphs attention is block-causal: queries in blocks of 256 attend only to the keys up to their block,
// skipping the masked half of the [pos, pos] work; above Options.ChunkAbove positions it also runs query
// chunk by query chunk, so memory stays bounded at 8k tokens and beyond. Gradients recompute each block
// from its saved input residual (and reuse the host kernel's saved attention output). A Prefix (NewPrefix, PrefixFromCache) keeps the
// keys and values of a token prefix so later runs compute only the positions after it: segment
// ablations reuse everything before the deleted segment, and episodes reuse a shared system prompt.
//
// Attention patterns of long runs are read without forming them: Model.Attention keeps every layer's
// rotated queries and keys from one forward pass, and Attention.Weighted recomputes a layer's pattern
// tile by tile and returns it weighted by rows of query weights ([row, head, key]: one query's pattern
// row, a segment's mean row, a step of attention rollout). PatternEffects estimates patches of a layer's queries or keys through the attention pattern,
// recomputed exactly on the host from a run's hook_q, hook_k, hook_v and the gradient at hook_z (AtP*'s
// fix for attention saturation); RotateQK is the host RoPE it uses.
//
// # Generation
//
// Model.Generate samples n continuations of a prompt with a KV cache. The prompt runs once (after
// SampleOptions.Prefix, where the prompt starts with its tokens) and its keys and values, a Prefix, are
// shared by every sample. The samples then decode together: each step feeds the active samples' latest
// tokens as the rows of one pass (1, 2, 4, 8, then multiples of 8 rows, so a few compiled shapes serve
// a generation as samples stop). Per layer the step runs the same stage graphs as a forward pass —
// layer l's post-attention and layer l+1's pre-attention fused in one graph — with attention between
// them on the host (attn.Decode): each row's query against the prompt's keys and values (transposed
// once per call, shared by all rows) and the sample's own, read in place, the new key and value
// appended to the sample's cache (no copy of the cache per step). So a step costs the new
// positions' matmuls plus one read of the cache, whatever the family (sliding windows, soft caps and
// qk norms are the forward's own code). Sampling follows Hugging Face's warper order (temperature,
// top-k, top-p, min-p) with a PCG per sample seeded by (Seed, sample), so a sample is the same alone or
// in a batch and on either backend; temperature 0 is greedy. Generation.LogProbs are the model's
// unscaled log-probabilities of the chosen tokens. GeneratePrefix turns a generation into the Prefix
// of prompt plus output for the next turn of an agent, from the decoding cache.
package model
