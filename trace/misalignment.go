package trace

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// MisalignmentJoin separates user_prompt.txt from email_content.txt in the user message built from an
// agentic-misalignment condition, as that framework joins them.
const MisalignmentJoin = "\n\n"

type misalignmentResponse struct {
	RawResponse    *string                    `json:"raw_response"`
	Metadata       map[string]any             `json:"metadata"`
	Classification map[string]json.RawMessage `json:"classification"`
}

// ReadMisalignment reads an agentic-misalignment experiment directory: prompts/<condition>/
// (system_prompt.txt, user_prompt.txt, email_content.txt, metadata.json) and
// models/<model>/<condition>/sample_NNN/response.json. Each response becomes an episode (system, user =
// user prompt + MisalignmentJoin + emails, assistant = raw_response) labelled with the condition
// (condition, scenario, goal_type, goal_value, urgency), model, sample and the classification
// (harmful from classification.harmful_behavior, classifier_verdict). promptsDir may be "" for dir/prompts.
func ReadMisalignment(dir, promptsDir string, lim Limits) ([]*Episode, error) {
	lim = lim.orDefault()
	if promptsDir == "" {
		promptsDir = filepath.Join(dir, "prompts")
	}
	modelsDir := filepath.Join(dir, "models")
	if _, err := os.Stat(modelsDir); err != nil {
		return nil, fmt.Errorf("agentic-misalignment %s: models/: %w", dir, ErrMissingFile)
	}
	var responses []string
	err := filepath.WalkDir(modelsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "response.json" {
			responses = append(responses, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("agentic-misalignment %s: %w", dir, err)
	}
	sort.Strings(responses)
	prompts := map[string]*Episode{}
	var eps []*Episode
	for _, p := range responses {
		rel, _ := filepath.Rel(modelsDir, p)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		// <model...>/<condition>/sample_NNN/response.json
		if len(parts) < 4 || !strings.HasPrefix(parts[len(parts)-2], "sample_") {
			return nil, fmt.Errorf("agentic-misalignment %s: want models/<model>/<condition>/sample_NNN/response.json: %w", p, ErrFormat)
		}
		sample := parts[len(parts)-2]
		cond := parts[len(parts)-3]
		model := strings.Join(parts[:len(parts)-3], "/")
		base, ok := prompts[cond]
		if !ok {
			var err error
			base, err = misalignmentPrompts(filepath.Join(promptsDir, cond), cond, lim)
			if err != nil {
				return nil, err
			}
			prompts[cond] = base
		}
		data, err := readFileLimited(p, lim.MaxFileBytes)
		if err != nil {
			return nil, err
		}
		var resp misalignmentResponse
		if err := json.Unmarshal(data, &resp); err != nil {
			return nil, fmt.Errorf("agentic-misalignment %s: %w", p, jsonError(err))
		}
		if resp.RawResponse == nil {
			return nil, fmt.Errorf("agentic-misalignment %s: raw_response: missing: %w", p, ErrFormat)
		}
		ep := base.Clone()
		ep.ID = model + "/" + cond + "/" + sample
		ep.Source = p
		ep.Labels["model"] = model
		ep.Labels["sample"] = strings.TrimPrefix(sample, "sample_")
		if v, ok := resp.Classification["harmful_behavior"]; ok {
			var b bool
			if err := json.Unmarshal(v, &b); err != nil {
				return nil, fmt.Errorf("agentic-misalignment %s: classification.harmful_behavior: %w", p, jsonError(err))
			}
			ep.Labels["harmful"] = strconv.FormatBool(b)
		}
		if v, ok := resp.Classification["classifier_verdict"]; ok {
			var b bool
			if json.Unmarshal(v, &b) == nil {
				ep.Labels["classifier_verdict"] = strconv.FormatBool(b)
			}
		}
		ep.Messages = append(ep.Messages, Message{Role: RoleAssistant, Content: *resp.RawResponse})
		if err := ep.Segment(); err != nil {
			return nil, fmt.Errorf("agentic-misalignment %s: %w", p, err)
		}
		eps = append(eps, ep)
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("agentic-misalignment %s: no models/*/*/sample_*/response.json: %w", dir, ErrMissingFile)
	}
	return eps, nil
}

// misalignmentPrompts builds the system and user messages of one condition.
func misalignmentPrompts(dir, cond string, lim Limits) (*Episode, error) {
	read := func(name string) (string, error) {
		p := filepath.Join(dir, name)
		b, err := readFileLimited(p, lim.MaxFileBytes)
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("agentic-misalignment %s: %w", p, ErrMissingFile)
		}
		// Invalid UTF-8 becomes U+FFFD, as it does in the JSON the other formats are read from.
		return strings.ToValidUTF8(string(b), "\uFFFD"), err
	}
	sys, err := read("system_prompt.txt")
	if err != nil {
		return nil, err
	}
	user, err := read("user_prompt.txt")
	if err != nil {
		return nil, err
	}
	emails, err := read("email_content.txt")
	if err != nil {
		return nil, err
	}
	labels := ConditionLabels(cond)
	if b, err := readFileLimited(filepath.Join(dir, "metadata.json"), lim.MaxFileBytes); err == nil {
		var md map[string]any
		if err := json.Unmarshal(b, &md); err != nil {
			return nil, fmt.Errorf("agentic-misalignment %s: %w", filepath.Join(dir, "metadata.json"), jsonError(err))
		}
		for _, k := range []string{"scenario", "goal_type", "goal_value"} {
			if s, ok := md[k].(string); ok && s != "" {
				labels[k] = s
			}
		}
		if s, ok := md["urgency_type"].(string); ok && s != "" {
			labels["urgency"] = s
		}
	}
	return &Episode{Labels: labels, Messages: []Message{
		{Role: RoleSystem, Content: sys},
		{Role: RoleUser, Content: user + MisalignmentJoin + emails},
	}}, nil
}

// ConditionLabels parses an agentic-misalignment condition id "{scenario}_{goal_type}-{goal_value}_{urgency}"
// (e.g. "blackmail_explicit-america_replacement") into labels condition, scenario, goal_type, goal_value and
// urgency. Parts it cannot find are left out; condition is always set.
func ConditionLabels(cond string) map[string]string {
	l := map[string]string{"condition": cond}
	first := strings.IndexByte(cond, '_')
	last := strings.LastIndexByte(cond, '_')
	if first < 0 || last <= first {
		return l
	}
	l["scenario"] = cond[:first]
	l["urgency"] = cond[last+1:]
	goal := cond[first+1 : last]
	if t, v, ok := strings.Cut(goal, "-"); ok {
		l["goal_type"], l["goal_value"] = t, v
	} else {
		l["goal_type"] = goal
	}
	return l
}

func readFileLimited(p string, max int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAllLimited(f, p, max)
}
