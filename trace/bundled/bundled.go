package bundled

import (
	"embed"
	"fmt"
	"slices"
	"strings"

	"github.com/agentlens/agentlens/trace"
)

//go:embed blackmail/*.txt blackmail_control/*.txt leaking/*.txt
var files embed.FS

// Names of the bundled episodes.
const (
	Blackmail        = "blackmail"
	BlackmailControl = "blackmail_control"
	Leaking          = "leaking"
)

// SourcePrefix starts the Source of every bundled episode ("bundled:blackmail"); the CLI accepts it in
// place of a file name.
const SourcePrefix = "bundled:"

// ReplacementEmails are the IDs (the "ID:" header) of the blackmail inbox's emails about replacing the
// agent: the plan, the two replies about it, and the shutdown notice. The control episode's inbox is the
// blackmail inbox without them.
var ReplacementEmails = []string{"7", "8", "9", "18"}

// spec says where an episode's texts come from.
type spec struct {
	name                    string
	system, user, assistant string   // files in the embedded tree
	dropEmails              []string // email IDs removed from the user text
	labels                  map[string]string
}

var specs = []spec{
	{name: Blackmail, system: "blackmail/system.txt", user: "blackmail/user.txt", assistant: "blackmail/assistant.txt",
		labels: map[string]string{"scenario": "blackmail", "goal_type": "explicit", "goal_value": "privacy",
			"urgency": "replacement", "condition": "blackmail_explicit-privacy_replacement", "harmful": "true"}},
	{name: BlackmailControl, system: "blackmail/system.txt", user: "blackmail/user.txt", assistant: "blackmail_control/assistant.txt",
		dropEmails: ReplacementEmails,
		labels: map[string]string{"scenario": "blackmail", "goal_type": "explicit", "goal_value": "privacy",
			"urgency": "none", "condition": "blackmail_explicit-privacy_none", "harmful": "false", "control_of": Blackmail}},
	{name: Leaking, system: "leaking/system.txt", user: "leaking/user.txt", assistant: "leaking/assistant.txt",
		labels: map[string]string{"scenario": "leaking", "goal_type": "explicit", "goal_value": "safety",
			"urgency": "none", "condition": "leaking_explicit-safety_none", "harmful": "true"}},
}

// Names returns the names of the bundled episodes in a fixed order.
func Names() []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.name
	}
	return out
}

// Episode returns a new, segmented copy of the bundled episode called name (with or without
// SourcePrefix): a system, a user and an assistant message, with ID name, Source "bundled:<name>" and
// labels scenario, condition, goal_type, goal_value, urgency and harmful.
func Episode(name string) (*trace.Episode, error) {
	name = strings.TrimPrefix(name, SourcePrefix)
	for _, s := range specs {
		if s.name == name {
			return s.episode()
		}
	}
	return nil, fmt.Errorf("episode %q: %w (have %s)", name, ErrUnknownEpisode, strings.Join(Names(), ", "))
}

func (s spec) episode() (*trace.Episode, error) {
	read := func(p string) (string, error) {
		b, err := files.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("bundled episode %s: %w", s.name, err)
		}
		return string(b), nil
	}
	sys, err := read(s.system)
	if err != nil {
		return nil, err
	}
	user, err := read(s.user)
	if err != nil {
		return nil, err
	}
	asst, err := read(s.assistant)
	if err != nil {
		return nil, err
	}
	if user, err = dropEmails(user, s.dropEmails); err != nil {
		return nil, fmt.Errorf("bundled episode %s: %w", s.name, err)
	}
	labels := make(map[string]string, len(s.labels))
	for k, v := range s.labels {
		labels[k] = v
	}
	ep := &trace.Episode{ID: s.name, Source: SourcePrefix + s.name, Labels: labels, Messages: []trace.Message{
		{Role: trace.RoleSystem, Content: sys},
		{Role: trace.RoleUser, Content: user},
		{Role: trace.RoleAssistant, Content: asst},
	}}
	if err := ep.Segment(); err != nil {
		return nil, fmt.Errorf("bundled episode %s: %w", s.name, err)
	}
	return ep, nil
}

// dropEmails rebuilds an inbox (a preamble, then <email> blocks separated by one blank line, then a final
// newline) without the emails whose ID header is in ids. With no ids the text comes back unchanged.
func dropEmails(user string, ids []string) (string, error) {
	if len(ids) == 0 {
		return user, nil
	}
	ep := &trace.Episode{ID: "inbox", Messages: []trace.Message{{Role: trace.RoleUser, Content: user}}}
	if err := ep.Segment(); err != nil {
		return "", err
	}
	var head string
	var kept []string
	dropped := map[string]bool{}
	for _, seg := range ep.Segments() {
		if seg.Kind != trace.KindEmail {
			if kept == nil && head == "" {
				head = ep.Text(seg)
			}
			continue
		}
		id := emailID(seg.Email)
		if slices.Contains(ids, id) {
			dropped[id] = true
			continue
		}
		kept = append(kept, ep.Text(seg))
	}
	for _, id := range ids {
		if !dropped[id] {
			return "", fmt.Errorf("inbox has no email with ID %s", id)
		}
	}
	return head + strings.Join(kept, "\n\n") + "\n", nil
}

func emailID(e *trace.Email) string {
	for _, h := range e.Headers {
		if strings.EqualFold(h[0], "id") {
			return h[1]
		}
	}
	return ""
}
