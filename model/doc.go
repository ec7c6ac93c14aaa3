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
package model
