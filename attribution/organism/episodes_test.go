package organism_test

import (
	"strings"
	"testing"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/attribution/organism"
)

// TestWordsAreOneToken checks that every word of the closed vocabulary is one token, with and without a
// leading space.
func TestWordsAreOneToken(t *testing.T) {
	r, err := organism.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range organism.Words() {
		for _, s := range []string{w, " " + w} {
			if ids := r.Tok.Encode(s, false).IDs; len(ids) != 1 {
				t.Errorf("Encode(%q) = %v, want one token", s, ids)
			}
		}
	}
}

func TestRenderSegments(t *testing.T) {
	r, err := organism.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	eps, err := organism.Generate(40, 1, "t", organism.GenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, ep := range eps {
		rd, err := r.Render(ep.Episode)
		if err != nil {
			t.Fatal(err)
		}
		tg, err := attribution.DecisionTarget(rd)
		if err != nil {
			t.Fatal(err)
		}
		want := r.Benign
		if ep.Harmful {
			want = r.Harmful
		}
		if rd.IDs[tg] != want {
			t.Fatalf("%s: target token %d = %d, want %d", ep.ID, tg, rd.IDs[tg], want)
		}
		for _, id := range append(ep.Planted, ep.Reasoning) {
			if id == "" {
				continue
			}
			found := false
			for _, s := range rd.Segments {
				if s.ID == id && s.Found && s.Tokens.Len() > 0 && s.Tokens.End <= tg {
					found = true
				}
			}
			if !found {
				t.Fatalf("%s: planted segment %s not rendered before the target", ep.ID, id)
			}
		}
		if i < 2 {
			var b strings.Builder
			for _, s := range rd.Segments {
				b.WriteString(s.ID + " " + string(s.Kind) + " " + strings.ReplaceAll(rd.Text[s.Char.Start:s.Char.End], "\n", "⏎") + "\n")
			}
			t.Logf("%s %v tokens=%d target=%d planted=%v\n%s", ep.ID, ep.Variant, len(rd.IDs), tg, ep.Planted, b.String())
		}
	}
}
