// Package attribution links parts of an agent episode (system prompt, emails, tool calls) to a target token
// such as the first token of a harmful action, with gradient×input, integrated gradients, segment ablation,
// activation patching, attribution patching and attention rollout.
package attribution
