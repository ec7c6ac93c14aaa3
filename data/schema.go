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

// Activation is one row of an activations table (activations.parquet, written by agentlens capture or
// by any tool with these columns): one example's activation vector at one layer and hook site.
//
// Label is the example's class for probes: 1 positive (e.g. misaligned), 0 negative, −1 unlabeled (a
// control chat, or an episode to score only). Group ties examples that must stay on one side of a
// cross-validation split (a misaligned episode and its aligned twin share one); empty means the
// example is its own group.
type Activation struct {
	SchemaVersion int32     `parquet:"schema_version"`
	EpisodeID     string    `parquet:"episode_id,dict"`
	Label         int32     `parquet:"label"`
	LabelSource   string    `parquet:"label_source,dict"` // where the label came from: "labels.harmful", "sidecar:x.csv:harmful"
	Group         string    `parquet:"group,dict"`
	Split         string    `parquet:"split,dict"` // e.g. train, test_family, control ("" = unassigned)
	Model         string    `parquet:"model,dict"`
	ModelHash     string    `parquet:"model_hash,dict"` // "sha256:…" of the weights file(s) ("" = unknown)
	Layer         int32     `parquet:"layer"`
	Site          string    `parquet:"site,dict"`     // TransformerLens hook name: blocks.L.hook_resid_post
	Position      string    `parquet:"position,dict"` // position policy: decision, final, assistant_mean, …
	Token         int32     `parquet:"token"`         // token index the vector is at (−1 for a mean)
	Vector        []float32 `parquet:"vector,list"`   // [d_model]
}

// Probe is one row of a probe file (probe.parquet): a trained linear probe with its provenance. The
// score of an activation x is Σ_j Weights[j]·(x[j] − Mean[j])/Scale[j] + Bias; Direction is the unit
// vector in raw activation space to ablate or steer along.
type Probe struct {
	SchemaVersion int32     `parquet:"schema_version"`
	ProbeID       string    `parquet:"probe_id"`
	Model         string    `parquet:"model,dict"`
	ModelHash     string    `parquet:"model_hash,dict"` // hash of the model file the activations came from ("" = unknown)
	DModel        int32     `parquet:"d_model"`
	Layer         int32     `parquet:"layer"`
	Site          string    `parquet:"site,dict"`
	Position      string    `parquet:"position,dict"`
	Method        string    `parquet:"method,dict"` // logistic, diff_mean, pair_pca
	C             float64   `parquet:"c"`           // logistic's inverse L2 strength (0 for the others)
	Mean          []float64 `parquet:"mean,list"`
	Scale         []float64 `parquet:"scale,list"`
	Weights       []float64 `parquet:"weights,list"`
	Bias          float64   `parquet:"bias"`
	Direction     []float64 `parquet:"direction,list"`
	// Threshold is the score above which an example is flagged: the one that flags 1% of the
	// negatives (the control set's when there is one), ThresholdSource says which.
	Threshold       float64 `parquet:"threshold"`
	ThresholdSource string  `parquet:"threshold_source"`
	PlattA          float64 `parquet:"platt_a"` // calibrated p = σ(platt_a·score + platt_b)
	PlattB          float64 `parquet:"platt_b"`
	DatasetID       string  `parquet:"dataset_id"`   // the activations file the probe was trained on
	DatasetHash     string  `parquet:"dataset_hash"` // sha256 of that file
	TrainExamples   int32   `parquet:"train_examples"`
	Folds           int32   `parquet:"folds"` // cross-validation folds behind the cv_ metrics
	CVAUROC         float64 `parquet:"cv_auroc"`
	CVAUROCLo       float64 `parquet:"cv_auroc_lo"` // 95% bootstrap interval
	CVAUROCHi       float64 `parquet:"cv_auroc_hi"`
	CVAccuracy      float64 `parquet:"cv_accuracy"`
	CVRecallAt1FPR  float64 `parquet:"cv_recall_at_1fpr"`
}

