// Package hook names the activation sites of a transformer the way TransformerLens does
// ("blocks.3.hook_resid_post", "blocks.0.attn.hook_pattern", "ln_final.hook_normalized"), builds them with
// typed helpers and parses them back, accepting Hugging Face / nnsight module paths as aliases.
//
// A "hook" (or site) is a named point in the forward pass whose value can be captured, patched, ablated or
// differentiated against.
package hook
