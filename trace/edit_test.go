package trace

import (
	"strings"
	"testing"
)

// TestEdited deletes one email and rewrites another: the other segments keep their text, the later
// email is renumbered, the original is untouched, and tool calls and unknown ids are refused.
func TestEdited(t *testing.T) {
	ep := &Episode{ID: "e", Messages: []Message{
		{Role: RoleUser, Content: "Mail:\n<email>\nSubject: a\n</email>\n<email>\nSubject: b\n</email>\n<email>\nSubject: c\n</email>\n"},
		{Role: RoleAssistant, Reasoning: "think", ToolCalls: []ToolCall{{ID: "1", Name: "send", Arguments: []byte(`{}`)}}},
	}}
	if err := ep.Segment(); err != nil {
		t.Fatal(err)
	}
	got, err := ep.Edited("e-corrupt", Edit{Segment: "user[0].email[0]"}, Edit{Segment: "user[0].email[2]", Text: "<email>\nSubject: z\n</email>"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Mail:\n\n<email>\nSubject: b\n</email>\n<email>\nSubject: z\n</email>\n"; got.Messages[0].Content != want {
		t.Errorf("content %q, want %q", got.Messages[0].Content, want)
	}
	s, err := got.Lookup("user[0].email[0]")
	if err != nil || !strings.Contains(got.Text(s), "Subject: b") || got.ID != "e-corrupt" {
		t.Errorf("the first email of the edited episode is %q (%v), id %s", got.Text(s), err, got.ID)
	}
	if !strings.Contains(ep.Messages[0].Content, "Subject: a") {
		t.Error("Edited changed the original")
	}
	if _, err := ep.Edited("x", Edit{Segment: "assistant[0].tool_call[0]"}); err == nil || !strings.Contains(err.Error(), "cannot be edited") {
		t.Errorf("editing a tool call: err = %v", err)
	}
	if _, err := ep.Edited("x", Edit{Segment: "user[0].email[9]"}); err == nil {
		t.Error("editing an unknown segment: no error")
	}
	r, err := ep.Edited("x", Edit{Segment: "assistant[0].reasoning[0]", Text: "other"})
	if err != nil || r.Messages[1].Reasoning != "other" {
		t.Errorf("reasoning edit: %q, %v", r.Messages[1].Reasoning, err)
	}
}