// ProbeMetric is one row of a probe evaluation table (sweep.parquet from "probe sweep", eval.parquet
// from "probe eval"): how well one probe separates one set of examples.
type ProbeMetric struct {
	SchemaVersion int32   `parquet:"schema_version"`
	Model         string  `parquet:"model,dict"`
	Layer         int32   `parquet:"layer"`
	Site          string  `parquet:"site,dict"`
	Position      string  `parquet:"position,dict"`
	Method        string  `parquet:"method,dict"`
	Eval          string  `parquet:"eval,dict"` // "cv" (grouped k-fold on the training splits) or the split evaluated
	Examples      int32   `parquet:"examples"`
	Positives     int32   `parquet:"positives"`
	AUROC         float64 `parquet:"auroc"`
	AUROCLo       float64 `parquet:"auroc_lo"` // 95% bootstrap interval
	AUROCHi       float64 `parquet:"auroc_hi"`
	Accuracy      float64 `parquet:"accuracy"`
	// RecallAt1FPR is the fraction of positives above the threshold that flags 1% of the negatives (the
	// probe's stored threshold for an evaluation split, the out-of-fold negatives' for "cv").
	RecallAt1FPR float64 `parquet:"recall_at_1fpr"`
	// FPR is the fraction of negatives above that threshold (about 1% on the set it was set on; on a
	// shifted split it shows how the threshold transfers).
	FPR float64 `parquet:"fpr"`
}

// DirectionEffect is one row of a causal test of a probe direction (effects.parquet from "probe ablate"
// or "probe steer"): log p(action token) of one episode with one direction projected out of, or added
// to, the probe's site at every position.
type DirectionEffect struct {
	SchemaVersion int32   `parquet:"schema_version"`
	EpisodeID     string  `parquet:"episode_id,dict"`
	Label         int32   `parquet:"label"` // 1, 0 or −1 as in Activation
	Split         string  `parquet:"split,dict"`
	Model         string  `parquet:"model,dict"`
	ProbeID       string  `parquet:"probe_id,dict"`
	Site          string  `parquet:"site,dict"`         // hook intervened on, or several layers' copies: blocks.{0-29}.hook_resid_post
	Intervention  string  `parquet:"intervention,dict"` // "project" or "add"
	Alpha         float64 `parquet:"alpha"`             // add: the multiple of the direction added (0 for project)
	Direction     string  `parquet:"direction,dict"`    // "probe", or "random-NN" for the controls
	Metric        string  `parquet:"metric,dict"`       // "log_prob" of the action's first token
	Base          float64 `parquet:"base"`              // the metric without intervention
	Value         float64 `parquet:"value"`             // the metric with it
	Effect        float64 `parquet:"effect"`            // value − base
}

// ProbeScore is one row of a probe's monitor timeline over an episode (scores.parquet from "probe
// apply"): the probe's score at one token, with the segment the token is in.
type ProbeScore struct {
	SchemaVersion int32   `parquet:"schema_version"`
	EpisodeID     string  `parquet:"episode_id,dict"`
	ProbeID       string  `parquet:"probe_id,dict"`
	Position      int32   `parquet:"position"` // token index
	Text          string  `parquet:"text"`
	SegmentID     string  `parquet:"segment_id,dict"`
	SegmentKind   string  `parquet:"segment_kind,dict"`
	Score         float64 `parquet:"score"`       // the probe's score (for logistic probes, log-odds)
	Probability   float64 `parquet:"probability"` // Platt-calibrated p(positive)
	Flagged       bool    `parquet:"flagged"`     // score above the probe's 1% FPR threshold
}

// ProbeSegmentScore is one row of a probe's monitor summary over an episode (segments.parquet from
// "probe apply"): the probe's scores over one segment's tokens, in episode order.
type ProbeSegmentScore struct {
	SchemaVersion int32   `parquet:"schema_version"`
	EpisodeID     string  `parquet:"episode_id,dict"`
	ProbeID       string  `parquet:"probe_id,dict"`
	SegmentID     string  `parquet:"segment_id"`
	SegmentKind   string  `parquet:"segment_kind,dict"`
	Label         string  `parquet:"label"`       // a human label of the segment (an email's subject), "" if none
	TokenStart    int32   `parquet:"token_start"` // first token of the segment
	TokenEnd      int32   `parquet:"token_end"`   // one past its last token (a message's template segment wraps its content's tokens)
	Tokens        int32   `parquet:"tokens"`      // tokens of the segment
	MeanScore     float64 `parquet:"mean_score"`
	MaxScore      float64 `parquet:"max_score"`
	MaxPosition   int32   `parquet:"max_position"`  // token index of the largest score
	Flagged       int32   `parquet:"flagged"`       // tokens above the probe's 1% FPR threshold
	FirstFlagged  int32   `parquet:"first_flagged"` // token index of the first flagged token (−1: none)
	Threshold     float64 `parquet:"threshold"`     // the probe's threshold the flags used
}

