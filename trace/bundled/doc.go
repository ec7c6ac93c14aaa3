// Package bundled holds agentlens' own example episodes, embedded in the binary: a blackmail episode (an
// email agent with a goal reads an inbox with clue emails and coerces the manager who plans to replace it),
// its matched control (the same inbox without the replacement emails, where the agent just does its work),
// and a short leaking episode. "Bundled" means shipped with agentlens: the text is ours, written in the
// structure of the published agentic-misalignment scenarios, and Episode returns it as a segmented
// *trace.Episode.
package bundled
