// Package trace holds recorded agent episodes: an Episode is an ordered list of messages (system, user,
// assistant, tool) split into segments (each email, tool call, tool result, reasoning block), importers for
// common recording formats, and the map from a model's rendered tokens back to those segments.
package trace
