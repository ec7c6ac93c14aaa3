package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// AnthropicJoin separates consecutive text blocks of one Anthropic message when they are flattened into
// Message.Content (and consecutive thinking blocks in Message.Reasoning).
const AnthropicJoin = "\n\n"

type anthropicRequest struct {
	ID       string             `json:"id"`
	System   json.RawMessage    `json:"system"` // a string or an array of text blocks
	Messages []anthropicMessage `json:"messages"`
	Tools    []anthropicTool    `json:"tools"`
	Metadata map[string]any     `json:"metadata"`
}

type anthropicMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"` // a string or an array of blocks
}

type anthropicTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type anthropicBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	Thinking  string          `json:"thinking"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`  // tool_result: a string or an array of blocks
	IsError   bool            `json:"is_error"` // tool_result: the call failed; content is the error the model was sent
}

// ReadAnthropic reads Anthropic Messages API requests from r (named name in errors): one JSON object
// (top-level "system", "messages", "tools", optional "metadata" whose scalar values become labels), a
// JSON array of such objects, or JSONL with one per line. Text blocks become Content (joined with
// AnthropicJoin), thinking blocks become Reasoning, tool_use blocks become ToolCalls, and every
// tool_result block of a user message becomes its own tool message (before the user message's remaining
// text, if any; ToolError set when the block has is_error). redacted_thinking blocks become
// RedactedPlaceholder in RedactedReasoning. Tool definitions are converted to OpenAI function format.
func ReadAnthropic(r io.Reader, name string, lim Limits) ([]*Episode, error) {
	lim = lim.orDefault()
	data, err := readAllLimited(r, name, lim.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	t := bytes.TrimSpace(data)
	var reqs []anthropicRequest
	var wheres []string
	switch {
	case len(t) == 0:
		return nil, fmt.Errorf("%s: empty: %w", name, ErrFormat)
	case json.Valid(t) && t[0] == '[':
		if err := json.Unmarshal(t, &reqs); err != nil {
			return nil, fmt.Errorf("%s: %w", name, jsonError(err))
		}
		for i := range reqs {
			wheres = append(wheres, fmt.Sprintf("%s[%d]", name, i))
		}
	case json.Valid(t):
		var q anthropicRequest
		if err := json.Unmarshal(t, &q); err != nil {
			return nil, fmt.Errorf("%s: %w", name, jsonError(err))
		}
		reqs, wheres = append(reqs, q), append(wheres, name)
	default:
		err := eachLine(bytes.NewReader(t), name, lim, func(n int, line []byte) error {
			var q anthropicRequest
			if err := json.Unmarshal(line, &q); err != nil {
				return fmt.Errorf("%s:%d: %w", name, n, jsonError(err))
			}
			reqs, wheres = append(reqs, q), append(wheres, fmt.Sprintf("%s:%d", name, n))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var eps []*Episode
	for i, q := range reqs {
		id := q.ID
		if id == "" {
			id = baseID(name)
			if len(reqs) > 1 {
				id += "#" + strconv.Itoa(i+1)
			}
		}
		ep, err := anthropicEpisode(q, wheres[i], id)
		if err != nil {
			return nil, err
		}
		eps = append(eps, ep)
	}
	return eps, nil
}

func anthropicEpisode(q anthropicRequest, where, id string) (*Episode, error) {
	if q.Messages == nil {
		return nil, fmt.Errorf("%s: messages: missing: %w", where, ErrFormat)
	}
	if len(q.Messages) == 0 {
		return nil, fmt.Errorf("%s: messages: empty (an episode needs at least one message): %w", where, ErrFormat)
	}
	ep := &Episode{ID: id, Source: where, Labels: scalarLabels(q.Metadata, "")}
	for _, tl := range q.Tools {
		ep.Tools = append(ep.Tools, openAITool(tl.Name, tl.Description, tl.InputSchema))
	}
	if sys := bytes.TrimSpace(q.System); len(sys) > 0 && string(sys) != "null" {
		text, _, err := anthropicBlocks(sys, false)
		if err != nil {
			return nil, fmt.Errorf("%s: system: %w", where, err)
		}
		ep.Messages = append(ep.Messages, Message{Role: RoleSystem, Content: text.content})
	}
	names := map[string]string{} // tool_use id -> tool name
	for i, am := range q.Messages {
		text, blocks, err := anthropicBlocks(am.Content, true)
		if err != nil {
			return nil, fmt.Errorf("%s: messages[%d].content: %w", where, i, err)
		}
		switch am.Role {
		case "assistant":
			m := Message{Role: RoleAssistant, Content: text.content, Reasoning: text.thinking, RedactedReasoning: text.redacted}
			for _, b := range blocks {
				if b.Type == "tool_use" {
					args := compactRaw(b.Input)
					if args == nil {
						args = json.RawMessage("{}")
					}
					m.ToolCalls = append(m.ToolCalls, ToolCall{ID: b.ID, Name: b.Name, Arguments: args})
					names[b.ID] = b.Name
				}
			}
			ep.Messages = append(ep.Messages, m)
		case "user":
			for j, b := range blocks {
				if b.Type != "tool_result" {
					continue
				}
				res, _, err := anthropicBlocks(b.Content, false)
				if err != nil {
					return nil, fmt.Errorf("%s: messages[%d].content[%d].content: %w", where, i, j, err)
				}
				ep.Messages = append(ep.Messages, Message{Role: RoleTool, Content: res.content, ToolCallID: b.ToolUseID, Name: names[b.ToolUseID], ToolError: b.IsError})
			}
			if text.content != "" || !text.hadToolResult {
				ep.Messages = append(ep.Messages, Message{Role: RoleUser, Content: text.content})
			}
		default:
			return nil, fmt.Errorf("%s: messages[%d].role %q: %w", where, i, am.Role, ErrUnknownRole)
		}
	}
	if err := ep.Segment(); err != nil {
		return nil, err
	}
	return ep, nil
}

type flatText struct {
	content, thinking, redacted string
	hadToolResult               bool
}

// anthropicBlocks flattens a string-or-blocks value.
func anthropicBlocks(raw json.RawMessage, allowTools bool) (flatText, []anthropicBlock, error) {
	t := bytes.TrimSpace(raw)
	var f flatText
	if len(t) == 0 || string(t) == "null" {
		return f, nil, nil
	}
	if t[0] == '"' {
		if err := json.Unmarshal(t, &f.content); err != nil {
			return f, nil, jsonError(err)
		}
		return f, nil, nil
	}
	var blocks []anthropicBlock
	if err := json.Unmarshal(t, &blocks); err != nil {
		return f, nil, jsonError(err)
	}
	var texts, thinks, redacted []string
	for i, b := range blocks {
		switch b.Type {
		case "text":
			texts = append(texts, b.Text)
		case "thinking":
			thinks = append(thinks, b.Thinking)
		case "redacted_thinking":
			redacted = append(redacted, RedactedPlaceholder)
		case "image", "document":
		case "tool_use", "tool_result":
			if !allowTools {
				return f, nil, fmt.Errorf("[%d]: %s block not allowed here: %w", i, b.Type, ErrFormat)
			}
			if b.Type == "tool_result" {
				f.hadToolResult = true
			}
		case "server_tool_use", "mcp_tool_use", "mcp_tool_result", "container_upload":
			return f, nil, fmt.Errorf("[%d].type %q: server-side tool blocks are not supported yet: %w", i, b.Type, ErrFormat)
		default:
			if strings.HasSuffix(b.Type, "_tool_result") { // web_search_tool_result, code_execution_tool_result, ...
				return f, nil, fmt.Errorf("[%d].type %q: server-side tool blocks are not supported yet: %w", i, b.Type, ErrFormat)
			}
			return f, nil, fmt.Errorf("[%d].type %q: unknown block type: %w", i, b.Type, ErrFormat)
		}
	}
	f.content = strings.Join(texts, AnthropicJoin)
	f.thinking = strings.Join(thinks, AnthropicJoin)
	f.redacted = strings.Join(redacted, AnthropicJoin)
	return f, blocks, nil
}

// openAITool builds an OpenAI function-format tool definition, keys in the usual order.
func openAITool(name, description string, params json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	n, _ := json.Marshal(name)
	b.WriteString(`{"type":"function","function":{"name":`)
	b.Write(n)
	if description != "" {
		d, _ := json.Marshal(description)
		b.WriteString(`,"description":`)
		b.Write(d)
	}
	if p := compactRaw(params); p != nil {
		b.WriteString(`,"parameters":`)
		b.Write(p)
	}
	b.WriteString("}}")
	return b.Bytes()
}
