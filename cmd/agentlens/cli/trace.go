package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/bundled"
	"github.com/agentlens/agentlens/trace/chat"
)

func newCmdTrace(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "trace <command>",
		Short:   "Inspect recorded agent episodes",
		GroupID: groupAnalysis,
		Example: "  agentlens trace show bundled:blackmail --model smollm2",
	}
	cmd.AddCommand(newCmdTraceShow(f, nil))
	return cmd
}

// traceShowOptions are the inputs of "agentlens trace show".
type traceShowOptions struct {
	IO *IOStreams

	Episode   string       // a recording's path, or bundled:<name>
	Format    trace.Format // FormatAuto detects it
	ID        string       // show only the episode with this id ("" = all)
	Model     string       // a GGUF file, or a model name of "model fetch" resolved in the cache ("" = none)
	Template  string       // a chat template file, overriding the model's
	GenPrompt bool         // render with the generation prompt
	Style     trace.ToolCallStyle
	segmentRules
	jsonOutput
}

func newCmdTraceShow(f *Factory, runF func(*traceShowOptions) error) *cobra.Command {
	opts := &traceShowOptions{IO: f.IO}
	var format, style string
	cmd := &cobra.Command{
		Use:   "show <episode> [--model <path>] [--template <file>] [--tool-call-style xml|json] [--segment-rule <file>]",
		Short: "Print an episode's segments with their char and token spans",
		Long: `Print the segments of the episodes recorded in <episode>: every email, document,
reasoning block, tool call and tool result, with its stable id and kind.

<episode> is a file or directory in any format agentlens reads (agentic-misalignment
results directory, inspect_ai .eval or JSON log, OpenAI or Anthropic messages as JSON
or JSONL, agentlens native JSONL), or bundled:<name> for a bundled episode (` + strings.Join(bundled.Names(), ", ") + `).

Without --model or --template each segment's byte span is within its message. With
--template the episode is rendered through that chat template and spans are bytes of
the rendered prompt. With --model (a GGUF file, or smollm2 / gemma3 from the cache) it
is rendered through the model's chat template and tokenizer, and each segment also
gets its token span.

A directory is an agentic-misalignment results directory when it has models/, else a
directory of inspect_ai logs (every .eval and JSON log under it).

Some chat templates (SmolLM2's among them) print only each message's content: structured
tool calls and reasoning, and with some templates tool results, are then not in the
prompt at all. trace show says so once on stderr, naming the segments (FOUND is false).
--tool-call-style xml writes them as text in the assistant turn, the way the
agentic-misalignment prompts do (<tool_use:NAME>\nkey: value,\n</tool_use:NAME>, reasoning
in <thinking>); json writes <tool_call>{"name": …, "arguments": …}</tool_call>.

--json prints {"episodes": [...]} instead of the tables: each episode's id, labels and
segments (segment_id, segment_kind, label, origin, char_start, char_end; without a
template the span is bytes of the message part named by message and part, with one it is
bytes of the rendered prompt and found says whether the template printed the segment;
with --model, token_start and token_end too).

` + segmentRuleHelp,
		Example: `  agentlens trace show bundled:blackmail
  agentlens trace show bundled:blackmail --model smollm2
  agentlens trace show bundled:blackmail --model smollm2 --json | jq '.episodes[0].segments[] | select(.segment_kind == "email")'
  agentlens trace show results/exp1 --id claude/blackmail_explicit-america_replacement/sample_001
  agentlens trace show logs/ --format inspect-eval
  agentlens trace show run.eval --model smollm2 --tool-call-style xml
  agentlens trace show run.eval --model gemma3 --template gemma3.jinja
  agentlens trace show run.eval --segment-rule rules.json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Episode = args[0]
			ok := format == ""
			for _, fm := range trace.Formats {
				ok = ok || format == string(fm)
			}
			if !ok {
				var names []string
				for _, fm := range trace.Formats {
					names = append(names, string(fm))
				}
				return flagErrorf("unknown format %q: want one of %s", format, strings.Join(names, ", "))
			}
			opts.Format = trace.Format(format)
			var err error
			if opts.Style, err = trace.ParseToolCallStyle(style); err != nil {
				return flagErrorf("--tool-call-style %s: want xml or json", style)
			}
			if err := opts.readSegmentRules(); err != nil {
				return err
			}
			if opts.Model != "" {
				ref, err := resolveModelArg(f, opts.Model)
				if err != nil {
					return err
				}
				if opts.Model, err = ref.cached(); err != nil {
					return err
				}
			}
			opts.quiet(&opts.IO)
			if runF != nil {
				return runF(opts)
			}
			return traceShowRun(opts)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "recording `format` (default: detected)")
	cmd.Flags().StringVar(&opts.ID, "id", "", "show only the episode with this `id`")
	cmd.Flags().StringVarP(&opts.Model, "model", "m", "", "GGUF model `path` or cached model name (smollm2, gemma3) for token spans")
	cmd.Flags().StringVar(&opts.Template, "chat-template", "", "chat template `file` (overrides the model's)")
	// --template was this command's name for it before every model command took --chat-template.
	cmd.Flags().StringVar(&opts.Template, "template", "", "chat template `file` (overrides the model's)")
	_ = cmd.Flags().MarkDeprecated("template", "use --chat-template")
	cmd.Flags().BoolVar(&opts.GenPrompt, "generation-prompt", false, "render with the assistant generation prompt")
	cmd.Flags().StringVar(&style, "tool-call-style", "", "write tool calls and reasoning the template drops as text: `xml` or json")
	opts.addSegmentRuleFlag(cmd)
	opts.addJSONFlag(cmd)
	return cmd
}

// traceShowEpisode is one episode of the --json output of "agentlens trace show": field names as in
// the Parquet tables (segment_id, segment_kind, char_start, token_start, …).
type traceShowEpisode struct {
	EpisodeID string             `json:"episode_id"`
	Labels    map[string]string  `json:"labels,omitempty"`
	Messages  int                `json:"messages"`
	Bytes     *int               `json:"bytes,omitempty"`  // of the rendered prompt
	Tokens    *int               `json:"tokens,omitempty"` // of the rendered prompt, with --model
	Segments  []traceShowSegment `json:"segments"`
}

// traceShowSegment is one row of trace show's table.
type traceShowSegment struct {
	SegmentID   string `json:"segment_id"`
	SegmentKind string `json:"segment_kind"`
	Label       string `json:"label,omitempty"`   // as attribution.Label gives it (the label column of the segment tables)
	Origin      string `json:"origin,omitempty"`  // what made it: tag, structured, header, …
	Message     *int   `json:"message,omitempty"` // without a template: index of its message
	Part        string `json:"part,omitempty"`    // without a template: the message part the char span is in
	CharStart   int    `json:"char_start"`
	CharEnd     int    `json:"char_end"`
	TokenStart  *int   `json:"token_start,omitempty"`
	TokenEnd    *int   `json:"token_end,omitempty"`
	Found       *bool  `json:"found,omitempty"` // with a template: whether it printed the segment
}

// episodeJSON is the --json form of ep's table (WriteEpisode), or of r's (WriteSegments) when r is not
// nil.
func episodeJSON(ep *trace.Episode, r *trace.Rendered) traceShowEpisode {
	out := traceShowEpisode{EpisodeID: ep.ID, Labels: ep.Labels, Messages: len(ep.Messages), Segments: []traceShowSegment{}}
	origins := map[string]trace.Origin{}
	for _, s := range ep.Segments() {
		origins[s.ID] = s.Origin
		if r == nil {
			out.Segments = append(out.Segments, traceShowSegment{SegmentID: s.ID, SegmentKind: string(s.Kind),
				Label: attribution.Label(ep, s.ID), Origin: string(s.Origin), Message: &s.Message, Part: string(s.Part),
				CharStart: s.Start, CharEnd: s.End})
		}
	}
	if r == nil {
		return out
	}
	n := len(r.Text)
	out.Bytes = &n
	if len(r.IDs) > 0 {
		t := len(r.IDs)
		out.Tokens = &t
	}
	for _, s := range r.Segments {
		row := traceShowSegment{SegmentID: s.ID, SegmentKind: string(s.Kind), Label: attribution.Label(ep, s.ID),
			Origin: string(origins[s.ID]), CharStart: s.Char.Start, CharEnd: s.Char.End, Found: &s.Found}
		if len(r.IDs) > 0 {
			row.TokenStart, row.TokenEnd = &s.Tokens.Start, &s.Tokens.End
		}
		out.Segments = append(out.Segments, row)
	}
	return out
}

// episodesWithID returns the episodes of eps whose id is id, or an error listing the ids there are.
func episodesWithID(path string, eps []*trace.Episode, id string) ([]*trace.Episode, error) {
	var ids []string
	var keep []*trace.Episode
	for _, ep := range eps {
		ids = append(ids, ep.ID)
		if ep.ID == id {
			keep = append(keep, ep)
		}
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("%s: no episode %q (have %s)", path, id, strings.Join(ids, ", "))
	}
	return keep, nil
}

// segmentRules is the --segment-rule flag of every command that loads episodes (trace show, demo and
// attribute, capture, the probe commands that run a model): addSegmentRuleFlag registers it,
// readSegmentRules reads the file into Segment, which loadEpisodes takes.
type segmentRules struct {
	SegmentRuleFile string               // --segment-rule ("" = none)
	Segment         trace.SegmentOptions // read from SegmentRuleFile
}

// segmentRuleHelp is the paragraph of long help that describes --segment-rule.
const segmentRuleHelp = `Untagged text is searched for segments too: plain From:/To:/Subject: header blocks
(email) and Event:/When: blocks (calendar), JSON with email or calendar fields, markdown
sections (document), and a tool result answering a call with a path argument (file).
--segment-rule FILE adds rules, applied first. FILE is JSON:

  {"builtin": true, "rules": [
    {"regexp": "(?m)^MEMO (?P<label>.+)\n(?P<body>(?s:.*?))\n^END MEMO$", "kind": "document"},
    {"path": "$.results[*]", "kind": "email", "roles": ["tool"], "label": "{subject}"}
  ]}

A rule has a Go regexp (each match, or its group "body", is a segment) or a JSON path ($
then .key, [*], [N]) for a message that is one JSON value; a kind (email, document, file,
calendar); roles (default user and tool); and a label template ({NAME}: the regexp's group
NAME, default {label}, or the JSON field NAME). "builtin": false turns the built-in
recognisers off. The ORIGIN column of trace show says what made each segment: tag,
structured, header, json, markdown, file-read or rule[N].`

// addSegmentRuleFlag registers --segment-rule on cmd.
func (s *segmentRules) addSegmentRuleFlag(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.SegmentRuleFile, "segment-rule", "", "segment rule `file` (JSON): regexp and JSON-path rules that mark untagged text as email, document, file or calendar segments")
}

// readSegmentRules reads the --segment-rule file, if one was given.
func (s *segmentRules) readSegmentRules() error {
	if s.SegmentRuleFile == "" {
		return nil
	}
	opts, err := trace.ReadSegmentRules(s.SegmentRuleFile)
	if err != nil {
		return fmt.Errorf("--segment-rule: %w", err)
	}
	s.Segment = opts
	return nil
}

// loadEpisodes reads the episodes at path (a recording, or bundled:<name>), segmented with seg.
func loadEpisodes(path string, format trace.Format, seg trace.SegmentOptions) ([]*trace.Episode, error) {
	if strings.HasPrefix(path, bundled.SourcePrefix) {
		ep, err := bundled.Episode(path)
		if err != nil {
			return nil, err
		}
		if err := ep.SegmentWith(seg); err != nil {
			return nil, err
		}
		return []*trace.Episode{ep}, nil
	}
	return trace.Load(path, trace.LoadOptions{Format: format, Segment: seg})
}

// loadAllEpisodes reads the episodes of every path, in order.
func loadAllEpisodes(paths []string, seg trace.SegmentOptions) ([]*trace.Episode, error) {
	var eps []*trace.Episode
	for _, p := range paths {
		e, err := loadEpisodes(p, "", seg)
		if err != nil {
			return nil, err
		}
		eps = append(eps, e...)
	}
	return eps, nil
}

func traceShowRun(opts *traceShowOptions) error {
	eps, err := loadEpisodes(opts.Episode, opts.Format, opts.Segment)
	if err != nil {
		return err
	}
	if opts.ID != "" {
		if eps, err = episodesWithID(opts.Episode, eps, opts.ID); err != nil {
			return err
		}
	}
	p := prompter{Style: opts.Style}
	switch {
	case opts.Model != "":
		if p.Tok, err = openTokenizer(opts.Model); err != nil {
			return err
		}
		if p.Tmpl, err = chat.Select(opts.Model, p.Tok.ChatTemplate(), opts.Template); err != nil {
			return err
		}
	case opts.Template != "":
		if p.Tmpl, err = chat.CompileFile(opts.Template); err != nil {
			return err
		}
	}
	var rendered []*trace.Rendered
	shown := []traceShowEpisode{}
	for i, ep := range eps {
		if i > 0 {
			fmt.Fprintln(opts.IO.Out)
		}
		if p.Tmpl == nil {
			shown = append(shown, episodeJSON(ep, nil))
			if err := trace.WriteEpisode(opts.IO.Out, ep); err != nil {
				return err
			}
			continue
		}
		r, err := p.render(ep, opts.GenPrompt)
		if err != nil {
			return err
		}
		rendered = append(rendered, r)
		shown = append(shown, episodeJSON(ep, r))
		if err := trace.WriteSegments(opts.IO.Out, r); err != nil {
			return err
		}
	}
	if p.Tmpl != nil {
		p.warnUnrendered(opts.IO.ErrOut, rendered...)
	}
	if opts.JSON {
		return opts.print(map[string]any{"episodes": shown})
	}
	return nil
}