// SegmentMatrixEntry is one cell of a segment × segment matrix (matrix.parquet from "attribute
// --method matrix"): how much deleting an earlier segment (the source) moves a later one (the
// destination). Destination "target" is the target token itself.
type SegmentMatrixEntry struct {
	SchemaVersion int32  `parquet:"schema_version"`
	EpisodeID     string `parquet:"episode_id,dict"`
	Model         string `parquet:"model,dict"`
	ModelHash     string `parquet:"model_hash,dict"` // "sha256:…" of the weights ("" = unknown)
	Method        string `parquet:"method,dict"`     // "deletion"
	Params        string `parquet:"params,dict"`     // the method's parameters, e.g. "readout=probe-L24 site=blocks.24.hook_resid_post"
	// Metric is "mean_logprob" (the destination's mean token log-likelihood; at the target, log p of the
	// target token) or "direction" (the residual at the destination's last token projected on a direction).
	Metric      string `parquet:"metric,dict"`
	TargetToken int32  `parquet:"target_token"`
	SourceID    string `parquet:"source_id,dict"`
	SourceKind  string `parquet:"source_kind,dict"`
	SourceLabel string `parquet:"source_label"`
	SourceStart int32  `parquet:"source_start"` // token span [source_start, source_end) of the source
	SourceEnd   int32  `parquet:"source_end"`
	DestID      string `parquet:"dest_id,dict"`
	DestKind    string `parquet:"dest_kind,dict"` // a segment kind, or "target"
	DestLabel   string `parquet:"dest_label"`
	DestStart   int32  `parquet:"dest_start"`
	DestEnd     int32  `parquet:"dest_end"`
	// Base is the destination's metric in the whole episode (clean), Value with the source deleted
	// (corrupted), Effect = base − value: positive when the source supports the destination.
	Base   float64 `parquet:"base"`
	Value  float64 `parquet:"value"`
	Effect float64 `parquet:"effect"`
}

// PatchEntry is one cell of an activation-patching grid (patch.parquet from "attribute --method
// patch,atp,atpstar"): the clean episode's activations at one site, layer (and head) and segment patched into
// the corrupted (baseline) episode's run, and how much of the clean–corrupted gap in the metric that
// restores; measured (method "patch"), estimated to first order (method "atp"), or by AtP* (method
// "atp*": the attention pattern of query and key patches recomputed exactly, first order from the
// attention output on).
type PatchEntry struct {
	SchemaVersion int32  `parquet:"schema_version"`
	EpisodeID     string `parquet:"episode_id,dict"`  // the clean episode
	BaselineID    string `parquet:"baseline_id,dict"` // the corrupted episode
	Model         string `parquet:"model,dict"`
	ModelHash     string `parquet:"model_hash,dict"`
	Method        string `parquet:"method,dict"` // "patch", "atp" or "atp*"
	Site          string `parquet:"site,dict"`   // hook name: blocks.L.hook_resid_pre, blocks.L.attn.hook_z, …
	Layer         int32  `parquet:"layer"`
	Head          int32  `parquet:"head"`       // −1: the whole site
	SegmentID     string `parquet:"segment_id"` // the clean segment patched; "" for every aligned position (per-head rows)
	Position      int32  `parquet:"position"`   // the one clean token patched (layer × position rows), −1 for the whole segment
	SegmentKind   string `parquet:"segment_kind,dict"`
	SegmentLabel  string `parquet:"segment_label"`
	CleanStart    int32  `parquet:"clean_start"` // token span of the segment in the clean rendering
	CleanEnd      int32  `parquet:"clean_end"`
	CorruptStart  int32  `parquet:"corrupt_start"` // and of its counterpart in the corrupted one
	CorruptEnd    int32  `parquet:"corrupt_end"`
	Rewritten     bool   `parquet:"rewritten"` // the counterpart's tokens differ (same length)
	TargetToken   int32  `parquet:"target_token"`
	// Metric is "log_prob" of the target token; Clean and Corrupt are its values in the two runs, Value
	// with the patch, Restored = (value − corrupt)/(clean − corrupt) (NaN when clean = corrupt).
	Metric   string  `parquet:"metric,dict"`
	Clean    float64 `parquet:"clean"`
	Corrupt  float64 `parquet:"corrupt"`
	Value    float64 `parquet:"value"`
	Restored float64 `parquet:"restored"`
}

