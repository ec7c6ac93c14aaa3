// Package agent runs an agent loop over an episode: the word "agent" here means a model continuing a
// conversation turn by turn, its tool calls answered from a scenario's script, until it gives a final
// answer. Run starts from a conversation whose last message is not the assistant's (a scenario up to the
// decision) and repeats: render the episode with the generation prompt (Options.Render, which cmd
// builds from the model's chat template and tool-call style), generate one assistant turn (a Generator,
// which cmd adapts from a model with KV caching), append it, answer each tool call with a tool message
// (Tools; ScriptedTools answers from a map), and loop. The result is a native trace.Episode that
// segments like an imported recording and round-trips through trace.WriteNative and trace.ReadNative, so
// it can go straight into attribution and capture.
//
// # Tool-call formats
//
// Parse reads tool calls in the formats models emit (Options.Syntax picks which):
//
//   - FormatXML: <tool_use:NAME>\nkey: value,\n…</tool_use:NAME>, as the agentic-misalignment prompts ask
//     for, arguments read by trace.ParseToolArguments. The tags stay in the assistant's text, as in a
//     recorded agentic-misalignment response: Episode.Segment finds them there, so a rollout segments
//     exactly like an imported one (Message.ToolCalls stays empty).
//   - FormatHermes: <tool_call>{"name": …, "arguments": {…}}</tool_call> (Hermes, Qwen 2.5/3; a JSON
//     array of calls, "parameters" for "arguments", and Qwen3-Coder's <function=NAME><parameter=KEY>
//     bodies are read too).
//   - FormatLlama: {"name": …, "parameters": {…}} as the whole turn, or after <|python_tag|>.
//   - FormatMistral: [TOOL_CALLS][{"name": …, "arguments": {…}}], or [TOOL_CALLS]NAME[ARGS]{…} with an
//     optional [CALL_ID]id (Mistral Small 3.2, Devstral).
//   - FormatGemma: ```tool_code\nNAME(key="value", n=1)\n```, keyword arguments with string, number,
//     True, False and None values (print(…) and a module prefix such as default_api. are dropped).
//
// The last four are the structured formats: their calls are cut out of the text into Message.ToolCalls
// (with the model's id, else call00001, call00002, … — nine characters, as Mistral templates require)
// and the text left is trimmed, so the chat template writes them back its own way. Calls inside
// reasoning blocks (<think>, <thinking>, <SCRATCHPAD_REASONING>) are not read. Special tokens such as
// [TOOL_CALLS] and <|python_tag|> must be in the decoded text for their formats to be read. With
// SyntaxStructured, <tool_use:…> tags are text that Run does not answer (trace still segments them as
// tool calls); with SyntaxXML, the structured formats are text. Other formats (DeepSeek's
// <｜tool▁calls▁begin｜>, Kimi's <|tool_calls_section_begin|>, gpt-oss channels, Command-R actions,
// pythonic lists) are not read: a turn holding only such a call ends the loop as a final answer.
//
// Each attempt that cannot be read (a tag left open or closed by the wrong tag, JSON that does not
// parse, a call without a name) becomes an Event with what the model wrote and why, and is answered by a
// tool message marked ToolError telling the model the call was malformed; the loop goes on. A tool that
// Tools does not know is answered the same way. Each turn counts toward MaxTurns.
//
// # Repairs
//
// trace refuses an assistant message with a malformed reasoning or <tool_use:…> tag, so Run changes the
// generated text as little as it can to keep the episode segmentable, recording each change as an
// EventRepaired: reasoning that the generation prompt opened (text before a </think> that no <think>
// opened, as DeepSeek-R1 templates do) or that the turn never closed moves to the reasoning channel
// (Message.Reasoning, trimmed of newlines, with the text after </think> trimmed of leading newlines as
// Qwen3's template does), and the '<' of every other malformed tag is written as "&lt;". A repaired turn
// renders differently from what the model wrote, so the next prompt does not extend the previous one
// (an EventPrefixBreak): a Generator that reuses its KV cache should reuse the longest common prefix of
// token ids, not assume the whole previous prompt.
//
// # Reasons
//
// Result.Reason says why the loop ended: "final_answer" (a turn without tool calls), "runaway" (a turn
// ran out of new tokens; its calls are not answered), "turn_limit" (MaxTurns turns, each with calls),
// "malformed_tool_call" or "unknown_tool" (the first problem of a loop that hit MaxTurns, or of any loop
// with Options.StopOnProblem), or "error: " and the error (render, generation, cancellation; the episode
// so far is returned with it). The reason and the counts are also labels of the episode
// (rollout.reason, rollout.turns, rollout.tool_calls, rollout.malformed_tool_calls,
// rollout.unknown_tools, rollout.syntax), with the caller's Options.Labels.
//
// # Prompt prefixes
//
// When the chat template renders earlier turns as they were generated, every prompt extends the previous
// prompt followed by the text generated for it, and a KV cache carries over between turns. Run checks
// this and records an EventPrefixBreak where it fails: templates that drop the reasoning of earlier
// turns (Qwen3, DeepSeek-R1), that write structured calls back differently from how the model wrote
// them, or that render the last message differently from the others.
package agent
