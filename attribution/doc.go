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
package attribution
