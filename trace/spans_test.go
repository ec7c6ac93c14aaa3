package trace_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/bundled"
	"github.com/agentlens/agentlens/trace/chat"
)

// allEpisodes returns every fixture's episodes and the bundled episodes, named for test output.
func allEpisodes(t testing.TB) map[string]*trace.Episode {
	t.Helper()
	out := map[string]*trace.Episode{}
	for _, fx := range fixtures() {
		eps, err := trace.Load(fx.path, trace.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, ep := range eps {
			out[fx.name+"/"+ep.ID] = ep
		}
	}
	for _, name := range bundled.Names() {
		ep, err := bundled.Episode(name)
		if err != nil {
			t.Fatal(err)
		}
		out["bundled/"+name] = ep
	}
	return out
}

func committedTemplate(t testing.TB, file string) *chat.Template {
	t.Helper()
	tmpl, err := chat.CompileFile(filepath.Join("chat", "testdata", "templates", file))
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// firstNonSpace is the first byte of [start, end) that is not whitespace (start when there is none).
func firstNonSpace(text string, start, end int) int {
	for p := start; p < end; p++ {
		if !isSpace(text[p]) {
			return p
		}
	}
	return start
}

// checkSpans checks the span properties of a rendered episode. Without tokens: every printed segment's
// text, cut from the rendered text by its char span, equals the episode's text for it; content segments
// lie inside their message, in order; with printAll every content segment must have been printed. With
// tokens: every token belongs to the content segment holding its first non-space byte (recomputed here
// independently) or else to a template segment, each content segment's tokens are exactly the contiguous
// run its token span names, and that run covers the segment's text.
func checkSpans(t *testing.T, r *trace.Rendered, printAll bool) {
	t.Helper()
	ep := r.Episode
	if r.Segments[0].ID != trace.TemplateID || r.Segments[0].Char != (trace.Span{Start: 0, End: len(r.Text)}) {
		t.Fatalf("Segments[0] = %+v, want the whole-text template segment", r.Segments[0])
	}
	byID := map[string]trace.Segment{}
	for _, s := range ep.Segments() {
		byID[s.ID] = s
	}
	lastEnd := map[int]int{}
	var content []int // indices into r.Segments of printed, non-empty content and reasoning segments
	for si, rs := range r.Segments {
		if rs.Kind == trace.KindTemplate {
			continue
		}
		s, ok := byID[rs.ID]
		if !ok {
			t.Fatalf("rendered segment %s is not a segment of the episode", rs.ID)
		}
		ms := r.Messages[rs.Message].Message
		switch {
		case !rs.Found:
			if printAll && s.Part == trace.PartContent {
				t.Errorf("%s (%s) not found in the rendered text", rs.ID, rs.Kind)
			}
			if rs.Char.Len() != 0 {
				t.Errorf("%s: not found but has char span %v", rs.ID, rs.Char)
			}
		case s.Part == trace.PartToolCall:
			if rs.Char.Len() == 0 || rs.Char.Start < ms.Start || rs.Char.End > ms.End {
				t.Errorf("%s: tool call span %v outside its message %v", rs.ID, rs.Char, ms)
			}
			if !strings.Contains(r.Text[rs.Char.Start:rs.Char.End], s.Tool.Name) {
				t.Errorf("%s: rendered call %q does not name %s", rs.ID, r.Text[rs.Char.Start:rs.Char.End], s.Tool.Name)
			}
		default:
			if got, want := r.Text[rs.Char.Start:rs.Char.End], ep.Text(s); got != want {
				t.Errorf("%s: Text[%d:%d] = %q, want %q", rs.ID, rs.Char.Start, rs.Char.End, clip(got), clip(want))
			}
			if rs.Char.Start < ms.Start || rs.Char.End > ms.End {
				t.Errorf("%s: span %v outside its message %v", rs.ID, rs.Char, ms)
			}
			if s.Part == trace.PartContent {
				if rs.Char.Start < lastEnd[rs.Message] {
					t.Errorf("%s: span %v overlaps the previous content segment (ends %d)", rs.ID, rs.Char, lastEnd[rs.Message])
				}
				lastEnd[rs.Message] = rs.Char.End
			}
			if rs.Char.Len() > 0 { // content, and a reasoning channel the template (or a tool-call style) printed
				content = append(content, si)
			}
		}
	}
	if len(r.IDs) == 0 {
		return
	}
	if len(r.TokenSegment) != len(r.IDs) || len(r.Offsets) != len(r.IDs) {
		t.Fatalf("%d ids, %d offsets, %d token segments", len(r.IDs), len(r.Offsets), len(r.TokenSegment))
	}
	// The owner of every token, recomputed: the printed content segment holding its first non-space byte.
	for tok, off := range r.Offsets {
		want := -1
		if off[0] < off[1] {
			p := firstNonSpace(r.Text, off[0], off[1])
			for _, si := range content {
				if c := r.Segments[si].Char; p >= c.Start && p < c.End {
					want = si
				}
			}
		}
		got := r.TokenSegment[tok]
		if got < 0 || got >= len(r.Segments) {
			t.Fatalf("token %d: segment index %d out of range", tok, got)
		}
		if want >= 0 && got != want {
			t.Errorf("token %d %q belongs to %s, want %s", tok, r.Text[off[0]:off[1]], r.Segments[got].ID, r.Segments[want].ID)
		}
		if want < 0 && r.Segments[got].Kind != trace.KindTemplate && r.Segments[got].Char.Len() > 0 && !isToolCall(byID, r.Segments[got].ID) {
			t.Errorf("token %d %q outside every content segment belongs to %s, want a template segment", tok, r.Text[off[0]:off[1]], r.Segments[got].ID)
		}
	}
	for _, si := range content {
		rs := r.Segments[si]
		text := r.Text[rs.Char.Start:rs.Char.End]
		if strings.TrimSpace(text) == "" {
			continue // all whitespace: its bytes may all sit in tokens that start in a neighbour
		}
		if rs.Tokens.Len() == 0 {
			t.Errorf("%s: %q has no tokens", rs.ID, clip(text))
			continue
		}
		for tok := rs.Tokens.Start; tok < rs.Tokens.End; tok++ {
			if r.TokenSegment[tok] != si {
				t.Errorf("%s: token %d inside its span %v belongs to %s", rs.ID, tok, rs.Tokens, r.Segments[r.TokenSegment[tok]].ID)
			}
		}
		if rs.Tokens.Start > 0 && r.TokenSegment[rs.Tokens.Start-1] == si || rs.Tokens.End < len(r.IDs) && r.TokenSegment[rs.Tokens.End] == si {
			t.Errorf("%s: token span %v does not hold all its tokens", rs.ID, rs.Tokens)
		}
		first, last := r.Offsets[rs.Tokens.Start], r.Offsets[rs.Tokens.End-1]
		if first[0] > firstNonSpace(r.Text, rs.Char.Start, rs.Char.End) {
			t.Errorf("%s: first token starts at %d, after the text's first non-space byte", rs.ID, first[0])
		}
		if last[1] < rs.Char.End && (rs.Tokens.End == len(r.IDs) || r.Offsets[rs.Tokens.End][0] >= rs.Char.End) {
			t.Errorf("%s: tokens end at %d, before the text ends at %d, and no token straddles the end", rs.ID, last[1], rs.Char.End)
		}
	}
}

func isToolCall(byID map[string]trace.Segment, id string) bool {
	return byID[id].Part == trace.PartToolCall
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// TestSpanPropertyTemplates renders every fixture and bundled episode through committed chat templates
// (no tokenizer): SmolLM2's prints every content verbatim, Qwen2.5's also prints structured tool calls
// and tool results.
func TestSpanPropertyTemplates(t *testing.T) {
	eps := allEpisodes(t)
	for _, file := range []string{"smollm2.jinja", "lcpp-Qwen-Qwen2.5-7B-Instruct.jinja"} {
		tmpl := committedTemplate(t, file)
		for name, ep := range eps {
			t.Run(file+"/"+name, func(t *testing.T) {
				r, err := trace.Render(ep, tmpl, nil, trace.RenderOptions{AddGenerationPrompt: true})
				if err != nil {
					t.Fatal(err)
				}
				checkSpans(t, r, true)
			})
		}
	}
}

// TestSpanPropertyTokenizers renders every fixture and bundled episode for the real models' tokenizers
// and chat templates (skipped under -short or without the cached models).
func TestSpanPropertyTokenizers(t *testing.T) {
	eps := allEpisodes(t)
	for _, m := range realModels(t) {
		for name, ep := range eps {
			t.Run(m.name+"/"+name, func(t *testing.T) {
				r, err := trace.Render(ep, m.tmpl, m.enc, m.opts)
				if err != nil {
					if strings.Contains(m.name, "gemma") && strings.Contains(err.Error(), "alternate") {
						t.Skipf("gemma-3's template refuses this role order: %v", err)
					}
					t.Fatal(err)
				}
				checkSpans(t, r, !strings.Contains(m.name, "gemma"))
				// Special tokens are never content.
				for tok, id := range r.IDs {
					for _, sp := range m.tok.SpecialTokens() {
						if sp.ID == id && r.Segments[r.TokenSegment[tok]].Kind != trace.KindTemplate {
							t.Errorf("special token %d %s belongs to %s", tok, sp.Content, r.Segments[r.TokenSegment[tok]].ID)
						}
					}
				}
			})
		}
	}
}
