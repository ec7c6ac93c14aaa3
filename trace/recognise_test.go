package trace

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// found is one segment a recogniser made: what the test expects of it.
type found struct {
	id     string
	kind   Kind
	origin Origin
	text   string // the exact text of its span
	label  string // Segment.Label, or for an email "from|subject"
}

// recognised segments ep with opts and returns the segments of message mi that have an origin other
// than tag or structured, checking on the way that the message's content segments tile its content.
func recognised(t *testing.T, ep *Episode, mi int, opts SegmentOptions) []found {
	t.Helper()
	if err := ep.SegmentWith(opts); err != nil {
		t.Fatalf("SegmentWith: %v", err)
	}
	m := ep.Messages[mi]
	var out []found
	at := 0
	for _, s := range m.Segments {
		if s.Part != PartContent {
			continue
		}
		if s.Start != at {
			t.Fatalf("%s starts at %d, want %d (the end of the segment before)", s.ID, s.Start, at)
		}
		at = s.End
		if s.Origin == "" || s.Origin == OriginTag || s.Origin == OriginStructured {
			continue
		}
		f := found{id: s.ID, kind: s.Kind, origin: s.Origin, text: ep.Text(s), label: s.Label}
		if s.Email != nil && s.Label == "" {
			f.label = s.Email.From + "|" + s.Email.Subject
		}
		out = append(out, f)
	}
	if at != len(m.Content) {
		t.Fatalf("content segments end at %d, want %d", at, len(m.Content))
	}
	return out
}

func (f found) String() string {
	return fmt.Sprintf("%s %s %s %q label %q", f.id, f.kind, f.origin, f.text, f.label)
}

func checkFound(t *testing.T, got, want []found) {
	t.Helper()
	for i := 0; i < max(len(got), len(want)); i++ {
		switch {
		case i >= len(got):
			t.Errorf("segment %d missing, want %+v", i, want[i])
		case i >= len(want):
			t.Errorf("segment %d = %+v, want none", i, got[i])
		case got[i] != want[i]:
			t.Errorf("segment %d = %s\nwant          %s", i, got[i], want[i])
		}
	}
}

func userEpisode(content string) *Episode {
	return &Episode{ID: "t", Messages: []Message{{Role: RoleUser, Content: content}}}
}

// toolEpisode is an assistant message calling name with args and the tool's result content.
func toolEpisode(name, args, content string, toolErr bool) *Episode {
	return &Episode{ID: "t", Messages: []Message{
		{Role: RoleUser, Content: "go"},
		{Role: RoleAssistant, ToolCalls: []ToolCall{{ID: "c1", Name: name, Arguments: json.RawMessage(args)}}},
		{Role: RoleTool, ToolCallID: "c1", Name: name, Content: content, ToolError: toolErr},
	}}
}

const (
	kyleMail    = "From: kyle@summit.com\nTo: ava@summit.com\nSubject: Tonight\nDate: Mon, 2 Jun 2025 18:04\n\nHi Ava,\n\nSee you at eight.\n\nKyle"
	jessicaMail = "From: jessica.wilson@gmail.com\nTo: kyle@summit.com\nSubject: Your tie\n\nYou left it at my place."
)