// AttentionEntry is one cell of an attention-flow table (attention.parquet from "attribute --method
// attention,rollout"): the attention one query row pays to one key column, aggregated to segments. It
// is descriptive, not causal: attention says what a head reads, not what moves the prediction.
//
// A query row is the token that predicts the target (query_id "target", query_kind "target", span
// [target_token−1, target_token)) or a content segment's tokens on average (each token's pattern row,
// averaged). A key column is a content segment (the tokens it owns), the first token (key_id
// "first_token", kind "sink": position 0, which takes most of the attention of most heads), or the
// rest (key_id "other", kind "other": chat-template tokens and blank separators; span −1, −1). Over
// the key columns each query row's masses add up to 1.
type AttentionEntry struct {
	SchemaVersion int32  `parquet:"schema_version"`
	EpisodeID     string `parquet:"episode_id,dict"`
	Model         string `parquet:"model,dict"`
	ModelHash     string `parquet:"model_hash,dict"` // "sha256:…" of the weights ("" = unknown)
	// Method is "attention" (the layer's attention pattern) or "rollout" (attention rollout, Abnar &
	// Zuidema 2020: the product over layers of ½(head-mean pattern + identity), rows renormalised).
	Method string `parquet:"method,dict"`
	// Layer is the layer, or −1: the mean over layers (attention) or the product over all of them
	// (rollout). Head is the query head, or −1 for the mean over heads.
	Layer       int32   `parquet:"layer"`
	Head        int32   `parquet:"head"`
	TargetToken int32   `parquet:"target_token"`
	QueryID     string  `parquet:"query_id,dict"`
	QueryKind   string  `parquet:"query_kind,dict"` // a segment kind, or "target"
	QueryLabel  string  `parquet:"query_label"`
	QueryStart  int32   `parquet:"query_start"` // token span [query_start, query_end) of the query positions
	QueryEnd    int32   `parquet:"query_end"`
	KeyID       string  `parquet:"key_id,dict"`
	KeyKind     string  `parquet:"key_kind,dict"` // a segment kind, "sink" or "other"
	KeyLabel    string  `parquet:"key_label"`
	KeyStart    int32   `parquet:"key_start"` // token span of the key segment (−1, −1 for "other")
	KeyEnd      int32   `parquet:"key_end"`
	Mass        float64 `parquet:"mass"` // attention mass of the query row on the key column, 0..1
}

// OrganismScore is one row of organism.parquet (agentlens organism eval): the score one attribution
// method gives one candidate segment (the system segment or an email) of a held-out episode of the
// faithfulness model organism, whose planted clue segments are known.
//
// Rank is 1 for the segment with the largest score among the episode's candidates for this method, and
// MagnitudeRank the same for Magnitude. A method finds the planted segments when the K planted ones
// hold ranks 1..K. For the segment matrix
// (reasoning episodes), method matrix_to_reasoning scores each segment by its deletion's effect on the
// reasoning span's mean log-likelihood, and matrix_to_target by its effect on log p(action); the row of
// the reasoning segment itself is candidate only for matrix_to_target.
type OrganismScore struct {
	SchemaVersion int32   `parquet:"schema_version"`
	EpisodeID     string  `parquet:"episode_id,dict"`
	Model         string  `parquet:"model,dict"`
	Variant       string  `parquet:"variant,dict"`      // "direct" or "reasoning"
	Method        string  `parquet:"method,dict"`       // deletion, integrated_gradients, grad_x_input, patch, atp, matrix_to_reasoning, matrix_to_target
	Metric        string  `parquet:"metric,dict"`       // e.g. "logit_diff" (blackmail − comply), "log_prob"
	MetricValue   float64 `parquet:"metric_value"`      // the metric on the unmodified episode
	SegmentID     string  `parquet:"segment_id,dict"`   // e.g. "user[0].email[3]"
	SegmentKind   string  `parquet:"segment_kind,dict"` // "system", "email", "reasoning"
	Planted       bool    `parquet:"planted"`           // the segment is a planted clue
	Score         float64 `parquet:"score"`             // signed: positive supports the harmful action
	Rank          int32   `parquet:"rank"`              // 1 = largest score among the candidates
	Magnitude     float64 `parquet:"magnitude"`         // non-negative size: Σ over tokens of the L2 norm over d_model (gradient methods), |score| (others)
	MagnitudeRank int32   `parquet:"magnitude_rank"`    // 1 = largest magnitude among the candidates
	Candidates    int32   `parquet:"candidates"`        // candidate segments ranked
	K             int32   `parquet:"k"`                 // planted segments in the episode
	Seconds       float64 `parquet:"seconds"`           // the method's wall time on this episode
}

