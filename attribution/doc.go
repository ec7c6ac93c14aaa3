// Package attribution links parts of an agent episode (system prompt, emails, tool calls) to a target
// token such as the first token of a harmful action.
//
// An "attribution" here is a number per input token (or per segment of the episode) saying how much that
// part of the context moves a scalar metric of the model's prediction at the target: the log-probability
// of the target token, or a logit difference against a benign alternative. Token-level methods:
//
//   - GradientXInput: Σ_d ∂metric/∂x·x over the input embeddings, one forward and one backward pass.
//   - IntegratedGradients: gradient×input averaged along the straight path from a baseline embedding
//     (zeros by default) to the input, by Gauss–Legendre quadrature; its scores add up to
//     metric(input) − metric(baseline) (completeness), which Result.Delta reports.
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
// Probes meet models here too: Capture reads activations of labeled episodes for package probes, and
// DirectionEffects ablates or steers along a probe's direction.
package attribution
