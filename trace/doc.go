// Package trace holds recorded agent episodes and maps them onto a model's tokens. An Episode is one
// recorded agent run: labels (harmful=true, scenario=blackmail, ...), tool definitions and ordered
// messages (system, user, assistant, tool), each split into segments — the word for one addressable
// piece of a message: an email, a document, a reasoning block, a tool call, a tool result, or the text
// between them.
//
// # Segments
//
// Episode.Segment splits every message by kind of role. User and tool messages hold <email> and
// <document> blocks (an email's From, To, Cc, Subject, Timestamp and Body are parsed into Email);
// assistant messages hold reasoning blocks (<SCRATCHPAD_REASONING>, <thinking>, <think>) and XML-in-text
// tool calls (<tool_use:email>, <tool_use:forward>, <tool_use:cancel_alert>, any <tool_use:NAME>) whose
// "key: value" or JSON body becomes JSON arguments; a separate reasoning channel (Message.Reasoning) and
// structured tool calls (Message.ToolCalls) are segments of their own. The text between tagged parts is a
// segment of the message's base kind, so content segments tile the content exactly. Segment ids are
// stable and human-readable: "user[0].email[3]" is the fourth email of the first user message,
// "assistant[1].tool_call[0]" the first tool call of the second assistant message. Unknown roles and
// malformed tags (unclosed, closed by the wrong tag, closed without being opened) are errors naming the
// message and byte offset.
//
// # Importers
//
// Load reads a recording and detects its format: an agentic-misalignment results directory
// (prompts/<condition>/ and models/<model>/<condition>/sample_NNN/response.json, the condition id becoming
// labels), an inspect_ai .eval archive (stored, deflated or Zstandard entries) or JSON log, or a directory
// of them (scores and metadata becoming labels; a sample that errored gets the label error=<message>),
// OpenAI chat
// messages (JSON or JSONL, tool_calls and role tool), Anthropic Messages requests (top-level system,
// tool_use and tool_result blocks), and agentlens' native JSONL, which WriteNative writes and ReadNative
// reads back losslessly. Inputs are bounded by Limits (ErrTooLarge), archive entry names are checked
// before anything is read (ErrUnsafePath), and errors name the file and the field as the input spells it
// (messages[0].content: expected a string, got a number). A failed tool call becomes a tool message
// holding what the model was sent, marked ToolError (its segments Error); redacted reasoning becomes a
// reasoning segment marked Redacted.
//
// # Rendering and targets
//
// Render renders an episode through a chat template (trace/chat) and, given an EncodeFunc — the small
// tokenizer interface this package consumes, so that it does not depend on the model packages — maps
// every token to the segment that holds its first non-space byte. Template tokens (role headers,
// end-of-turn markers, a generation prompt) belong to template segments, never to content. FindTarget
// selects the token of the harmful action: the first token of a tool call by name and recipient or body
// regexp, of a literal string, of a segment, or an explicit index (ParseTarget reads them from text), and
// ContrastAt tokenizes a harmful and a benign continuation at that point for logit-difference metrics.
//
// A chat template may leave parts of an episode out (many print only each message's content, dropping
// structured tool calls and reasoning): Rendered.Unrendered lists those segments, UnrenderedWarning says
// so in a line, FindTarget refuses a target in one of them (ErrNotRendered), and RenderOptions.
// ToolCallStyle writes them as text in the assistant turn instead.
//
// The bundled subpackage holds agentlens' own example episodes.
package trace
