// Package attn computes causal multi-head attention on the host in cache-sized tiles (the flash
// attention schedule: online softmax over key blocks), with package sgemm's kernels for the two
// products. It never materialises the [head, query, key] score matrix, so its memory traffic is that of
// q, k, v and z; XLA and SimpleGo graphs write and re-read that matrix several times per layer.
//
// Causal is what model uses for forward attention when no attention scores or pattern are asked for;
// gradients use CausalLSE, which also keeps each query row's log-sum-exp, and Backward, the flash
// backward pass that recomputes the probabilities tile by tile from it (dq, dk, dv without the
// [head, query, key] matrices).
// LSE and WeightedPattern read attention patterns without forming them: LSE keeps each query row's
// log-sum-exp, and WeightedPattern recomputes the probabilities tile by tile from it and sums them
// under R rows of query weights (one query's pattern row, a span's mean row, a rollout vector), giving
// [R, head, key] for the cost of about one forward attention. PatternDelta, on the same tiles, gives
// how patched keys or queries change Σ dz·z through the softmax alone (AtP*'s attention step), for many
// patches in one pass.
// Decode is the decoding step: one query per row (a sample of a batch) against cached keys and values
// in segments read in place (a prompt's keys and values shared by every row, optionally transposed once
// for contiguous reads, then the row's own), so a step never copies the cache.
// The two row operations of the online softmax (row maximum; e^(x−max) in place with the row's sum)
// run in AVX2+FMA assembly on amd64 (exp_amd64.s) and in Go elsewhere (exp32, a Cephes-style
// float32 exponential within 2 ulp).
package attn
