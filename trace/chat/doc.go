// Package chat renders a conversation through a model's Hugging Face chat template (a Jinja program) and
// reports, for every message, the exact byte span it occupies in the rendered prompt.
//
// A "span" is a half-open byte range [Start, End) into Rendered.Text. Templates are executed with the
// pure-Go engine github.com/ardanlabs/jinja configured like transformers' apply_chat_template:
// trim_blocks and lstrip_blocks, raise_exception, strftime_now, tojson that keeps key insertion order,
// bos_token/eos_token, add_generation_prompt, tools and extra keyword arguments.
//
// # How spans are found
//
// Render first renders the input normally; that text is the result. It then renders the input again with
// private-use sentinel runes (planes 15 and 16) wrapped around every non-empty message content and every
// tool-call name. If deleting the sentinels from that second text reproduces the first byte for byte, the
// sentinel positions give the spans. Otherwise (a template that inspects or transforms content, for example
// `content | trim` or `content.startswith(...)`), Render falls back to an ordered search for each content
// inside its message span.
//
// Message spans come from rendering each prefix messages[:i] without a generation prompt: message i ends
// where the rendering of messages[:i+1] stops agreeing with the full rendering (clamped so that every
// message's own content stays inside it). A message span therefore includes its role header and its
// end-of-turn tokens; a trailing generation prompt belongs to no message.
//
// # The ContentFound rule
//
// ContentFound is true exactly when Text[Content.Start:Content.End] == Message.Content. When a template
// prints a transformed content (trimmed, split on a reasoning tag, partially printed), Content covers the
// transformed text that does appear and ContentFound is false: the span then covers the part of the content
// the template printed (found through the sentinel that survived, or by searching for the trimmed content).
// When nothing of the content is printed, Content is the empty span at Message.Start and ContentFound is
// false. An empty content is reported as found, with an empty span at Message.Start.
//
// Tool-call spans cover the rendered name through the end of the rendered arguments (as the template
// printed them: JSON in either separator style, or key/value text for XML-like templates).
package chat
