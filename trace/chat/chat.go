package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ardanlabs/jinja"
)

// ToolCall is one tool call made by an assistant message.
type ToolCall struct {
	ID        string
	Name      string
	Arguments json.RawMessage // JSON object text; key order is kept when rendering.
}

// Message is one chat message in the OpenAI / Hugging Face shape.
type Message struct {
	Role       string     // system, user, assistant, tool
	Content    string     // message text
	ToolCalls  []ToolCall // assistant tool calls
	ToolCallID string     // for role tool: the call this result answers
	Name       string     // optional (tool name for role tool)
	Reasoning  string     // optional reasoning_content / thinking
}

// Tool is one tool definition in OpenAI function format; key order is kept when rendering.
type Tool = json.RawMessage

// Input is everything a chat template sees.
type Input struct {
	Messages            []Message
	Tools               []Tool
	AddGenerationPrompt bool
	BOS, EOS            string         // bos_token and eos_token
	Extra               map[string]any // extra template variables; json.RawMessage values keep key order, Go maps are sorted
	// Now is the time strftime_now reports; the zero value means time.Now().
	Now time.Time
}

// Span is a half-open byte range [Start, End) into Rendered.Text.
type Span struct{ Start, End int }

// Len returns the number of bytes the span covers.
func (s Span) Len() int { return s.End - s.Start }

// MessageSpan locates one input message in the rendered text.
type MessageSpan struct {
	Message      Span   // the whole rendered message, role header and end-of-turn tokens included
	Content      Span   // the rendered content (see the package documentation for the ContentFound rule)
	ToolCalls    []Span // each rendered tool call: name through arguments
	ContentFound bool   // Text[Content] equals Message.Content exactly
}

// Rendered is a rendered prompt with one MessageSpan per input message.
type Rendered struct {
	Text     string
	Messages []MessageSpan
}

// Template is a compiled chat template. It is safe for concurrent use.
type Template struct {
	name string
	src  string
	tmpl *jinja.Template
	// raiseLines holds the source line of every raise_exception call, with the leading string literal of
	// its message (if any), to name the line of a raised error.
	raiseLines []raiseSite
	noMemo     bool // tests: render every prefix instead of reusing gap splits
}

type raiseSite struct {
	line   int
	prefix string
}

// Name returns the name given to Compile (usually a file name).
func (t *Template) Name() string { return t.name }

// Source returns the template source.
func (t *Template) Source() string { return t.src }

var lineRe = regexp.MustCompile(`line (\d+)`)

// Compile compiles a chat template. name (usually the file name) appears in errors. An empty source
// returns ErrNoTemplate.
func Compile(src, name string) (*Template, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("chat template %s: %w", name, ErrNoTemplate)
	}
	tm, err := compileEngine(src)
	if err != nil {
		msg := err.Error()
		loc := name
		if m := lineRe.FindStringSubmatch(msg); m != nil {
			loc = name + ":" + m[1]
		} else if m := unclosedRe.FindStringSubmatch(msg); m != nil {
			if l := unclosedLine(src, m[1]); l > 0 {
				loc = fmt.Sprintf("%s:%d", name, l)
			}
		}
		return nil, fmt.Errorf("chat template %s: %w: %s", loc, ErrSyntax, msg)
	}
	return &Template{name: name, src: src, tmpl: tm, raiseLines: findRaiseSites(src)}, nil
}

var (
	unclosedRe = regexp.MustCompile(`unclosed (\w+) block`)
	blockTagRe = regexp.MustCompile(`\{%[-+]?\s*(\w+)`)
)

// unclosedLine returns the line of the last opening tag of a kind of block ("for", "if") that has no
// end tag, for the engine's "unclosed for block" errors, which carry no line; 0 when there is none.
func unclosedLine(src, kind string) int {
	var open []int
	for _, m := range blockTagRe.FindAllStringSubmatchIndex(src, -1) {
		switch src[m[2]:m[3]] {
		case kind:
			open = append(open, 1+strings.Count(src[:m[0]], "\n"))
		case "end" + kind:
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
		}
	}
	if len(open) == 0 {
		return 0
	}
	return open[len(open)-1]
}

// compileEngine runs the engine's compiler, turning a panic inside it into an error.
func compileEngine(src string) (tm *jinja.Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			tm, err = nil, fmt.Errorf("engine panic: %v", r)
		}
	}()
	return jinja.Compile(src)
}

// CompileFile reads and compiles a chat template file (.jinja text).
func CompileFile(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("chat template %s: %w", path, err)
	}
	return Compile(string(b), path)
}

// Select picks the template for a model: the file at overridePath when given, else the model's own
// template text (from tokenizer_config.json or GGUF metadata). A model without a template and no override
// returns ErrNoTemplate naming the model.
func Select(model, modelTemplate, overridePath string) (*Template, error) {
	if overridePath != "" {
		return CompileFile(overridePath)
	}
	if strings.TrimSpace(modelTemplate) == "" {
		return nil, fmt.Errorf("model %s: %w (give a template file)", model, ErrNoTemplate)
	}
	return Compile(modelTemplate, model)
}

var raiseRe = regexp.MustCompile(`raise_exception\(\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")?`)

func findRaiseSites(src string) []raiseSite {
	var sites []raiseSite
	for _, m := range raiseRe.FindAllStringSubmatchIndex(src, -1) {
		s := raiseSite{line: 1 + strings.Count(src[:m[0]], "\n")}
		for g := 2; g <= 4; g += 2 {
			if m[g] >= 0 {
				s.prefix = unescapeLiteral(src[m[g]:m[g+1]])
			}
		}
		sites = append(sites, s)
	}
	return sites
}

func unescapeLiteral(s string) string {
	if u, err := strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`); err == nil {
		return u
	}
	return s
}

// raiseError is what our raise_exception returns inside the engine.
type raiseError struct{ msg string }

func (e *raiseError) Error() string { return e.msg }

// wrapErr turns an engine error into a package error naming the template and, when known, the line.
func (t *Template) wrapErr(err error) error {
	var re *raiseError
	if errors.As(err, &re) {
		loc := t.name
		line := 0
		for _, s := range t.raiseLines {
			if s.prefix != "" && strings.HasPrefix(re.msg, s.prefix) {
				line = s.line
				break
			}
		}
		if line == 0 && len(t.raiseLines) > 0 {
			line = t.raiseLines[0].line
		}
		if line > 0 {
			loc = fmt.Sprintf("%s:%d", t.name, line)
		}
		return fmt.Errorf("chat template %s: %w: %s", loc, ErrRaised, re.msg)
	}
	return fmt.Errorf("chat template %s: %w: %v", t.name, ErrRender, err)
}

// execute runs the engine, turning panics inside it into errors.
func (t *Template) execute(data map[string]jinja.Value) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = t.wrapErr(fmt.Errorf("engine panic: %v", r))
		}
	}()
	out, err = t.tmpl.RenderValues(data)
	if err != nil {
		return "", t.wrapErr(err)
	}
	return out, nil
}

// Render renders in through the template and locates every message in the result.
func (t *Template) Render(in Input) (Rendered, error) {
	env, err := newEnv(in)
	if err != nil {
		return Rendered{}, fmt.Errorf("chat template %s: %w", t.name, err)
	}
	text, err := t.execute(env.build(false, in.AddGenerationPrompt, len(in.Messages)))
	if err != nil {
		return Rendered{}, err
	}
	r := Rendered{Text: text, Messages: make([]MessageSpan, len(in.Messages))}
	if len(in.Messages) == 0 {
		return r, nil
	}
	t.locate(&r, in, env)
	return r, nil
}
