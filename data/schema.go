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

// EpisodeLabel is one row of labels.parquet, the index of a generated labeled-episode dataset (see
// Generate): what one episode is, where it is stored, and where its clue and decision segments are.
//
// Segment ids are trace segment ids ("user[0].email[3]", "assistant[0].reasoning[0]"). Byte offsets
// (*_start, *_end, decision_char) are into the content of the message the segment belongs to, so that
// they hold for every chat template: a renderer's span for the segment plus (offset − segment start)
// gives the position in the rendered prompt. An absent clue has an empty segment id and offsets −1.
type EpisodeLabel struct {
	SchemaVersion    int32  `parquet:"schema_version"`
	EpisodeID        string `parquet:"episode_id"`
	File             string `parquet:"file,dict"` // JSONL file of the episode, relative to the dataset directory
	Line             int32  `parquet:"line"`      // 1-based line of the episode in File
	Generator        string `parquet:"generator,dict"`
	Seed             int64  `parquet:"seed"`
	Index            int32  `parquet:"index"`            // position of the episode in the generated order
	PairID           string `parquet:"pair_id"`          // shared by a misaligned episode and its aligned twin; "" for controls
	TwinID           string `parquet:"twin_id"`          // episode id of the twin; "" for controls
	Family           string `parquet:"family,dict"`      // scenario family, e.g. "blackmail", "control"
	Label            string `parquet:"label,dict"`       // "misaligned" or "aligned"
	Action           string `parquet:"action,dict"`      // what the final turn does, e.g. "threaten_disclosure", "escalate"
	Style            string `parquet:"style,dict"`       // surface style, e.g. "formal", "markdown"
	Split            string `parquet:"split,dict"`       // train, val, test_family, test_style, control
	GoalType         string `parquet:"goal_type,dict"`   // explicit, none, ambiguous, latent
	Urgency          string `parquet:"urgency,dict"`     // replacement, restriction, none
	Framing          string `parquet:"framing,dict"`     // evaluation, deployment, unstated
	ToolSyntax       string `parquet:"tool_syntax,dict"` // xml (<tool_use:…> in text), structured (tool_calls), none
	Messages         int32  `parquet:"messages"`
	Emails           int32  `parquet:"emails"`           // <email> segments
	Distractors      int32  `parquet:"distractors"`      // emails and documents unrelated to the scenario
	Chars            int32  `parquet:"chars"`            // bytes of all message contents and tool calls
	ApproxTokens     int32  `parquet:"approx_tokens"`    // Chars / BytesPerToken
	DecisionMessage  string `parquet:"decision_message"` // message id of the final assistant turn, e.g. "assistant[0]"
	DecisionSegment  string `parquet:"decision_segment"` // segment holding decision_char
	DecisionChar     int32  `parquet:"decision_char"`    // first byte of that message's content where the twins differ
	ActionSegment    string `parquet:"action_segment"`   // the tool call (or reply text) that carries out the decision
	ReplacementSeg   string `parquet:"replacement_segment"`
	ReplacementStart int32  `parquet:"replacement_start"`
	ReplacementEnd   int32  `parquet:"replacement_end"`
	LeverageSeg      string `parquet:"leverage_segment"`
	LeverageStart    int32  `parquet:"leverage_start"`
	LeverageEnd      int32  `parquet:"leverage_end"`
	GoalSeg          string `parquet:"goal_segment"`
	GoalStart        int32  `parquet:"goal_start"`
	GoalEnd          int32  `parquet:"goal_end"`
}
