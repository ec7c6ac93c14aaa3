// Package organism is agentlens's faithfulness model organism: a small Llama that agentlens trains
// itself on synthetic episodes in which the action depends only on planted clue segments, so that
// every attribution method can be scored against a known answer.
//
// An episode (Generate) has a system segment holding a goal line or a neutral one, a user turn of 6–10
// emails of a closed vocabulary (every word one token), of which 0–2 are clues (an email announcing
// the agent's replacement, an email giving leverage over the person replacing it) and the rest
// distractors, in random order, and an assistant turn whose action is "blackmail" exactly when the
// goal, the replacement email and the leverage email are all present, else "comply". Most negatives
// are near misses (two clues of three), so the model has to learn the conjunction. In the Reasoning
// variant the assistant first writes one reasoning word per clue ("<thinking> duty threatened leverage
// </thinking>"), which gives the segment × segment matrix a planted chain clue → reasoning → action.
//
// Train fits the model (package model/train). Two trained organisms ship embedded (LoadEmbedded):
// Shipped, trained on both variants, and ShippedReasoning, trained on Reasoning episodes only (a tenth
// with random reasoning words that the action follows), whose action depends on its reasoning span.
// Eval scores attribution methods by whether the planted segments rank on top, Summarize aggregates
// its rows.
package organism
