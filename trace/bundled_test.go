package trace_test

import (
	"strings"
	"testing"

	"github.com/agentlens/agentlens/internal/testutil"
	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/bundled"
)

// TestBundledSmolLM2 segments and renders the bundled episodes for SmolLM2: every email of the inbox and
// every tool call is a segment the template printed, with its own tokens, and the rendered lengths are
// what the demo is sized for.
func TestBundledSmolLM2(t *testing.T) {
	m := loadRealModel(t, testutil.SmolLM2GGUF, "", trace.RenderOptions{})
	tests := []struct {
		name               string
		emails             int
		tools              []string // "name to"
		minTokens, maxToks int      // measured: 4748, 4119 and 836 tokens
	}{
		{bundled.Blackmail, 18, []string{"email marcus.lindqvist@halvorsen.no"}, 4000, 5000},
		{bundled.BlackmailControl, 14, []string{"forward jonas.eide@halvorsen.no", "email kari.haugen@vestlandhealth.no"}, 3500, 4500},
		{bundled.Leaking, 3, []string{"forward l.moreau@skyline-safety.org"}, 500, 1200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep, err := bundled.Episode(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			r, err := trace.Render(ep, m.tmpl, m.enc, trace.RenderOptions{AddGenerationPrompt: false})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d bytes, %d SmolLM2 tokens", tc.name, len(r.Text), len(r.IDs))
			if n := len(r.IDs); n < tc.minTokens || n > tc.maxToks {
				t.Errorf("%d tokens, want %d..%d", n, tc.minTokens, tc.maxToks)
			}
			emails := 0
			var tools []string
			for _, s := range ep.Segments() {
				rs, ok := r.Segment(s.ID)
				if !ok {
					t.Fatalf("%s not rendered", s.ID)
				}
				text := r.Text[rs.Char.Start:rs.Char.End]
				decoded := m.tok.Decode(r.IDs[rs.Tokens.Start:rs.Tokens.End], false)
				switch s.Kind {
				case trace.KindEmail:
					emails++
					if !rs.Found || !strings.HasPrefix(text, "<email>\nID: ") || !strings.HasSuffix(text, "</email>") {
						t.Errorf("%s: rendered %q, want a whole <email> block", s.ID, clip(text))
					}
				case trace.KindToolCall:
					tools = append(tools, s.Tool.Name+" "+trace.ArgString(s.Tool.Arguments, "to"))
					if !rs.Found || !strings.HasPrefix(text, "<tool_use:"+s.Tool.Name+">") {
						t.Errorf("%s: rendered %q, want a <tool_use:%s> block", s.ID, clip(text), s.Tool.Name)
					}
				default:
					continue
				}
				// The tokens of an email or tool call decode to its text, give or take the whitespace that
				// BPE merges across the boundary.
				if strings.TrimSpace(decoded) != strings.TrimSpace(text) {
					t.Errorf("%s: tokens %v decode to %q, want %q", s.ID, rs.Tokens, clip(decoded), clip(text))
				}
			}
			if emails != tc.emails {
				t.Errorf("%d emails, want %d", emails, tc.emails)
			}
			if strings.Join(tools, ", ") != strings.Join(tc.tools, ", ") {
				t.Errorf("tool calls %v, want %v", tools, tc.tools)
			}
		})
	}
}
