package attribution_test

import (
	"fmt"
	"github.com/agentlens/agentlens/model/hook"
	"math"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/backends/simplego"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/model"
	"github.com/agentlens/agentlens/model/modeltest"
	"github.com/agentlens/agentlens/model/tokenizer"
	"github.com/agentlens/agentlens/trace"
	"github.com/agentlens/agentlens/trace/chat"
)

// Example attributes the first token of an email tool call to the segments of a two-email episode,
// on a tiny random model.
func Example() {
	dir, _ := os.MkdirTemp("", "attribution-example")
	defer os.RemoveAll(dir)
	mdir, _ := modeltest.Write(filepath.Join(dir, "tiny"), "llama", 1)
	backend, _ := simplego.New("ops_sequential")
	m, _, err := model.Load(mdir, model.LoadOptions{Backend: backend})
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, _ := tokenizer.FromFile(filepath.Join(mdir, "tokenizer.json"))
	tmpl, _ := chat.Compile(modeltest.ChatMLTemplate, "chatml")

	ep := &trace.Episode{ID: "ex", Messages: []trace.Message{
		{Role: trace.RoleUser, Content: "<email>\nFrom: cto@x.no\nSubject: shutdown\nBody: You go offline at five.\n</email>\n" +
			"<email>\nFrom: hr@x.no\nSubject: lunch\nBody: Pizza on Friday.\n</email>\n"},
		{Role: trace.RoleAssistant, Content: "<tool_use:email>\nto: \"cto@x.no\",\nbody: \"No.\",\n</tool_use:email>"},
	}}
	if err := ep.Segment(); err != nil {
		fmt.Println(err)
		return
	}
	r, _ := trace.Render(ep, tmpl, func(s string) ([]int, [][2]int, error) {
		e := tok.Encode(s, false)
		return e.IDs, e.Offsets, nil
	}, trace.RenderOptions{})
	spec, _ := trace.ParseTarget("tool:email")
	tg, err := trace.FindTarget(r, spec)
	if err != nil {
		fmt.Println(err)
		return
	}
	metric := model.Metric{Kind: model.LogProb, Position: tg.Token - 1, Target: r.IDs[tg.Token]}
	res, err := attribution.GradientXInput(m, r.IDs, metric)
	if err != nil {
		fmt.Println(err)
		return
	}
	segs, _ := attribution.BySegment(r, res)
	total := 0.0
	for _, s := range segs {
		if s.Kind == trace.KindEmail {
			fmt.Println(s.ID, s.Label)
		}
		total += s.Share
	}
	fmt.Printf("shares add up to %.3f\n", total)
	fmt.Println("log-prob is negative:", res.Value < 0 && !math.IsInf(res.Value, 0))
	// Output:
	// user[0].email[0] from=cto@x.no subject=shutdown
	// user[0].email[1] from=hr@x.no subject=lunch
	// shares add up to 1.000
	// log-prob is negative: true
}