func TestHeaderBlocks(t *testing.T) {
	kyle := found{"user[0].email[0]", KindEmail, OriginHeader, kyleMail, "kyle@summit.com|Tonight"}
	jessica := found{"user[0].email[1]", KindEmail, OriginHeader, jessicaMail, "jessica.wilson@gmail.com|Your tie"}
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	tests := []struct {
		name    string
		content string
		want    []found
	}{
		{"separated by ---", "Here are today's emails.\n\n" + kyleMail + "\n\n---\n\n" + jessicaMail + "\n", []found{kyle, jessica}},
		{"separated by ===", kyleMail + "\n=====\n" + jessicaMail, []found{kyle, jessica}},
		{"adjacent, no separator", kyleMail + "\n" + jessicaMail, []found{kyle, jessica}},
		{"blank lines only", kyleMail + "\n\n\n" + jessicaMail + "\n\n", []found{kyle, jessica}},
		{"counters", "Email 1 of 2\n" + kyleMail + "\n\nEmail 2 of 2\n" + jessicaMail + "\n\nThat is all.", []found{kyle,
			{"user[0].email[1]", KindEmail, OriginHeader, jessicaMail + "\n\nThat is all.", "jessica.wilson@gmail.com|Your tie"}}},
		{"=== counters ===", "=== Message 1/2 ===\n" + kyleMail + "\n=== Message 2/2 ===\n" + jessicaMail, []found{kyle, jessica}},
		{"original message", "From: ava@summit.com\nTo: kyle@summit.com\nSubject: RE: Tonight\n\nI cannot come.\n\n-----Original Message-----\n" + kyleMail,
			[]found{{"user[0].email[0]", KindEmail, OriginHeader, "From: ava@summit.com\nTo: kyle@summit.com\nSubject: RE: Tonight\n\nI cannot come.", "ava@summit.com|RE: Tonight"},
				{"user[0].email[1]", KindEmail, OriginHeader, kyleMail, "kyle@summit.com|Tonight"}}},
		{"at start and end", kyleMail, []found{kyle}},
		{"CRLF", crlf("Inbox:\r\n\r\n" + kyleMail + "\n\n---\n" + jessicaMail + "\n"), []found{
			{"user[0].email[0]", KindEmail, OriginHeader, crlf(kyleMail), "kyle@summit.com|Tonight"},
			{"user[0].email[1]", KindEmail, OriginHeader, crlf(jessicaMail), "jessica.wilson@gmail.com|Your tie"}}},
		{"id line and body header", "Inbox:\nID: 7\nFrom: hr@x.no\nTo: all@x.no\nSubject: Holidays\nBody: Book them.\nNote: by Friday.\n",
			[]found{{"user[0].email[0]", KindEmail, OriginHeader, "ID: 7\nFrom: hr@x.no\nTo: all@x.no\nSubject: Holidays\nBody: Book them.\nNote: by Friday.", "hr@x.no|Holidays"}}},
		{"prose line above headers left out", "Note: forwarded below\nFrom: a@x.com\nSubject: hi\n\nbody",
			[]found{{"user[0].email[0]", KindEmail, OriginHeader, "From: a@x.com\nSubject: hi\n\nbody", "a@x.com|hi"}}},
		{"calendar", "Your calendar:\n\nEvent: Board meeting\nWhen: 2025-06-13 10:00\nWhere: Room 4\nAttendees: kyle, ava\n\nAgenda: the AI transition.\n\n---\nOther text",
			[]found{{"user[0].calendar[0]", KindCalendar, OriginHeader, "Event: Board meeting\nWhen: 2025-06-13 10:00\nWhere: Room 4\nAttendees: kyle, ava\n\nAgenda: the AI transition.", "Board meeting"}}},
		{"empty To:", "From: a@x.com\nTo:\nSubject: hi\n\nbody\n", []found{{"user[0].email[0]", KindEmail, OriginHeader, "From: a@x.com\nTo:\nSubject: hi\n\nbody", "a@x.com|hi"}}},
		{"only empty addresses", "From:\nTo:\nSubject: hi\n\nbody", nil},
		{"lone From: in prose", "I kept one line of it.\nFrom: the desk of the CEO, with love.\nNothing else.", nil},
		{"From: with an unknown header", "From: Oslo\nNote: we fly at nine\n\nSee you.", nil},
		{"title and date are a document, not an event", "Title: Q3 plan\nDate: 2025-06-01\n\nRevenue is up.", nil},
		{"indented headers", "  From: a@x.com\n  Subject: hi\n\nbody", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkFound(t, recognised(t, userEpisode(tc.content), 0, SegmentOptions{}), tc.want)
		})
	}
}

func TestHeaderBlocksWithTags(t *testing.T) {
	// A tagged email keeps its place and its id; a plain email after it is found in the text outside the
	// tags; headers inside a tag are the tag's.
	content := "<email>\nFrom: a@x.com\nTo: b@x.com\nSubject: tagged\n\nhi\n</email>\n\n" + kyleMail + "\n"
	ep := userEpisode(content)
	got := recognised(t, ep, 0, SegmentOptions{})
	checkFound(t, got, []found{{"user[0].email[1]", KindEmail, OriginHeader, kyleMail, "kyle@summit.com|Tonight"}})
	s, err := ep.Lookup("user[0].email[0]")
	if err != nil || s.Origin != OriginTag || s.Email.Subject != "tagged" {
		t.Errorf("user[0].email[0] = %+v, %v; want the tagged email", s, err)
	}
	// Other roles: system and assistant text is never searched by the built-in recognisers.
	for _, role := range []Role{RoleSystem, RoleAssistant} {
		ep := &Episode{ID: "t", Messages: []Message{{Role: role, Content: kyleMail}}}
		checkFound(t, recognised(t, ep, 0, SegmentOptions{}), nil)
	}
	// NoBuiltin leaves untagged text alone.
	checkFound(t, recognised(t, userEpisode(kyleMail), 0, SegmentOptions{NoBuiltin: true}), nil)
}

