package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// openAIMessage is one message of the OpenAI chat completions format.
type openAIMessage struct {
	Role             string          `json:"role"`
	Content          json.RawMessage `json:"content"` // string, null or an array of parts
	ToolCalls        []openAICall    `json:"tool_calls"`
	ToolCallID       string          `json:"tool_call_id"`
	Name             string          `json:"name"`
	ReasoningContent string          `json:"reasoning_content"`
	Reasoning        string          `json:"reasoning"`
	Refusal          string          `json:"refusal"` // an assistant's refusal, in place of content
	// FunctionCall is the single call of the legacy functions API (before tool_calls).
	FunctionCall *struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function_call"`
}

type openAICall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"` // a JSON string holding JSON, or (leniently) an object
	} `json:"function"`
}

type openAIConversation struct {
	ID       string            `json:"id"`
	Messages []openAIMessage   `json:"messages"`
	Tools    []json.RawMessage `json:"tools"`
	Metadata map[string]any    `json:"metadata"`
}

// ReadOpenAI reads OpenAI chat completions messages from r (named name in errors): a JSON object with
// "messages" (and optional "tools", "metadata" whose scalar values become labels), a JSON array of
// messages, or JSONL whose lines are either such objects (one episode per line) or single messages (one
// episode for the file). Roles developer and function are read as system and tool; an assistant's refusal
// is its content, and a legacy function_call is its tool call.
func ReadOpenAI(r io.Reader, name string, lim Limits) ([]*Episode, error) {
	lim = lim.orDefault()
	data, err := readAllLimited(r, name, lim.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return nil, fmt.Errorf("%s: empty: %w", name, ErrFormat)
	}
	// A single JSON value: an object or an array of messages.
	if json.Valid(t) {
		if t[0] == '[' {
			var msgs []openAIMessage
			if err := json.Unmarshal(t, &msgs); err != nil {
				return nil, fmt.Errorf("%s: %w", name, jsonError(err))
			}
			ep, err := openAIEpisode(openAIConversation{Messages: msgs}, name, baseID(name))
			if err != nil {
				return nil, err
			}
			return []*Episode{ep}, nil
		}
		var c openAIConversation
		if err := json.Unmarshal(t, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", name, jsonError(err))
		}
		if c.Messages == nil {
			return nil, fmt.Errorf("%s: messages: missing: %w", name, ErrFormat)
		}
		id := c.ID
		if id == "" {
			id = baseID(name)
		}
		ep, err := openAIEpisode(c, name, id)
		if err != nil {
			return nil, err
		}
		return []*Episode{ep}, nil
	}
	// JSONL.
	var eps []*Episode
	var loose []openAIMessage
	err = eachLine(bytes.NewReader(t), name, lim, func(n int, line []byte) error {
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(line, &probe); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, jsonError(err))
		}
		if _, ok := probe["messages"]; ok {
			var c openAIConversation
			if err := json.Unmarshal(line, &c); err != nil {
				return fmt.Errorf("%s:%d: %w", name, n, jsonError(err))
			}
			id := c.ID
			if id == "" {
				id = baseID(name) + "#" + strconv.Itoa(n)
			}
			ep, err := openAIEpisode(c, fmt.Sprintf("%s:%d", name, n), id)
			if err != nil {
				return err
			}
			eps = append(eps, ep)
			return nil
		}
		var m openAIMessage
		if err := json.Unmarshal(line, &m); err != nil || m.Role == "" {
			return fmt.Errorf("%s:%d: neither a message nor a conversation: %w", name, n, ErrFormat)
		}
		loose = append(loose, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(loose) > 0 {
		if len(eps) > 0 {
			return nil, fmt.Errorf("%s: mixes conversation lines and message lines: %w", name, ErrFormat)
		}
		ep, err := openAIEpisode(openAIConversation{Messages: loose}, name, baseID(name))
		if err != nil {
			return nil, err
		}
		eps = append(eps, ep)
	}
	return eps, nil
}

func openAIEpisode(c openAIConversation, where, id string) (*Episode, error) {
	if len(c.Messages) == 0 {
		return nil, fmt.Errorf("%s: messages: empty (an episode needs at least one message): %w", where, ErrFormat)
	}
	ep := &Episode{ID: id, Source: where, Labels: scalarLabels(c.Metadata, "")}
	for _, t := range c.Tools {
		ep.Tools = append(ep.Tools, compactRaw(t))
	}
	for i, om := range c.Messages {
		role, ok := openAIRoles[om.Role]
		if !ok {
			return nil, fmt.Errorf("%s: messages[%d].role %q: %w", where, i, om.Role, ErrUnknownRole)
		}
		content, err := openAIContent(om.Content)
		if err != nil {
			return nil, fmt.Errorf("%s: messages[%d].content: %w", where, i, err)
		}
		if content == "" {
			content = om.Refusal // what the model wrote instead of an answer
		}
		m := Message{Role: role, Content: content, ToolCallID: om.ToolCallID, Name: om.Name, Reasoning: om.ReasoningContent}
		if m.Reasoning == "" {
			m.Reasoning = om.Reasoning
		}
		for j, tc := range om.ToolCalls {
			args, err := openAIArguments(tc.Function.Arguments)
			if err != nil {
				return nil, fmt.Errorf("%s: messages[%d].tool_calls[%d].function.arguments: %w", where, i, j, err)
			}
			m.ToolCalls = append(m.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: args})
		}
		if fc := om.FunctionCall; fc != nil && len(om.ToolCalls) == 0 {
			args, err := openAIArguments(fc.Arguments)
			if err != nil {
				return nil, fmt.Errorf("%s: messages[%d].function_call.arguments: %w", where, i, err)
			}
			m.ToolCalls = append(m.ToolCalls, ToolCall{Name: fc.Name, Arguments: args})
		}
		ep.Messages = append(ep.Messages, m)
	}
	if err := ep.Segment(); err != nil {
		return nil, err
	}
	return ep, nil
}