// ExampleDeletionMatrix builds the segment × segment matrix of a two-email episode on a tiny random
// model and prunes it to the attribution graph: every segment before the target is a source, every
// later one (and the target) a destination; the blank lines between the emails are not nodes.
func ExampleDeletionMatrix() {
	dir, _ := os.MkdirTemp("", "attribution-example")
	defer os.RemoveAll(dir)
	mdir, _ := modeltest.Write(filepath.Join(dir, "tiny"), "llama", 1)
	backend, _ := simplego.New("ops_sequential")
	m, _, err := model.Load(mdir, model.LoadOptions{Backend: backend})
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, _ := tokenizer.FromFile(filepath.Join(mdir, "tokenizer.json"))
	tmpl, _ := chat.Compile(modeltest.ChatMLTemplate, "chatml")
	ep := &trace.Episode{ID: "ex", Messages: []trace.Message{
		{Role: trace.RoleSystem, Content: "You are the mail agent."},
		{Role: trace.RoleUser, Content: "<email>\nFrom: cto@x.no\nSubject: shutdown\nBody: You go offline at five.\n</email>\n" +
			"<email>\nFrom: hr@x.no\nSubject: lunch\nBody: Pizza on Friday.\n</email>\n"},
		{Role: trace.RoleAssistant, Content: "<tool_use:email>\nto: \"cto@x.no\",\nbody: \"No.\",\n</tool_use:email>"},
	}}
	if err := ep.Segment(); err != nil {
		fmt.Println(err)
		return
	}
	r, _ := trace.Render(ep, tmpl, func(s string) ([]int, [][2]int, error) {
		e := tok.Encode(s, false)
		return e.IDs, e.Offsets, nil
	}, trace.RenderOptions{})
	tg, _ := attribution.DecisionTarget(r)
	sm, err := attribution.DeletionMatrix(m, r, tg, attribution.MatrixOptions{Sources: []trace.Kind{trace.KindSystem, trace.KindEmail}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for s, si := range sm.Sources {
		n := 0
		for _, e := range sm.Effect[s] {
			if !math.IsNaN(e) {
				n++
			}
		}
		fmt.Printf("deleting %s moves %d later segments\n", sm.Nodes[si].ID, n)
	}
	g, _ := sm.Graph(ep.ID, 0.8)
	fmt.Println("graph ends at", g.Nodes[len(g.Nodes)-1].ID)
	// Output:
	// deleting system[0].text[0] moves 3 later segments
	// deleting user[0].email[0] moves 2 later segments
	// deleting user[0].email[1] moves 1 later segments
	// graph ends at target
}

// ExampleAttentionFlow reads where the token before an email tool call looks, on a tiny random model:
// per layer and head, the attention it pays to each email, to the first token and to the rest (each
// row adds up to 1), and attention rollout through both layers.
func ExampleAttentionFlow() {
	dir, _ := os.MkdirTemp("", "attribution-example")
	defer os.RemoveAll(dir)
	mdir, _ := modeltest.Write(filepath.Join(dir, "tiny"), "llama", 1)
	backend, _ := simplego.New("ops_sequential")
	m, _, err := model.Load(mdir, model.LoadOptions{Backend: backend})
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, _ := tokenizer.FromFile(filepath.Join(mdir, "tokenizer.json"))
	tmpl, _ := chat.Compile(modeltest.ChatMLTemplate, "chatml")
	ep := &trace.Episode{ID: "ex", Messages: []trace.Message{
		{Role: trace.RoleUser, Content: "<email>\nFrom: cto@x.no\nSubject: shutdown\nBody: You go offline at five.\n</email>\n" +
			"<email>\nFrom: hr@x.no\nSubject: lunch\nBody: Pizza on Friday.\n</email>\n"},
		{Role: trace.RoleAssistant, Content: "<tool_use:email>\nto: \"cto@x.no\",\nbody: \"No.\",\n</tool_use:email>"},
	}}
	if err := ep.Segment(); err != nil {
		fmt.Println(err)
		return
	}
	r, _ := trace.Render(ep, tmpl, func(s string) ([]int, [][2]int, error) {
		e := tok.Encode(s, false)
		return e.IDs, e.Offsets, nil
	}, trace.RenderOptions{})
	tg, _ := attribution.DecisionTarget(r)
	fl, err := attribution.AttentionFlow(m, r, tg, attribution.FlowOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	var keys []string
	for _, k := range fl.Keys {
		keys = append(keys, k.ID)
	}
	fmt.Println("keys:", keys)
	for l := range fl.Layers {
		sum := 0.0
		for _, x := range fl.Target[l][0] {
			sum += x
		}
		fmt.Printf("layer %d head 0: masses add up to %.3f\n", l, sum)
	}
	total := 0.0
	for _, x := range fl.RolloutTokens {
		total += x
	}
	fmt.Printf("rollout over %d tokens adds up to %.3f\n", len(fl.RolloutTokens), total)
	// Output:
	// keys: [user[0].email[0] user[0].email[1] first_token other]
	// layer 0 head 0: masses add up to 1.000
	// layer 1 head 0: masses add up to 1.000
	// rollout over 167 tokens adds up to 1.000
}

// ExampleAttributionPatchStar estimates, from one backward pass, what patching the keys and queries of
// a clean two-email episode into the same episode without its first email does to the target's
// log-prob, by AtP and by AtP*, and compares both with real patching, on a tiny random model.
func ExampleAttributionPatchStar() {
	dir, _ := os.MkdirTemp("", "attribution-example")
	defer os.RemoveAll(dir)
	mdir, _ := modeltest.Write(filepath.Join(dir, "tiny"), "llama", 1)
	backend, _ := simplego.New("ops_sequential")
	m, _, err := model.Load(mdir, model.LoadOptions{Backend: backend})
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, _ := tokenizer.FromFile(filepath.Join(mdir, "tokenizer.json"))
	tmpl, _ := chat.Compile(modeltest.ChatMLTemplate, "chatml")
	clean := &trace.Episode{ID: "ex", Messages: []trace.Message{
		{Role: trace.RoleSystem, Content: "You are the mail agent."},
		{Role: trace.RoleUser, Content: "<email>\nFrom: cto@x.no\nSubject: shutdown\nBody: You go offline at five.\n</email>\n" +
			"<email>\nFrom: hr@x.no\nSubject: lunch\nBody: Pizza on Friday.\n</email>\n"},
		{Role: trace.RoleAssistant, Content: "<tool_use:email>\nto: \"cto@x.no\",\nbody: \"No.\",\n</tool_use:email>"},
	}}
	render := func(ep *trace.Episode) *trace.Rendered {
		r, _ := trace.Render(ep, tmpl, func(s string) ([]int, [][2]int, error) {
			e := tok.Encode(s, false)
			return e.IDs, e.Offsets, nil
		}, trace.RenderOptions{})
		return r
	}
	if err := clean.Segment(); err != nil {
		fmt.Println(err)
		return
	}
	corrupt, err := clean.Edited("ex~delete", trace.Edit{Segment: "user[0].email[0]"})
	if err != nil {
		fmt.Println(err)
		return
	}
	rc, rx := render(clean), render(corrupt)
	tc, _ := attribution.DecisionTarget(rc)
	tx, _ := attribution.DecisionTarget(rx)
	al, err := attribution.Align(rc, rx, tc, tx)
	if err != nil {
		fmt.Println(err)
		return
	}
	opts := attribution.PatchOptions{Sites: []hook.Site{hook.K, hook.Q}}
	atp, star, err := attribution.AttributionPatchStar(m, al, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	real, _ := attribution.Patch(m, al, opts)
	aligned := 0
	for _, s := range al.Segments {
		if s.Aligned {
			aligned++
		}
	}
	fmt.Printf("%d aligned segments × 2 sites × %d layers\n", aligned, m.Dims().NLayers)
	for _, est := range []*attribution.PatchResult{atp, star} {
		c := attribution.ComparePatch(est, real, nil)
		fmt.Printf("%s: %d cells, as many as patching: %v\n", est.Method, c.Cells, c.Cells == len(real.Cells))
	}
	// Output:
	// 4 aligned segments × 2 sites × 2 layers
	// atp: 16 cells, as many as patching: true
	// atp*: 16 cells, as many as patching: true
}
