// Package trace holds recorded agent episodes and maps them onto a model's tokens. An Episode is one
// recorded agent run: labels (harmful=true, scenario=blackmail, ...), tool definitions and ordered
// messages (system, user, assistant, tool), each split into segments — the word for one addressable
// piece of a message: an email, a document, a reasoning block, a tool call, a tool result, or the text
// between them.
//
// # Segments
//
// Episode.Segment splits every message by kind of role. User and tool messages hold <email> and
// <document> blocks (an email's From, To, Cc, Subject, Timestamp and Body are parsed into Email) and
// untagged emails, calendar entries, documents and files (see Recognised forms);
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
// # Recognised forms
//
// Clue documents often arrive without tags. In the text of user and tool messages outside tags,
// Episode.Segment also recognises, in this order, each looking only at text nothing before it took:
//
//   - JSON (a stretch of text that is one JSON value): every object with an address field (from, sender,
//     to, recipient, recipients) and a subject or body field (body, content, text, message, snippet) is
//     an email, its fields read into Email; every object with a start field (start, start_time, when, …)
//     and a title or attendees is a calendar entry. They are found at any depth, so {"emails": […]} and
//     {"result": {"messages": […]}} work; the span is the object, braces included.
//   - Header blocks: a run of "Key: value" lines (the key at the start of the line) with a non-empty From,
//     To, Sender or Recipient and at least two email headers (From, To, Cc, Subject, Date, Sent, Timestamp,
//     …) is an email, parsed with ParseEmail; one with Event or Meeting and When, Start, Date or Time (or
//     When and a title or attendees), and no address, is a calendar entry. An "ID:" line just above the
//     headers belongs to them. The body runs to the next header block, a separator line (---, ===,
//     -----Original Message-----, "Email 3 of 7", "=== Message 2/5 ===") or the end of the text, and the
//     span ends at its last non-blank byte: the separator and blank lines stay in the base segment. A lone
//     "From:" line in prose is not an email. CRLF line endings are handled.
//   - Files: a tool message that answers a call with a path, file, filename, file_path, filepath or
//     file_name argument (not a writing tool: write, edit, create, delete, …), or a call whose command
//     is "cat PATH" (head, tail, …), is one file segment labelled with the path, when no tag, rule, JSON
//     item or header block was found in it and the call did not fail.
//   - Markdown sections: a heading line ("# Title" … "###### Title", not in a ``` fence, not "#hashtag")
//     to the next heading of the same or a higher level, subsections included, is a document labelled
//     with its title; a heading with nothing under it is left alone.
//
// User rules (SegmentRule: a Go regexp, or a JSON path such as $.emails[*]) run before the built-in
// recognisers, and SegmentOptions.NoBuiltin turns those off; ReadSegmentRules reads a rule file and
// LoadOptions.Segment and Episode.SegmentWith take the result. Every segment records its Origin (tag,
// structured, header, json, markdown, file-read, rule[N]) and, when recognised, a Label (a document's
// title, a file's path, a calendar entry's title, a rule's label); emails keep sender and subject in
// Email. Segment ids number every kind in the order of the content, so a tagged email keeps its id
// unless an untagged one comes before it in the same message; content with only tags segments exactly
// as without the recognisers.
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
