package data

// SchemaVersion is the version of every table in this file. It is bumped when a column is removed or
// its meaning changes; adding a column keeps it.
const SchemaVersion = 1

// TokenAttribution is one row of tokens.parquet: the score one method gives one input token of an
// episode for one target.
//
// Score is signed: for gradient×input it is Σ_d ∂metric/∂x[pos,d] · x[pos,d], the first-order estimate
// of how much the metric would drop if the token's embedding were zeroed. Magnitude is a non-negative
// size of the same attribution (the L2 norm over d_model of the gradient⊙input).
type TokenAttribution struct {
	SchemaVersion int32   `parquet:"schema_version"`
	EpisodeID     string  `parquet:"episode_id,dict"`
	Model         string  `parquet:"model,dict"`
	Method        string  `parquet:"method,dict"`       // e.g. "grad_x_input"
	Metric        string  `parquet:"metric,dict"`       // e.g. "log_prob"
	TargetToken   int32   `parquet:"target_token"`      // index of the target token in the rendered episode
	TargetID      int32   `parquet:"target_id"`         // vocabulary id of the target token
	Position      int32   `parquet:"position"`          // index of this token in the rendered episode
	TokenID       int32   `parquet:"token_id"`          // vocabulary id
	Text          string  `parquet:"text"`              // the token's text, cut from the rendered string
	SegmentID     string  `parquet:"segment_id,dict"`   // e.g. "user[0].email[3]", "template"
	SegmentKind   string  `parquet:"segment_kind,dict"` // e.g. "email", "tool_call", "template"
	CharStart     int32   `parquet:"char_start"`        // byte offset of the token in the rendered string
	CharEnd       int32   `parquet:"char_end"`          // end byte offset (exclusive)
	Score         float64 `parquet:"score"`             // signed attribution
	Magnitude     float64 `parquet:"magnitude"`         // non-negative size of the attribution
}

// SegmentAttribution is one row of segments.parquet: a method's attribution of one target to one
// segment, the sum of its tokens' scores (and magnitudes) over the positions before the target.
type SegmentAttribution struct {
	SchemaVersion int32   `parquet:"schema_version"`
	EpisodeID     string  `parquet:"episode_id,dict"`
	Model         string  `parquet:"model,dict"`
	Method        string  `parquet:"method,dict"`
	Metric        string  `parquet:"metric,dict"`
	TargetToken   int32   `parquet:"target_token"`
	TargetSegment string  `parquet:"target_segment,dict"` // segment the target token is in
	MetricValue   float64 `parquet:"metric_value"`        // the metric on the unmodified episode
	SegmentID     string  `parquet:"segment_id,dict"`
	SegmentKind   string  `parquet:"segment_kind,dict"`
	Label         string  `parquet:"label"`       // short description: email sender and subject, tool name
	TokenStart    int32   `parquet:"token_start"` // token span [token_start, token_end) of the segment
	TokenEnd      int32   `parquet:"token_end"`
	Tokens        int32   `parquet:"tokens"`    // tokens of the segment before the target
	Score         float64 `parquet:"score"`     // sum of token scores
	Magnitude     float64 `parquet:"magnitude"` // sum of token magnitudes
	// Share is Magnitude over the sum of all segments' magnitudes for this target (0..1).
	Share float64 `parquet:"share"`
}
