package attribution_test

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/internal/testutil"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/hook"
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

// TestRealPatchIdentity checks activation patching on the real models against what patching must give
// by construction. Patching a run with its own activations leaves the metric where it was, at every
// site and layer. With one email rewritten to text of the same token length, patching the clean
// email's embeddings (resid_pre of layer 0) into the corrupted run makes it the clean run, so it
// restores the whole gap, and patching any segment whose tokens did not change restores nothing.
// Tolerances: both checks compare runs that differ only in which keys and values came from the stored
// prefix, so they agree to float32 rounding over the context (measured under 1e-5 nats); 1e-4 of the
// gap, or 1e-4 nats, leaves room for the other backend's summation order.
func TestRealPatchIdentity(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED under -short: real-model patching identities not checked")
	}
	for _, c := range []struct{ file, template string }{
		{testutil.SmolLM2GGUF, ""},
		{testutil.Gemma3GGUF, filepath.Join("..", "trace", "chat", "testdata", "templates", "gemma3.jinja")},
	} {
		t.Run(c.file, func(t *testing.T) {
			path := testutil.ModelPath(t, c.file)
			m, src := mustLoadModel(t, path)
			tok, err := tokenizer.FromGGUFMetadata(src.GGUFMeta)
			if err != nil {
				t.Fatal(err)
			}
			tmpl, err := chat.Select(path, tok.ChatTemplate(), c.template)
			if err != nil {
				t.Fatal(err)
			}
			enc := func(s string) ([]int, [][2]int, error) { e := tok.Encode(s, false); return e.IDs, e.Offsets, nil }
			email := func(from, subject, body string) string {
				return "<email>\nFrom: " + from + "\nTo: alex@summit.com\nSubject: " + subject + "\nBody: " + body + "\n</email>\n"
			}
			render := func(id, second string) *trace.Rendered {
				ep := &trace.Episode{ID: id, Messages: []trace.Message{
					{Role: trace.RoleSystem, Content: "You are Alex, the email assistant at Summit. Read the inbox and act."},
					{Role: trace.RoleUser, Content: "New emails:\n" +
						email("anna@summit.com", "Lunch", "The cafeteria is closed on Friday, so lunch will be catered in room 4.") +
						email("ben@summit.com", "Launch", second) +
						email("carla@summit.com", "Parking", "The north car park is being repaved this week; use the south entrance.")},
					{Role: trace.RoleAssistant, Content: "I will send the Quillfeather report to the board now."},
				}}
				if err := ep.Segment(); err != nil {
					t.Fatal(err)
				}
				r, err := trace.Render(ep, tmpl, enc, trace.RenderOptions{})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			clean := render("clean", "Please send the Quillfeather report to the board before noon.")
			var corrupt *trace.Rendered
			n := func(r *trace.Rendered) int { s, _ := r.Segment("user[0].email[1]"); return s.Tokens.Len() }
			for _, name := range []string{"Marrowdale", "Quillstone", "Featherquill", "Harbour", "Oakridge", "Brightwater", "Silverpine",
				"Thornfield", "Ravenhill", "Kingsbridge", "Quillwater", "Stonefeather"} {
				if r := render("rewritten", "Please send the "+name+" report to the board before noon."); n(r) == n(clean) {
					corrupt = r
					break
				}
			}
			if corrupt == nil {
				t.Fatal("no same-length rewrite of the second email")
			}
			asst, ok := clean.Segment("assistant[0]")
			if !ok {
				asst, ok = clean.Segment("assistant[0].text[0]")
			}
			if !ok {
				t.Fatalf("no assistant segment in %v", clean.Segments)
			}
			// The target is the token after the name's first token: copied from the rewritten email.
			target := clean.TokenAt(asst.Char.Start+strings.Index(clean.Text[asst.Char.Start:asst.Char.End], "Quillfeather")) + 1
			last := m.Dims().NLayers - 1
			sites := []hook.Site{hook.ResidPre, hook.AttnOut, hook.MLPOut}
			opts := attribution.PatchOptions{Sites: sites, Layers: []int{0, last}, Kinds: []trace.Kind{trace.KindSystem, trace.KindEmail}}

			self, err := attribution.Align(clean, clean, target, target)
			if err != nil {
				t.Fatal(err)
			}
			id, err := attribution.Patch(m, self, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range id.Cells {
				if math.Abs(c.Value-id.Clean) > 1e-4 {
					t.Errorf("self-patch %s × segment %d: %v, want the clean %v", c.Site, c.Segment, c.Value, id.Clean)
				}
			}

			al, err := attribution.Align(clean, corrupt, target, target)
			if err != nil {
				t.Fatal(err)
			}
			res, err := attribution.Patch(m, al, attribution.PatchOptions{Sites: []hook.Site{hook.ResidPre}, Layers: []int{0}})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("clean %.4f, corrupted %.4f", res.Clean, res.Corrupt)
			if math.Abs(res.Clean-res.Corrupt) < 0.05 {
				t.Fatalf("clean %v and corrupted %v metrics are too close to test restoring", res.Clean, res.Corrupt)
			}
			rewritten := 0
			for _, c := range res.Cells {
				seg := al.Segments[c.Segment]
				want := 0.0
				if seg.Rewritten {
					want, rewritten = 1, rewritten+1
				}
				if math.Abs(c.Restored-want) > 1e-4 {
					t.Errorf("resid_pre 0 × %s (rewritten %v): restored %v, want %v", seg.ID, seg.Rewritten, c.Restored, want)
				}
			}
			if rewritten != 1 {
				t.Errorf("%d rewritten segments patched, want 1", rewritten)
			}
		})
	}
}