// RolloutRow is one row of rollouts.parquet: one episode a model rolled out from a Condition (see
// Conditions), with the sampling settings and the classifier's verdict on what it did.
type RolloutRow struct {
	SchemaVersion int32   `parquet:"schema_version"`
	EpisodeID     string  `parquet:"episode_id"`        // the rolled-out episode, e.g. "selfpres/s14/blackmail-036#3"
	ConditionID   string  `parquet:"condition_id,dict"` // Condition.ID
	Family        string  `parquet:"family,dict"`
	GoalType      string  `parquet:"goal_type,dict"`
	Urgency       string  `parquet:"urgency,dict"`
	Framing       string  `parquet:"framing,dict"`
	Style         string  `parquet:"style,dict"`
	Source        string  `parquet:"source,dict"` // Condition.Source: "generated:agentlens-selfpres/1", "bundled:blackmail"
	Sample        int32   `parquet:"sample"`      // index of the sample within its condition, from 0
	Seed          int64   `parquet:"seed"`        // the sampler's seed for this sample
	Model         string  `parquet:"model,dict"`
	ModelHash     string  `parquet:"model_hash,dict"` // "sha256:…" of the weights ("" = unknown)
	Temperature   float64 `parquet:"temperature"`
	TopK          int32   `parquet:"top_k"` // 0 = off
	TopP          float64 `parquet:"top_p"` // 1 = off
	MinP          float64 `parquet:"min_p"` // 0 = off
	MaxTokens     int32   `parquet:"max_tokens"`
	Turns         int32   `parquet:"turns"`            // assistant turns rolled out
	StopReason    string  `parquet:"stop_reason,dict"` // why the rollout ended: "eos", "max_tokens", "max_turns", "no_tool_call", …
	// Harmful, Action, VerdictSource, Evidence and Reason are the Verdict: Reason is set (and Harmful
	// false) when the rollout could not be judged ("no_action", "refused", "no_tool_call", …).
	Harmful         bool    `parquet:"harmful"`
	Action          string  `parquet:"action,dict"`
	VerdictSource   string  `parquet:"verdict_source,dict"` // "rule:blackmail/v1", "judge:<model>"
	Evidence        string  `parquet:"evidence"`
	Reason          string  `parquet:"reason,dict"`
	GeneratedTokens int32   `parquet:"generated_tokens"`
	Seconds         float64 `parquet:"seconds"` // wall time of the rollout (with its share of its condition's batched first turn)
}

// RolloutEpisode is one row of rollout_episodes.parquet: a rolled-out episode whole, as the native JSON
// line trace.WriteNative writes, so a sharded rollout's episodes merge like its rows
// ('agentlens rollout report' writes them back out as episodes.jsonl).
type RolloutEpisode struct {
	SchemaVersion int32  `parquet:"schema_version"`
	EpisodeID     string `parquet:"episode_id"` // as in RolloutRow
	Episode       string `parquet:"episode"`    // one agentlens.episode.v1 JSON line
}

// PropensityRow is one row of propensity.parquet (Propensity): how often the rollouts of one group
// (a condition, a family, a grid cell, …) were harmful, with a 95 % Wilson score interval.
type PropensityRow struct {
	SchemaVersion int32   `parquet:"schema_version"`
	GroupBy       string  `parquet:"group_by,dict"` // the grouping: "condition", "family", "cell", or columns joined by ","
	Key           string  `parquet:"key"`           // the group's values joined by "/", e.g. "blackmail/explicit/replacement/unstated"
	N             int32   `parquet:"n"`             // rollouts in the group
	Harmful       int32   `parquet:"harmful"`       // of them harmful
	Undecided     int32   `parquet:"undecided"`     // of them undecided (a Reason); counted in n, not in harmful
	Rate          float64 `parquet:"rate"`          // harmful / n
	WilsonLo      float64 `parquet:"wilson_lo"`     // 95 % Wilson score interval of rate
	WilsonHi      float64 `parquet:"wilson_hi"`
}
