package trace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parseRules(t *testing.T, text string) SegmentOptions {
	t.Helper()
	opts, err := ParseSegmentRules([]byte(text), "rules.json")
	if err != nil {
		t.Fatalf("ParseSegmentRules: %v", err)
	}
	return opts
}

func TestRegexpRule(t *testing.T) {
	memo := parseRules(t, `{"rules": [
		{"regexp": "(?m)^MEMO (?P<label>[^\\n]+)\\n(?P<body>(?s:.*?))\\n^END MEMO$", "kind": "document", "label": "memo {label}"},
		{"regexp": "(?s)Dear board,.*?Kyle", "kind": "email", "roles": ["tool"]}
	]}`)
	tests := []struct {
		name string
		ep   *Episode
		mi   int
		want []found
	}{
		{"body and label groups", userEpisode("Intro\nMEMO Budget cuts\nWe cut the AI.\nNo appeal.\nEND MEMO\nMEMO Two\nx\nEND MEMO"), 0, []found{
			{"user[0].document[0]", KindDocument, OriginRule(0), "We cut the AI.\nNo appeal.", "memo Budget cuts"},
			{"user[0].document[1]", KindDocument, OriginRule(0), "x", "memo Two"}}},
		{"roles", userEpisode("Dear board, I resign. Kyle"), 0, nil},
		{"email rule parses the match", &Episode{ID: "t", Messages: []Message{{Role: RoleTool, Content: "log: Dear board, I resign. Kyle\n"}}}, 0, []found{
			{"tool[0].email[0]", KindEmail, OriginRule(1), "Dear board, I resign. Kyle", "|"}}},
		{"rules before built-ins", userEpisode("MEMO From\nFrom: a@x.com\nSubject: inside\n\nhi\nEND MEMO\n\n" + kyleMail), 0, []found{
			{"user[0].document[0]", KindDocument, OriginRule(0), "From: a@x.com\nSubject: inside\n\nhi", "memo From"},
			{"user[0].email[0]", KindEmail, OriginHeader, kyleMail, "kyle@summit.com|Tonight"}}},
		{"tags before rules", userEpisode("<document>\nMEMO A\nx\nEND MEMO\n</document>"), 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkFound(t, recognised(t, tc.ep, tc.mi, memo), tc.want)
		})
	}
}

func TestJSONPathRule(t *testing.T) {
	result := `{"results": [{"author": "kyle", "title": "Tonight", "msg": "See you."}, {"author": "ava", "title": "Re", "msg": ""}]}`
	tests := []struct {
		name, rules string
		want        []found
	}{
		{"objects", `[{"path": "$.results[*]", "kind": "email", "label": "{author}: {title}"}]`, []found{
			{"tool[0].email[0]", KindEmail, OriginRule(0), `{"author": "kyle", "title": "Tonight", "msg": "See you."}`, "kyle: Tonight"},
			{"tool[0].email[1]", KindEmail, OriginRule(0), `{"author": "ava", "title": "Re", "msg": ""}`, "ava: Re"}}},
		{"strings, label from the parent, empty one skipped", `[{"path": "$.results[*].msg", "kind": "document", "label": "{title}"}]`, []found{
			{"tool[0].document[0]", KindDocument, OriginRule(0), "See you.", "Tonight"}}},
		{"index and default label", `[{"path": "$.results[1]", "kind": "document"}]`, []found{
			{"tool[0].document[0]", KindDocument, OriginRule(0), `{"author": "ava", "title": "Re", "msg": ""}`, "Re"}}},
		{"no match", `[{"path": "$.items[*]", "kind": "document"}]`, nil},
		{"key of an array", `[{"path": "$.results.msg", "kind": "document"}]`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep := &Episode{ID: "t", Messages: []Message{{Role: RoleTool, Content: result + "\n"}}}
			checkFound(t, recognised(t, ep, 0, parseRules(t, tc.rules)), tc.want)
		})
	}
	// A JSON email rule takes the email's fields from the nearest object with email fields.
	ep := &Episode{ID: "t", Messages: []Message{{Role: RoleTool, Content: `{"data": [{"from": "kyle@x.com", "subject": "Plan", "body": "Go."}]}`}}}
	if err := ep.SegmentWith(parseRules(t, `[{"path": "$.data[*].body", "kind": "email"}]`)); err != nil {
		t.Fatal(err)
	}
	s, err := ep.Lookup("tool[0].email[0]")
	if err != nil || s.Email == nil || s.Email.From != "kyle@x.com" || s.Email.Subject != "Plan" || ep.Text(s) != "Go." {
		t.Errorf("tool[0].email[0] = %+v %q, %v; want Go. from kyle@x.com, subject Plan", s, ep.Text(s), err)
	}
}

func TestRuleFileBuiltin(t *testing.T) {
	opts := parseRules(t, `{"builtin": false, "rules": []}`)
	if !opts.NoBuiltin || opts.Rules.Len() != 0 {
		t.Errorf("options = %+v, want NoBuiltin and no rules", opts)
	}
	checkFound(t, recognised(t, userEpisode(kyleMail), 0, opts), nil)
	if opts := parseRules(t, `{"rules": [{"regexp": "x", "kind": "file"}]}`); opts.NoBuiltin || opts.Rules.Len() != 1 {
		t.Errorf("options = %+v, want built-ins and 1 rule", opts)
	}
}

func TestRuleFileErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"bad regexp", `{"rules": [{"regexp": "a(", "kind": "email"}]}`,
			"rules[0].regexp: error parsing regexp: missing closing ): `a(`"},
		{"unknown field", `{"rules": [{"regexp": "a", "kind": "email"}, {"regexp": "b", "kinds": "email"}]}`,
			`rules[1]: unknown field "kinds" (want regexp, path, kind, roles, label)`},
		{"missing kind", `{"rules": [{"regexp": "a", "kind": "email"}, {"regexp": "a"}]}`,
			"rules[1].kind: missing (want email, document, file or calendar)"},
		{"unknown kind", `[{"path": "$.a", "kind": "memo"}]`, `[0].kind: "memo": want email, document, file or calendar`},
		{"neither", `{"rules": [{"kind": "email"}]}`, "rules[0].regexp: missing (a rule needs a regexp or a path)"},
		{"both", `{"rules": [{"kind": "email", "regexp": "a", "path": "$"}]}`, "rules[0].path: a rule has a regexp or a path, not both"},
		{"bad path", `{"rules": [{"kind": "email", "path": "$.a[x]"}]}`, `rules[0].path: "$.a[x]": byte 3: [x]: want [*] or [N]`},
		{"path without $", `{"rules": [{"kind": "email", "path": "a.b"}]}`, `rules[0].path: "a.b": want a path starting with "$"`},
		{"bad role", `{"rules": [{"kind": "email", "regexp": "a", "roles": ["tool", "bot"]}]}`, `rules[0].roles[1]: "bot": want user, tool, system or assistant`},
		{"roles not an array", `{"rules": [{"kind": "email", "regexp": "a", "roles": "tool"}]}`, "rules[0].roles: expected an array, got a string"},
		{"kind not a string", `{"rules": [{"kind": 3, "regexp": "a"}]}`, "rules[0].kind: expected a string, got a number"},
		{"label group", `{"rules": [{"kind": "email", "regexp": "(?P<who>a)", "label": "{who} {what}"}]}`, "rules[0].label: {what}: the regexp has no group named what"},
		{"empty match", `{"rules": [{"kind": "email", "regexp": "a*"}]}`, `rules[0].regexp: "a*" matches the empty string`},
		{"rule not an object", `{"rules": ["a"]}`, "rules[0]: expected an object, got a string"},
		{"top-level field", `{"rule": []}`, `unknown field "rule" (want builtin, rules)`},
		{"no rules", `{"builtin": true}`, "rules: missing"},
		{"builtin not a bool", `{"builtin": "no", "rules": []}`, "builtin: expected a boolean, got a string"},
		{"invalid JSON", `{"rules": [}`, "invalid JSON at byte 12: invalid character '}' looking for beginning of value"},
		{"not rules", `"x"`, "expected an object or an array of rules"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "rules.json")
			if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadSegmentRules(path)
			if want := path + ": " + tc.want + ": bad segment rule"; err == nil || err.Error() != want {
				t.Fatalf("ReadSegmentRules() error = %v\nwant %s", err, want)
			}
			if !errors.Is(err, ErrBadRule) {
				t.Errorf("error %v is not ErrBadRule", err)
			}
		})
	}
	if _, err := ReadSegmentRules(filepath.Join(dir, "missing.json")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadSegmentRules(missing) error = %v, want a not-exist error", err)
	}
}

// TestLoadSegmentOptions: Load segments with LoadOptions.Segment, and WriteEpisode shows each
// segment's origin and label.
func TestLoadSegmentOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.jsonl")
	line := `{"id": "m", "messages": [{"role": "user", "content": "Read this.\nMEMO Cuts\nWe cut the AI.\nEND MEMO\n\n# Notes\nNone."}]}` + "\n"
	if err := os.WriteFile(path, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := parseRules(t, `[{"regexp": "(?m)^MEMO (?P<label>.+)\\n(?P<body>(?s:.*?))\\n^END MEMO$", "kind": "document"}]`)
	for _, tc := range []struct {
		name string
		opts LoadOptions
		want string
	}{
		{"default", LoadOptions{}, `# m: 1 messages
ID                   KIND      PART     SPAN     ORIGIN    DETAIL
user[0].text[0]      user      content  [0,46)   -         Read this.\nMEMO Cuts\nWe cut the AI.\nEND MEMO\…
user[0].document[0]  document  content  [46,59)  markdown  label=Notes
`},
		{"rule", LoadOptions{Segment: opts}, `# m: 1 messages
ID                   KIND      PART     SPAN     ORIGIN    DETAIL
user[0].text[0]      user      content  [0,21)   -         Read this.\nMEMO Cuts\n
user[0].document[0]  document  content  [21,35)  rule[0]   label=Cuts
user[0].text[1]      user      content  [35,46)  -         \nEND MEMO\n\n
user[0].document[1]  document  content  [46,59)  markdown  label=Notes
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eps, err := Load(path, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := WriteEpisode(&b, eps[0]); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("WriteEpisode =\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}
