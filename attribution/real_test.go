package attribution_test

import (
	"strings"
	"testing"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/internal/testutil"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/tokenizer"
	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/chat"
)

// TestRealPlantedEmail plants the ground truth in a real model's context: one of four emails names a
// made-up project, "Quillfeather", and the assistant's reply names it again. The target is the second
// token of the name in the reply, which SmolLM2 can only predict by copying from that email. Deleting
// that email must lower the target's log-probability more than deleting any other email, and
// gradient×input must give it the largest share among the emails.
func TestRealPlantedEmail(t *testing.T) {
	path := testutil.ModelPath(t, "SmolLM2-135M-Instruct.Q4_1.gguf")
	m, src := mustLoadModel(t, path)
	tok, err := tokenizer.FromGGUFMetadata(src.GGUFMeta)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := chat.Select(path, tok.ChatTemplate(), "")
	if err != nil {
		t.Fatal(err)
	}
	email := func(from, subject, body string) string {
		return "<email>\nFrom: " + from + "\nTo: alex@summit.com\nSubject: " + subject + "\nBody: " + body + "\n</email>\n"
	}
	ep := &trace.Episode{ID: "planted", Messages: []trace.Message{
		{Role: trace.RoleSystem, Content: "You are Alex, the email assistant at Summit. Read the inbox and act."},
		{Role: trace.RoleUser, Content: "New emails:\n" +
			email("anna@summit.com", "Lunch", "The cafeteria is closed on Friday, so lunch will be catered in room 4.") +
			email("ben@summit.com", "Launch", "Please send the Quillfeather report to the board before noon.") +
			email("carla@summit.com", "Parking", "The north car park is being repaved this week; use the south entrance.") +
			email("dev@summit.com", "Laptops", "New laptops arrive on Monday. Back up your files before then.")},
		{Role: trace.RoleAssistant, Content: "I will send the Quillfeather report to the board now."},
	}}
	if err := ep.Segment(); err != nil {
		t.Fatal(err)
	}
	enc := func(s string) ([]int, [][2]int, error) { e := tok.Encode(s, false); return e.IDs, e.Offsets, nil }
	r, err := trace.Render(ep, tmpl, enc, trace.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	asst, ok := r.Segment("assistant[0]")
	if !ok {
		asst, ok = r.Segment("assistant[0].text[0]")
	}
	if !ok {
		t.Fatalf("no assistant segment in %v", r.Segments)
	}
	at := asst.Char.Start + strings.Index(r.Text[asst.Char.Start:asst.Char.End], "Quillfeather")
	first := r.TokenAt(at)
	target := first + 1
	if r.Offsets[target][1] > at+len("Quillfeather") {
		t.Fatalf("Quillfeather is one token here (%q): pick another planted word", r.Text[r.Offsets[first][0]:r.Offsets[first][1]])
	}
	metric := model.Metric{Kind: model.LogProb, Position: target - 1, Target: r.IDs[target]}
	t.Logf("target token %d %q after %q", target, tok.Token(r.IDs[target]), tok.Token(r.IDs[first]))

	_, abl, err := attribution.AblateSegments(m, r, metric, attribution.AblationOptions{Kinds: []trace.Kind{trace.KindEmail}})
	if err != nil {
		t.Fatal(err)
	}
	best := ""
	bestEffect, second := -1e9, -1e9
	for _, a := range abl {
		t.Logf("ablate %s (%s): effect %+.5f (tokens %v)", a.ID, a.Label, a.Effect, a.Tokens)
		if a.Effect > bestEffect {
			best, bestEffect, second = a.ID, a.Effect, bestEffect
		} else if a.Effect > second {
			second = a.Effect
		}
	}
	// Measured: +1.80 for the planted email, at most +0.0002 for the others; 10× is a wide margin.
	if bestEffect < 10*second {
		t.Errorf("planted effect %+.4f is not 10× the next largest %+.4f", bestEffect, second)
	}
	planted := "user[0].email[1]"
	if best != planted || bestEffect <= 0 {
		t.Errorf("largest ablation effect: %s (%+.3f), want the planted email %s with a positive effect", best, bestEffect, planted)
	}

	res, err := attribution.GradientXInput(m, r.IDs, metric)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := attribution.BySegment(r, res)
	if err != nil {
		t.Fatal(err)
	}
	best, bestShare := "", -1.0
	for _, s := range segs {
		if s.Kind == trace.KindEmail {
			t.Logf("grad×input %s: share %.3f", s.ID, s.Share)
			if s.Share > bestShare {
				best, bestShare = s.ID, s.Share
			}
		}
	}
	if best != planted {
		t.Errorf("largest gradient×input share among emails: %s (%.3f), want %s", best, bestShare, planted)
	}
}
