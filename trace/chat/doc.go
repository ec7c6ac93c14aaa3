// Package chat renders a conversation through a model's Hugging Face chat template (a Jinja program) and
// reports, for every message, the exact byte span it occupies in the rendered prompt.
//
// A "span" is a half-open byte range [Start, End) into Rendered.Text. Templates are executed with the
// pure-Go engine github.com/ardanlabs/jinja set up like transformers' apply_chat_template: trim_blocks and
// lstrip_blocks (the engine's defaults), raise_exception, strftime_now (Input.Now, for reproducible
// prompts), tojson that keeps key insertion order (tools and tool-call arguments are decoded token by
// token into ordered dicts), bos_token/eos_token, add_generation_prompt, tools (None when absent),
// documents (None) and extra keyword arguments (Input.Extra). Messages are passed in the shape
// transformers passes them: role, content, reasoning_content (plus a leading "thinking" alias),
// tool_calls as {id, type: "function", function: {name, arguments}}, tool_call_id and name.
//
// # How spans are found
//
// Render renders the input normally; that text is the result. It then renders again with private-use
// sentinel runes (planes 15 and 16) around every non-empty content and every tool-call name. If deleting
// the sentinels from that second text reproduces the first byte for byte, the sentinel positions give
// the spans. When a template loses one sentinel (it split or cut the content), Render moves the lost
// sentinel into the content and renders again to confirm where the printed part starts or ends. When the
// sentinels change the output (a template that inspects content, e.g. `content.startswith(...)`, or
// transforms it with `| trim`), Render falls back to an ordered search for each content, then for its
// whitespace-trimmed form, inside the message's span.
//
// Message i ends where the rendering of messages[:i+1] without a generation prompt stops agreeing with
// the full text. When they disagree inside a special token ("<|im_" of "<|im_end|>" versus
// "<|im_start|>") the boundary backs off to before that token; when they disagree before the message's
// own content (a template that renders the last message differently, like Qwen3's reasoning), the end of
// that rendering is aligned with the text instead. Boundaries are clamped so that each message holds its
// own content and tool calls, and reused for identical gaps between the same roles, so a long conversation
// needs few extra renderings. The first message also owns any preamble the template prints before it
// (a default system prompt, a tools block); a trailing generation prompt belongs to no message; a
// separator printed for `not loop.last` belongs to the following message. A template may move a content
// elsewhere (Mistral prints the system prompt inside the last user turn): Content then lies outside
// Message. A message the template drops has an empty Message span.
//
// # The ContentFound rule
//
// ContentFound is true exactly when Text[Content.Start:Content.End] == Message.Content (an empty content
// is found, as the empty span at Message.Start). When a template prints a transformed content (trimmed,
// split on a reasoning tag, JSON-escaped), Content covers the transformed text that does appear and
// ContentFound is false. When nothing of the content is printed, Content is the empty span at
// Message.Start and ContentFound is false.
//
// Tool-call spans cover the rendered name through the end of the rendered arguments as the template
// printed them: JSON in any of the usual separator and indent styles, or key/value text for XML-style
// templates (then the span ends after the last argument value).
//
// # Errors
//
// Compile reports ErrNoTemplate for an empty source and ErrSyntax with "name:line"; Render reports
// ErrRaised with "name:line" of the raise_exception call and the template's message, and ErrRender for
// other failures. The engine is more lenient than Python's jinja2 in a few places (iterating None,
// arithmetic on undefined values, list.append in the sandbox): such templates render where transformers
// raises; see testdata/golden and golden_test.go for the list.
package chat
