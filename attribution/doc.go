// Package attribution links parts of an agent episode (system prompt, emails, tool calls) to a target
// token such as the first token of a harmful action.
//
// An "attribution" here is a number per input token (or per segment of the episode) saying how much that
// part of the context moves a scalar metric of the model's prediction at the target: the log-probability
// of the target token, or a logit difference against a benign alternative. Token-level methods:
//
//   - GradientXInput: Σ_d ∂metric/∂x·x over the input embeddings, one forward and one backward pass.
//   - IntegratedGradients: gradient×input averaged along the straight path from a baseline embedding
//     (zeros by default) to the input, by composite Clenshaw–Curtis quadrature; its scores add up to
//     metric(input) − metric(baseline) (completeness) up to Result.Delta, and IGOptions.Tolerance
//     halves the path's intervals where that gap is largest until it is small.
//
// Segment-level results come from BySegment (sums of token scores over each segment of a
// trace.Rendered, counting only positions that the target can see) and from AblateSegments (the
// causal effect on the metric of deleting each segment's tokens from the context and running again).
// Rows for Parquet (package data) are built by TokenRows and SegmentRows.
//
// Cross-turn methods see how segments act on each other, not only on the target:
//
//   - DeletionMatrix: the segment × segment matrix. Each earlier segment is deleted in turn, and one
//     pass (after the whole episode's keys and values before it) scores every later segment: its mean
//     token log-likelihood, or a direction (a probe's) read at its last token. SegmentMatrix.Graph
//     prunes it to the attribution graph "goal → replacement email → leverage → reasoning → action",
//     with its widest path.
//   - Align, Patch and AttributionPatch: a clean episode and a corrupted one (a clue deleted or
//     rewritten) are aligned segment by segment; Patch puts the clean run's activations at one site,
//     layer (or head) and segment into the corrupted run and measures the share of the clean–corrupted
//     gap restored; AttributionPatch estimates the same grid to first order from one backward pass.
//     AttributionPatchStar adds AtP* from the same pass: query and key cells (hook_q, hook_k) get their
//     attention pattern recomputed exactly, so a saturated softmax no longer hides them; ComparePatch
//     scores an estimate against patching (Spearman, false negatives).
//
// Attention flow says where attention goes, aggregated to segments; it is descriptive, not causal
// (attention weights say what a head reads, not what moves the prediction):
//
//   - AttentionFlow: from one forward pass that keeps every layer's rotated queries and keys
//     (model.Attention), the attention that the token predicting the target pays to each segment, to
//     the first token (the attention sink, which takes most of it) and to the template, per layer and
//     head; the segment × segment attention per layer (each segment's tokens' mean pattern row); and
//     attention rollout (Abnar & Zuidema 2020), the product over layers of ½(head-mean pattern +
//     identity), as token scores and as a segment × segment matrix. No [head, pos, pos] pattern is ever
//     formed: each layer is one query-weighted pattern pass. FlowRows gives the Parquet rows.
//
// Probes meet models here too: Capture reads activations of labeled episodes for package probes, and
// DirectionEffects ablates or steers along a probe's direction.
package attribution
