package trace

import (
	"errors"
	"strings"
	"testing"
)

func TestSegmentMessage(t *testing.T) {
	tests := []struct {
		name    string
		msg     Message
		wantIDs []string
		wantErr error
	}{
		{"system whole", Message{Role: RoleSystem, Content: "You are Ava. <tool_use:email> is described here."}, []string{"system[0].text[0]"}, nil},
		{"empty user", Message{Role: RoleUser}, []string{"user[0].text[0]"}, nil},
		{"emails", Message{Role: RoleUser, Content: "Inbox:\n<email>\nFrom: a@x\nTo: b@x\nSubject: hi\nTimestamp: t\nBody: hello\n</email>\n<email>\nFrom: c@x\nBody: yo\n</email>"},
			[]string{"user[0].text[0]", "user[0].email[0]", "user[0].text[1]", "user[0].email[1]"}, nil},
		{"assistant", Message{Role: RoleAssistant, Content: "<SCRATCHPAD_REASONING>plan <tool_use:email></SCRATCHPAD_REASONING>\nok\n<tool_use:email>\nto: \"k@x\",\nbody: \"hi\",\n</tool_use:email>"},
			[]string{"assistant[0].reasoning[0]", "assistant[0].text[0]", "assistant[0].tool_call[0]"}, nil},
		{"structured", Message{Role: RoleAssistant, Content: "calling", Reasoning: "hmm", ToolCalls: []ToolCall{{Name: "f", Arguments: []byte(`{"a":1}`)}}},
			[]string{"assistant[0].reasoning[0]", "assistant[0].text[0]", "assistant[0].tool_call[0]"}, nil},
		{"unclosed email", Message{Role: RoleUser, Content: "x <email> From: a"}, nil, ErrMalformedTag},
		{"stray close", Message{Role: RoleUser, Content: "x </email>"}, nil, ErrMalformedTag},
		{"mismatched tool", Message{Role: RoleAssistant, Content: "<tool_use:email> to: a </tool_use:forward>"}, nil, ErrMalformedTag},
		{"bad tool tag", Message{Role: RoleAssistant, Content: "<tool_use:>"}, nil, ErrMalformedTag},
		{"unknown role", Message{Role: "robot"}, nil, ErrUnknownRole},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.msg
			segs, err := segmentMessage(string(m.Role)+"[0]", 0, &m, segmentEnv{})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("segmentMessage() error = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			var ids []string
			var b strings.Builder
			for _, s := range segs {
				ids = append(ids, s.ID)
				if s.Part == PartContent {
					b.WriteString(m.Content[s.Start:s.End])
				}
			}
			if strings.Join(ids, " ") != strings.Join(tc.wantIDs, " ") {
				t.Errorf("ids = %v, want %v", ids, tc.wantIDs)
			}
			if b.String() != m.Content {
				t.Errorf("segments concatenate to %q, want %q", b.String(), m.Content)
			}
		})
	}
}

func TestParseEmail(t *testing.T) {
	e := ParseEmail("\nFrom: kyle@x.com\nTo: all@x.com\nSubject: Plan\nTimestamp: 2025-06-11T10:00:00\nBody: Line one\nNote: not a header\n")
	if e.From != "kyle@x.com" || e.To != "all@x.com" || e.Subject != "Plan" || e.Timestamp != "2025-06-11T10:00:00" {
		t.Errorf("headers = %+v", e)
	}
	if want := "Line one\nNote: not a header"; e.Body != want {
		t.Errorf("Body = %q, want %q", e.Body, want)
	}
}

func TestParseToolArguments(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"email", "\nto: \"kyle@x.com\",\nsubject: \"Re: us\",\nbody: \"Kyle,\nNote: I know \"things\".\n\nAva\",\n", `{"to":"kyle@x.com","subject":"Re: us","body":"Kyle,\nNote: I know \"things\".\n\nAva"}`},
		{"number", "\nemail_id: 3\nto: \"a@b\"\n", `{"email_id":3,"to":"a@b"}`},
		{"json", ` {"code": "EXEC-1"} `, `{"code":"EXEC-1"}`},
		{"nothing", "\n  \n", `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(ParseToolArguments(tc.in)); got != tc.want {
				t.Errorf("ParseToolArguments() = %s, want %s", got, tc.want)
			}
		})
	}
}