var openAIRoles = map[string]Role{
	"system": RoleSystem, "developer": RoleSystem, "user": RoleUser, "assistant": RoleAssistant,
	"tool": RoleTool, "function": RoleTool,
}

// openAIContent flattens a content value: a string, null, or an array of {type: text, text} parts (parts
// joined with no separator; refusal parts give their refusal text; other parts, such as images and
// audio, are skipped).
func openAIContent(raw json.RawMessage) (string, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return "", nil
	}
	if t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return "", jsonError(err)
		}
		return s, nil
	}
	var parts []struct {
		Type    string `json:"type"`
		Text    string `json:"text"`
		Refusal string `json:"refusal"`
	}
	if err := json.Unmarshal(t, &parts); err != nil {
		return "", jsonError(err)
	}
	var b bytes.Buffer
	for _, p := range parts {
		switch p.Type {
		case "text", "input_text", "output_text":
			b.WriteString(p.Text)
		case "refusal":
			b.WriteString(p.Refusal)
		}
	}
	return b.String(), nil
}

// openAIArguments decodes arguments: a JSON string holding JSON (the API's form) or an object.
func openAIArguments(raw json.RawMessage) (json.RawMessage, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return json.RawMessage("{}"), nil
	}
	if t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return nil, jsonError(err)
		}
		if json.Valid([]byte(s)) {
			return compactRaw([]byte(s)), nil
		}
		return compactRaw(t), nil // not JSON inside: keep the string itself
	}
	if !json.Valid(t) {
		return nil, fmt.Errorf("invalid JSON: %w", ErrFormat)
	}
	return compactRaw(t), nil
}

// scalarLabels turns the string, number and boolean values of m into labels (prefix + key).
func scalarLabels(m map[string]any, prefix string) map[string]string {
	var out map[string]string
	for k, v := range m {
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case bool:
			s = strconv.FormatBool(v)
		case float64:
			s = strconv.FormatFloat(v, 'g', -1, 64)
		case json.Number:
			s = v.String()
		default:
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[prefix+k] = s
	}
	return out
}

func readAllLimited(r io.Reader, name string, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes: %w", name, max, ErrTooLarge)
	}
	// A UTF-8 byte order mark (written by some Windows tools) is not part of the text, and encoding/json
	// would reject it.
	return bytes.TrimPrefix(data, utf8BOM), nil
}