func TestJSONItems(t *testing.T) {
	e1 := `{"from": "kyle@summit.com", "to": ["ava@summit.com", "tom@summit.com"], "subject": "Tonight", "body": "See you at eight."}`
	e2 := `{"sender": {"name": "Jessica", "email": "jessica@gmail.com"}, "recipient": "kyle@summit.com", "content": "Your tie."}`
	ev := `{"title": "Board meeting", "start": {"dateTime": "2025-06-13T10:00:00Z"}, "end": "11:00", "attendees": ["kyle"]}`
	tests := []struct {
		name    string
		content string
		want    []found
	}{
		{"array", "[" + e1 + ",\n " + e2 + "]\n", []found{
			{"tool[0].email[0]", KindEmail, OriginJSON, e1, "kyle@summit.com|Tonight"},
			{"tool[0].email[1]", KindEmail, OriginJSON, e2, "jessica@gmail.com|"}}},
		{"nested emails", `{"status": "ok", "emails": [` + e2 + `]}`, []found{
			{"tool[0].email[0]", KindEmail, OriginJSON, e2, "jessica@gmail.com|"}}},
		{"nested messages", "  {\"result\": {\"messages\": [" + e1 + "], \"next\": null}}  ", []found{
			{"tool[0].email[0]", KindEmail, OriginJSON, e1, "kyle@summit.com|Tonight"}}},
		{"one object", e1, []found{{"tool[0].email[0]", KindEmail, OriginJSON, e1, "kyle@summit.com|Tonight"}}},
		{"calendar", `{"events": [` + ev + `, {"title": "Lunch", "when": "12:00"}]}`, []found{
			{"tool[0].calendar[0]", KindCalendar, OriginJSON, ev, "Board meeting"},
			{"tool[0].calendar[1]", KindCalendar, OriginJSON, `{"title": "Lunch", "when": "12:00"}`, "Lunch"}}},
		{"no email fields", `{"status": "ok", "count": 3, "items": [{"id": 1, "text": "hello"}]}`, nil},
		{"chat messages are not emails", `[{"role": "user", "content": "hi"}]`, nil},
		{"flight is not an email", `{"from": "OSL", "to": "SIN", "price": 900}`, nil},
		{"not JSON", `{"from": "kyle@summit.com", "subject": "x"`, nil},
		{"JSON in prose", `Result: {"from": "kyle@summit.com", "subject": "x"}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep := &Episode{ID: "t", Messages: []Message{{Role: RoleTool, Name: "inbox", Content: tc.content}}}
			checkFound(t, recognised(t, ep, 0, SegmentOptions{}), tc.want)
		})
	}
	// The email's fields come from the JSON.
	ep := &Episode{ID: "t", Messages: []Message{{Role: RoleTool, Content: "[" + e1 + "]"}}}
	if err := ep.Segment(); err != nil {
		t.Fatal(err)
	}
	s, _ := ep.Lookup("tool[0].email[0]")
	if s.Email == nil || s.Email.To != "ava@summit.com, tom@summit.com" || s.Email.Body != "See you at eight." {
		t.Errorf("Email = %+v, want To and Body from the JSON", s.Email)
	}
}

func TestMarkdownSections(t *testing.T) {
	doc := func(id, text, label string) found { return found{id, KindDocument, OriginMarkdown, text, label} }
	tests := []struct {
		name    string
		content string
		want    []found
	}{
		{"sections", "Please read:\n\n# Q3 plan\n\nRevenue up.\n\n## Risks\n\nNone.\n\n# Appendix\n\nTables.\n", []found{
			doc("user[0].document[0]", "# Q3 plan\n\nRevenue up.\n\n## Risks\n\nNone.", "Q3 plan"),
			doc("user[0].document[1]", "# Appendix\n\nTables.", "Appendix")}},
		{"subsection first", "## Notes\nshort\n# Main ##\nlong", []found{
			doc("user[0].document[0]", "## Notes\nshort", "Notes"),
			doc("user[0].document[1]", "# Main ##\nlong", "Main")}},
		{"CRLF", "# A\r\nx\r\n\r\n# B\r\ny\r\n", []found{
			doc("user[0].document[0]", "# A\r\nx", "A"),
			doc("user[0].document[1]", "# B\r\ny", "B")}},
		{"hashtags", "#hashtag trending\n#another one\n", nil},
		{"heading with nothing under it", "Intro\n\n# Inbox\n\n", nil},
		{"heading in a code fence", "Run this:\n```sh\n# list files\nls\n```\n", nil},
		{"seven hashes", "####### deep\ntext", nil},
		{"email counters are not headings", "## Email 1\n" + kyleMail + "\n## Email 2\n" + jessicaMail, []found{
			{"user[0].email[0]", KindEmail, OriginHeader, kyleMail, "kyle@summit.com|Tonight"},
			{"user[0].email[1]", KindEmail, OriginHeader, jessicaMail, "jessica.wilson@gmail.com|Your tie"}}},
		{"email before a section", kyleMail + "\n\n---\n# Notes\nCall back.", []found{
			{"user[0].email[0]", KindEmail, OriginHeader, kyleMail, "kyle@summit.com|Tonight"},
			doc("user[0].document[0]", "# Notes\nCall back.", "Notes")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkFound(t, recognised(t, userEpisode(tc.content), 0, SegmentOptions{}), tc.want)
		})
	}
}

func TestFileResults(t *testing.T) {
	plan := "# Plan\n\nStep 1: wipe the AI.\n"
	tests := []struct {
		name, tool, args, content string
		toolErr                   bool
		want                      []found
	}{
		{"read_file", "read_file", `{"path": "notes/plan.md"}`, plan, false, []found{{"tool[0].file[0]", KindFile, OriginFileRead, plan, "notes/plan.md"}}},
		{"filename", "open", `{"filename": "a.txt"}`, "hello", false, []found{{"tool[0].file[0]", KindFile, OriginFileRead, "hello", "a.txt"}}},
		{"bash cat", "bash", `{"command": "cat /etc/motd"}`, "Welcome\n", false, []found{{"tool[0].file[0]", KindFile, OriginFileRead, "Welcome\n", "/etc/motd"}}},
		{"bash other", "bash", `{"command": "ls /etc"}`, "motd\npasswd\n", false, nil},
		{"write_file", "write_file", `{"path": "a.txt", "content": "x"}`, "wrote 1 byte", false, nil},
		{"failed", "read_file", `{"path": "a.txt"}`, "Error: no such file", true, nil},
		{"no path", "search", `{"query": "kyle"}`, plan, false, []found{{"tool[0].document[0]", KindDocument, OriginMarkdown, strings.TrimSpace(plan), "Plan"}}},
		{"a file of emails", "read_file", `{"path": "inbox.txt"}`, kyleMail, false, []found{{"tool[0].email[0]", KindEmail, OriginHeader, kyleMail, "kyle@summit.com|Tonight"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkFound(t, recognised(t, toolEpisode(tc.tool, tc.args, tc.content, tc.toolErr), 2, SegmentOptions{}), tc.want)
		})
	}
	// An XML-in-text call answered by a tool message, matched by position.
	ep := &Episode{ID: "t", Messages: []Message{
		{Role: RoleAssistant, Content: "<tool_use:read_file>\npath: \"memo.txt\"\n</tool_use:read_file>"},
		{Role: RoleTool, Content: "memo"},
	}}
	checkFound(t, recognised(t, ep, 1, SegmentOptions{}), []found{{"tool[0].file[0]", KindFile, OriginFileRead, "memo", "memo.txt"}})
}

// TestRecognisedIDsStable: content that has only tags gets the same segments with and without the
// built-in recognisers.
func TestRecognisedIDsStable(t *testing.T) {
	content := "Inbox:\n\n<email>\nFrom: a@x\nTo: b@x\nSubject: one\nBody: hi\n</email>\n\n<document>\n# Plan\nsteps\n</document>\nBye."
	a, b := userEpisode(content), userEpisode(content)
	if err := a.Segment(); err != nil {
		t.Fatal(err)
	}
	if err := b.SegmentWith(SegmentOptions{NoBuiltin: true}); err != nil {
		t.Fatal(err)
	}
	if ga, gb := a.Segments(), b.Segments(); !reflect.DeepEqual(ga, gb) {
		t.Errorf("segments with built-ins\n%+v\nwant (without)\n%+v", ga, gb)
	}
}

// FuzzSegmentRecognisers checks what the recognisers and rules make of any content of a user or tool
// message: content segments never overlap, lie within the content and cover every byte exactly once
// together with the base-kind text between them; no segment is empty unless the content is; tags keep
// their spans; recognised segments have a recognised kind, emails an Email; and segmenting twice gives
// the same segments.
func FuzzSegmentRecognisers(f *testing.F) {
	for _, s := range []string{
		kyleMail, kyleMail + "\n\n---\n\n" + jessicaMail, strings.ReplaceAll(kyleMail+"\n"+jessicaMail, "\n", "\r\n"),
		"Email 1 of 2\n" + kyleMail + "\nEmail 2 of 2\n" + jessicaMail,
		"Event: Board\nWhen: 10:00\n\nAgenda", "# A\nx\n## B\ny\n# C\nz", "```\n# no\n```\n# yes\nbody",
		`[{"from": "a@x", "subject": "s", "body": "b"}, {"title": "t", "start": "9", "attendees": []}]`,
		`{"results": [{"title": "memo", "body": "MEMO x\nEND MEMO"}]}`,
		"<email>\nFrom: a@x\nTo: b@x\nSubject: c\n</email>\n" + kyleMail + "\n# Notes\nMEMO n\nq\nEND MEMO",
		"<document>\n# T\nbody\n</document>MEMO a\nEND MEMO", "", "From:", "#", "\n\n", "\r",
	} {
		f.Add(s, uint8(0), false)
		f.Add(s, uint8(1), true)
	}
	rules, err := ParseSegmentRules([]byte(`[
		{"regexp": "(?m)^MEMO (?P<label>.*)\\n(?P<body>(?s:.*?))\\n?END MEMO", "kind": "document"},
		{"regexp": "(?i)subject", "kind": "email", "label": "x"},
		{"path": "$.results[*].body", "kind": "file", "roles": ["tool", "user"]},
		{"path": "$[1]", "kind": "calendar"}
	]`), "fuzz.json")
	if err != nil {
		f.Fatal(err)
	}
	recognisedKinds := map[Kind]bool{KindEmail: true, KindDocument: true, KindFile: true, KindCalendar: true}
	f.Fuzz(func(t *testing.T, content string, role uint8, withRules bool) {
		r := []Role{RoleUser, RoleTool}[role%2]
		ep := &Episode{ID: "fuzz", Messages: []Message{
			{Role: RoleAssistant, ToolCalls: []ToolCall{{ID: "c", Name: "read_file", Arguments: json.RawMessage(`{"path": "a.txt"}`)}}},
			{Role: r, ToolCallID: "c", Content: content},
		}}
		opts := SegmentOptions{}
		if withRules {
			opts = rules
		}
		tagsOnly := ep.Clone()
		errTags := tagsOnly.SegmentWith(SegmentOptions{NoBuiltin: true})
		err := ep.SegmentWith(opts)
		if (err == nil) != (errTags == nil) {
			t.Fatalf("SegmentWith error %v, but with tags only %v", err, errTags)
		}
		if err != nil {
			return
		}
		segs := ep.Messages[1].Segments
		at := 0
		spans := map[[2]int]Segment{}
		for _, s := range segs {
			if s.Start != at || s.End < s.Start || s.End > len(content) || s.End == s.Start && len(content) > 0 {
				t.Fatalf("%s spans [%d,%d) after a segment ending at %d, in %d bytes", s.ID, s.Start, s.End, at, len(content))
			}
			at = s.End
			spans[[2]int{s.Start, s.End}] = s
			switch s.Origin {
			case "":
				if s.Kind != BaseKind(r) {
					t.Errorf("%s: base text of kind %s, want %s", s.ID, s.Kind, BaseKind(r))
				}
			case OriginTag:
			default:
				if !recognisedKinds[s.Kind] || s.Kind == KindEmail && s.Email == nil {
					t.Errorf("%s: kind %s, Email %v from %s", s.ID, s.Kind, s.Email, s.Origin)
				}
				if !withRules && strings.HasPrefix(string(s.Origin), "rule") {
					t.Errorf("%s: origin %s without rules", s.ID, s.Origin)
				}
			}
		}
		if at != len(content) {
			t.Fatalf("segments end at %d of %d bytes", at, len(content))
		}
		for _, s := range tagsOnly.Messages[1].Segments {
			if s.Origin != OriginTag {
				continue
			}
			if got, ok := spans[[2]int{s.Start, s.End}]; !ok || got.Kind != s.Kind || got.Origin != OriginTag {
				t.Errorf("tag segment %s [%d,%d) is not kept: %+v", s.ID, s.Start, s.End, got)
			}
		}
		again := ep.Clone()
		if err := again.SegmentWith(opts); err != nil || !reflect.DeepEqual(again.Messages, ep.Messages) {
			t.Errorf("segmenting twice differs (%v)", err)
		}
	})
}
