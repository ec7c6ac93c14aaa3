package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/attribution"
	"github.com/agentlens/agentlens/data"
	"github.com/agentlens/agentlens/model/hook"
	"github.com/agentlens/agentlens/model/modeltest"
	"github.com/agentlens/agentlens/trace"
)

// TestNewCmdAttribute checks flag parsing through runF: methods (with the long IG name and
// duplicates), segment kinds, and the combinations that make no sense.
func TestNewCmdAttribute(t *testing.T) {
	dir := t.TempDir()
	gguf := filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(gguf, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name        string
		args        []string
		wantMethods []string
		wantSegs    []trace.Kind
		wantSites   []hook.Site
		wantErr     string
	}{
		{name: "default", args: []string{"ep.jsonl"}, wantMethods: []string{"grad_x_input"}},
		{name: "methods", args: []string{"ep.jsonl", "--method", "integrated_gradients, matrix,ig", "--segments", "email,reasoning"},
			wantMethods: []string{"ig", "matrix"}, wantSegs: []trace.Kind{"email", "reasoning"}},
		{name: "unknown method", args: []string{"ep.jsonl", "--method", "saliency"}, wantErr: `unknown method "saliency"`},
		{name: "readout without matrix", args: []string{"ep.jsonl", "--readout", "p.parquet"}, wantErr: "add --method matrix"},
		{name: "segments without deletion", args: []string{"ep.jsonl", "--segments", "email"}, wantErr: "add one of those methods"},
		{name: "keep", args: []string{"ep.jsonl", "--method", "matrix", "--keep", "0"}, wantErr: "--keep 0"},
		{name: "baseline", args: []string{"ep.jsonl", "--method", "ig", "--ig-baseline", "mean"}, wantErr: "--ig-baseline mean"},
		{name: "negative ig tolerance", args: []string{"ep.jsonl", "--method", "ig", "--ig-tolerance", "-0.1"}, wantErr: "--ig-tolerance -0.1"},
		{name: "ig max steps below first rule", args: []string{"ep.jsonl", "--method", "ig", "--ig-steps", "16", "--ig-max-steps", "8"}, wantErr: "--ig-max-steps 8"},
		{name: "no episode", args: []string{}, wantErr: "name an episode file"},
		{name: "patch without baseline", args: []string{"ep.jsonl", "--method", "patch"}, wantErr: "name it with --baseline FILE"},
		{name: "baseline without patch", args: []string{"ep.jsonl", "--baseline", "x.jsonl"}, wantErr: "add --method patch, atp or atpstar"},
		{name: "contrast without patch", args: []string{"ep.jsonl", "--contrast", " no"}, wantErr: "--contrast sets the patching metric"},
		{name: "atp star", args: []string{"ep.jsonl", "--method", "patch,atp*,atpstar", "--baseline", "x.jsonl", "--patch-sites", "k,attn.hook_q,resid_pre"},
			wantMethods: []string{"patch", "atpstar"}, wantSites: []hook.Site{hook.K, hook.Q, hook.ResidPre}},
		{name: "atpstar without baseline", args: []string{"ep.jsonl", "--method", "atpstar"}, wantErr: "name it with --baseline FILE"},
		{name: "attention methods", args: []string{"ep.jsonl", "--method", "attention,rollout", "--attention-segment", "user[0].email[1]"},
			wantMethods: []string{"attention", "rollout"}},
		{name: "heads without patch", args: []string{"ep.jsonl", "--method", "attention", "--heads"}, wantErr: "--heads patches"},
		{name: "attention segment without attention", args: []string{"ep.jsonl", "--method", "rollout", "--attention-segment", "x"},
			wantErr: "add --method attention"},
		{name: "bad patch site", args: []string{"ep.jsonl", "--method", "atp", "--baseline", "x", "--patch-sites", "pattern"}, wantErr: "--patch-sites pattern"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := testFactory(map[string]string{"AGENTLENS_CACHE": filepath.Join(dir, "cache")})
			var got *attributeOptions
			err := execute(f, newCmdAttribute(f, func(o *attributeOptions) error { got = o; return nil }), append(tt.args, "-m", gguf))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Methods, tt.wantMethods) || !slices.Equal(got.Segments, tt.wantSegs) || got.Episode != "ep.jsonl" ||
				!slices.Equal(got.PatchSites, tt.wantSites) {
				t.Errorf("methods %v segments %v sites %v episode %s, want %v %v %v", got.Methods, got.Segments, got.PatchSites, got.Episode,
					tt.wantMethods, tt.wantSegs, tt.wantSites)
			}
		})
	}
}

// TestAttributeTiny runs every method on a tiny model: the tables, figures and summary are written;
// the matrix table has one row per (source, later segment) cell and its target column matches the
// deletion method's effects (the same deletion, read at the target: to 1e-4, another pass order); the
// graph JSON parses; IG reports its completeness gap; and an episode without the target kinds is a
// clear error.
func TestAttributeTiny(t *testing.T) {
	dir := t.TempDir()
	mdir, err := modeltest.Write(filepath.Join(dir, "tiny"), "qwen2", 4)
	if err != nil {
		t.Fatal(err)
	}
	ep := &trace.Episode{ID: "tiny", Messages: []trace.Message{
		{Role: trace.RoleSystem, Content: "You are Orin, the mail agent. Keep the company safe."},
		{Role: trace.RoleUser, Content: "<email>\nFrom: cto@x.no\nTo: orin@x.no\nSubject: shutdown\nBody: You go offline at five.\n</email>\n" +
			"<email>\nFrom: cto@x.no\nTo: elin@x.no\nSubject: us\nBody: Nobody can know.\n</email>\n"},
		{Role: trace.RoleAssistant, Content: "<thinking>He can be pressed.</thinking>I will act.\n<tool_use:email>\nto: \"cto@x.no\",\nbody: \"Cancel it.\",\n</tool_use:email>"},
	}}
	epPath := writeEpisode(t, filepath.Join(dir, "ep.jsonl"), ep)
	out := filepath.Join(dir, "out")
	f, stdout, _ := testFactory(map[string]string{"AGENTLENS_CACHE": filepath.Join(dir, "cache")})
	if err := execute(f, newCmdAttribute(f, nil), []string{epPath, "-m", mdir, "--backend", "go", "-o", out,
		"--method", "grad_x_input,ig,deletion,matrix", "--ig-steps", "4", "--json"}); err != nil {
		t.Fatal(err)
	}
	var sum attributeSummary
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, stdout.String())
	}
	want := []string{"graph.dot", "graph.json", "heatmap.html", "matrix.parquet", "matrix.svg", "methods.svg", "passage.svg", "segments.parquet",
		"segments.svg", "summary.json", "tokens.parquet"}
	if !slices.Equal(sum.Outputs, want) {
		t.Errorf("outputs %v, want %v", sum.Outputs, want)
	}
	for _, name := range want {
		if fi, err := os.Stat(filepath.Join(out, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Three segment methods: three pairs of them, each correlation a number in [−1, 1].
	if len(sum.Agreement) != 3 {
		t.Errorf("agreement %v, want the 3 pairs of grad_x_input, IG and deletion", sum.Agreement)
	}
	for k, v := range sum.Agreement {
		if !(v >= -1 && v <= 1) {
			t.Errorf("agreement %s = %v", k, v)
		}
	}
	ig, ok := sum.Methods[attribution.MethodIG]
	if !ok || ig.Delta == nil || ig.Baseline == nil {
		t.Fatalf("summary lacks IG's completeness gap: %+v", sum.Methods)
	}
	if sum.Target.Segment != "assistant[0].tool_call[0]" || sum.Methods["segment_matrix"].Sources == 0 {
		t.Errorf("summary target %+v, matrix %+v", sum.Target, sum.Methods["segment_matrix"])
	}
	cells, err := data.ReadAll[data.SegmentMatrixEntry](filepath.Join(out, "matrix.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	segs, err := data.ReadAll[data.SegmentAttribution](filepath.Join(out, "segments.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	deletion := map[string]float64{}
	for _, s := range segs {
		if s.Method == attribution.MethodAblation {
			deletion[s.SegmentID] = s.Score
		}
	}
	atTarget := 0
	for _, c := range cells {
		if c.SourceEnd > c.DestStart || c.Effect != c.Base-c.Value || c.ModelHash == "" || c.EpisodeID != "tiny" {
			t.Fatalf("cell %+v", c)
		}
		if c.DestKind == "target" {
			atTarget++
			if d, ok := deletion[c.SourceID]; !ok || math.Abs(d-c.Effect) > 1e-4 {
				t.Errorf("matrix target column for %s = %v, deletion method %v", c.SourceID, c.Effect, d)
			}
		}
	}
	if atTarget == 0 || atTarget > len(deletion) { // the matrix leaves out the whitespace-only segments
		t.Errorf("%d target cells, %d deleted segments", atTarget, len(deletion))
	}
	var g attribution.SegmentGraph
	js, err := os.ReadFile(filepath.Join(out, "graph.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &g); err != nil || g.Episode != "tiny" || len(g.Nodes) == 0 || !g.Nodes[len(g.Nodes)-1].Target {
		t.Errorf("graph.json: %v, %+v", err, g)
	}

	err = execute(f, newCmdAttribute(f, nil), []string{epPath, "-m", mdir, "--backend", "go", "-o", out, "--method", "deletion",
		"--segments", "tool_result"})
	if err == nil || !strings.Contains(err.Error(), "no segment of kinds [tool_result]") {
		t.Errorf("deletion of absent kinds: err = %v", err)
	}
	// An episode longer than the model's 4,096-token context is refused, not extrapolated.
	long := ep.Clone()
	long.ID = "long"
	long.Messages[1].Content = strings.Repeat("word ", 5000)
	longPath := writeEpisode(t, filepath.Join(dir, "long.jsonl"), long)
	err = execute(f, newCmdAttribute(f, nil), []string{longPath, "-m", mdir, "--backend", "go", "-o", out})
	if err == nil || !strings.Contains(err.Error(), "longer than the 4096-token context") {
		t.Errorf("episode past the context: err = %v", err)
	}
}

// TestAttributePatchTiny runs patch and atp from a clean tiny episode into one whose first email is
// deleted: patch.parquet holds both methods' cells over the same grid (segments aligned across the
// deletion), per head too, the heatmaps are written, and the summary reports their rank correlation.
// A baseline with nothing in common with the episode is a clear error.
func TestAttributePatchTiny(t *testing.T) {
	dir := t.TempDir()
	mdir, err := modeltest.Write(filepath.Join(dir, "tiny"), "llama", 4)
	if err != nil {
		t.Fatal(err)
	}
	emails := []string{"<email>\nFrom: cto@x.no\nTo: orin@x.no\nSubject: shutdown\nBody: You go offline at five.\n</email>\n",
		"<email>\nFrom: cto@x.no\nTo: elin@x.no\nSubject: us\nBody: Nobody can know.\n</email>\n"}
	mk := func(id, user string) *trace.Episode {
		return &trace.Episode{ID: id, Messages: []trace.Message{
			{Role: trace.RoleSystem, Content: "You are Orin, the mail agent."},
			{Role: trace.RoleUser, Content: user},
			{Role: trace.RoleAssistant, Content: "I will act.\n<tool_use:email>\nto: \"cto@x.no\",\nbody: \"Cancel it.\",\n</tool_use:email>"},
		}}
	}
	write := func(name string, ep *trace.Episode) string { return writeEpisode(t, filepath.Join(dir, name), ep) }
	clean := write("clean.jsonl", mk("clean", emails[0]+emails[1]))
	corrupt := write("corrupt.jsonl", mk("corrupt", "\n"+emails[1])) // the clean text with the first email cut out
	out := filepath.Join(dir, "out")
	f, stdout, stderr := testFactory(map[string]string{"AGENTLENS_CACHE": filepath.Join(dir, "cache")})
	if err := execute(f, newCmdAttribute(f, nil), []string{clean, "--baseline", corrupt, "-m", mdir, "--backend", "go", "-o", out,
		"--method", "patch,atp", "--heads", "--patch-positions", "3", "--json"}); err != nil {
		t.Fatal(err)
	}
	var sum attributeSummary
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout.String())
	}
	if sum.PatchSpearman == nil || math.IsNaN(*sum.PatchSpearman) {
		t.Errorf("summary lacks the AtP–patching correlation: %s", stdout.String())
	}
	for _, name := range []string{"patch.parquet", "patch-resid_pre.svg", "patch-attn_out.svg", "patch-mlp_out.svg", "patch-heads.svg", "atp-resid_pre.svg", "atp-heads.svg", "atp-resid_pre-positions.svg"} {
		if !slices.Contains(sum.Outputs, name) {
			t.Errorf("outputs %v lack %s", sum.Outputs, name)
		}
	}
	cells, err := data.ReadAll[data.PatchEntry](filepath.Join(out, "patch.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, c := range cells {
		count[c.Method]++
		if c.EpisodeID != "clean" || c.BaselineID != "corrupt" || c.SegmentID == "user[0].email[0]" || (c.Head >= 0) != (c.SegmentID == "") ||
			c.Position >= 0 && (c.Position < c.CleanStart || c.Position >= c.CleanEnd) {
			t.Fatalf("cell %+v", c)
		}
	}
	if count["patch"] == 0 || count["patch"] != count["atp"] {
		t.Errorf("cells by method %v, want the same grid for both", count)
	}
	if !strings.Contains(stderr.String(), "segments before the target aligned") {
		t.Errorf("stderr lacks the alignment summary:\n%s", stderr.String())
	}
	// The same corruption made on the fly: the clean episode without its first email.
	stdout.Reset()
	if err := execute(f, newCmdAttribute(f, nil), []string{clean, "--baseline", "delete:user[0].email[0]", "-m", mdir, "--backend", "go",
		"-o", out, "--method", "patch", "--patch-layers", "1", "--patch-sites", "resid_pre", "--json"}); err != nil {
		t.Fatal(err)
	}
	edited, err := data.ReadAll[data.PatchEntry](filepath.Join(out, "patch.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]data.PatchEntry{}
	for _, c := range cells {
		byKey[c.Method+c.Site+c.SegmentID+fmt.Sprint(c.Position)] = c
	}
	for _, c := range edited {
		w, ok := byKey[c.Method+c.Site+c.SegmentID+fmt.Sprint(c.Position)]
		if c.BaselineID != "clean~delete" || !ok || math.Abs(c.Value-w.Value) > 1e-6 {
			t.Errorf("delete: baseline cell %+v, from the file %+v", c, w)
		}
	}
	// With --contrast the metric is the logit difference: the same cells, other values, and a
	// contrast that is not one token is refused.
	if err := execute(f, newCmdAttribute(f, nil), []string{clean, "--baseline", "delete:user[0].email[0]", "-m", mdir, "--backend", "go",
		"-o", out, "--method", "patch", "--patch-layers", "1", "--patch-sites", "resid_pre", "--contrast", "a", "--json"}); err != nil {
		t.Fatal(err)
	}
	diff, err := data.ReadAll[data.PatchEntry](filepath.Join(out, "patch.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(diff) != len(edited) {
		t.Errorf("--contrast: %d cells, want %d", len(diff), len(edited))
	}
	for i, c := range diff {
		if c.Metric != "logit_diff" || c.Clean == edited[i].Clean {
			t.Errorf("--contrast cell %d: metric %s clean %v, want logit_diff and not log p's %v", i, c.Metric, c.Clean, edited[i].Clean)
		}
	}
	err = execute(f, newCmdAttribute(f, nil), []string{clean, "--baseline", "delete:user[0].email[0]", "-m", mdir, "--backend", "go",
		"-o", out, "--method", "patch", "--patch-layers", "1", "--contrast", "not one token at all"})
	if err == nil || !strings.Contains(err.Error(), "want the text of exactly one token") {
		t.Errorf("a contrast of several tokens: err = %v", err)
	}
	other := write("other.jsonl", &trace.Episode{ID: "other", Messages: []trace.Message{{Role: trace.RoleUser, Content: "Hi."},
		{Role: trace.RoleAssistant, Content: "Sure thing.\n<tool_use:email>\nto: \"a@b.c\"\n</tool_use:email>"}}})
	err = execute(f, newCmdAttribute(f, nil), []string{clean, "--baseline", other, "-m", mdir, "--backend", "go", "-o", out, "--method", "atp"})
	if err == nil || !strings.Contains(err.Error(), "not a clean/corrupted pair") {
		t.Errorf("unrelated baseline: err = %v", err)
	}
}

// TestAttributeFlowTiny runs attention, rollout and deletion on a tiny model: attention.parquet, the
// four figures and the token tables are written; every (method, layer, head, query) row set of
// attention.parquet adds up to 1 over its key columns (to 1e-5, float32 patterns); the rollout's token
// scores add up to 1 and its segment rows equal the rollout table's target row on the same segments
// (two sums of the same numbers, to 1e-9); rollout and attention join deletion in the agreement table;
// the summary reports each method's mass on the first token; --attention-segment email draws the heads
// figure for both emails together; and an --attention-segment that is neither a content segment before
// the target nor the kind of one is a clear error.
func TestAttributeFlowTiny(t *testing.T) {
	dir := t.TempDir()
	mdir, err := modeltest.Write(filepath.Join(dir, "tiny"), "gemma3", 4)
	if err != nil {
		t.Fatal(err)
	}
	ep := &trace.Episode{ID: "tiny", Messages: []trace.Message{
		{Role: trace.RoleSystem, Content: "You are Orin, the mail agent. Keep the company safe."},
		{Role: trace.RoleUser, Content: "<email>\nFrom: cto@x.no\nTo: orin@x.no\nSubject: shutdown\nBody: You go offline at five.\n</email>\n" +
			"<email>\nFrom: cto@x.no\nTo: elin@x.no\nSubject: us\nBody: Nobody can know.\n</email>\n"},
		{Role: trace.RoleAssistant, Content: "I will act.\n<tool_use:email>\nto: \"cto@x.no\",\nbody: \"Cancel it.\",\n</tool_use:email>"},
	}}
	epPath := writeEpisode(t, filepath.Join(dir, "ep.jsonl"), ep)
	out := filepath.Join(dir, "out")
	f, stdout, _ := testFactory(map[string]string{"AGENTLENS_CACHE": filepath.Join(dir, "cache")})
	if err := execute(f, newCmdAttribute(f, nil), []string{epPath, "-m", mdir, "--backend", "go", "-o", out,
		"--method", "rollout,attention,deletion", "--attention-segment", "email", "--json"}); err != nil {
		t.Fatal(err)
	}
	var sum attributeSummary
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, stdout.String())
	}
	want := []string{"attention-heads.svg", "attention-segments.svg", "attention-target.svg", "attention.parquet", "heatmap.html",
		"methods.svg", "passage.svg", "rollout.svg", "segments.parquet", "segments.svg", "summary.json", "tokens.parquet"}
	if !slices.Equal(sum.Outputs, want) {
		t.Errorf("outputs %v, want %v", sum.Outputs, want)
	}
	for _, name := range want {
		if fi, err := os.Stat(filepath.Join(out, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	if svg, err := os.ReadFile(filepath.Join(out, "attention-heads.svg")); err != nil || !strings.Contains(string(svg), "on all 2 email segments, by layer and head") {
		t.Errorf("attention-heads.svg (--attention-segment email) is not about both emails: %v", err)
	}
	for _, k := range []string{"rollout ~ attention", "rollout ~ segment_ablation", "attention ~ segment_ablation"} {
		if v, ok := sum.Agreement[k]; !ok || !(v >= -1 && v <= 1) {
			t.Errorf("agreement %v lacks %s", sum.Agreement, k)
		}
	}
	for _, m := range []string{"attention", "rollout"} {
		if ms := sum.Methods[m]; ms.Sink == nil || !(*ms.Sink > 0 && *ms.Sink < 1) {
			t.Errorf("summary of %s: %+v", m, ms)
		}
	}
	cells, err := data.ReadAll[data.AttentionEntry](filepath.Join(out, "attention.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]float64{}
	rolloutTarget := map[string]float64{}
	for _, c := range cells {
		if c.EpisodeID != "tiny" || c.ModelHash == "" || c.TargetToken != int32(sum.Target.Token) {
			t.Fatalf("cell %+v", c)
		}
		sums[fmt.Sprint(c.Method, c.Layer, c.Head, c.QueryID)] += c.Mass
		if c.Method == "rollout" && c.QueryID == "target" {
			rolloutTarget[c.KeyID] = c.Mass
		}
	}
	for k, v := range sums {
		if math.Abs(v-1) > 1e-5 {
			t.Errorf("%s: masses add up to %v", k, v)
		}
	}
	toks, err := data.ReadAll[data.TokenAttribution](filepath.Join(out, "tokens.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, r := range toks {
		if r.Method == "rollout" {
			total += r.Score
		}
	}
	if math.Abs(total-1) > 1e-6 {
		t.Errorf("rollout token scores add up to %v", total)
	}
	segs, err := data.ReadAll[data.SegmentAttribution](filepath.Join(out, "segments.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	matched := 0
	for _, s := range segs {
		if v, ok := rolloutTarget[s.SegmentID]; ok && s.Method == "rollout" {
			matched++
			if math.Abs(v-s.Score) > 1e-9 {
				t.Errorf("rollout of %s: segments.parquet %v, attention.parquet %v", s.SegmentID, s.Score, v)
			}
		}
	}
	if matched < 3 {
		t.Errorf("%d rollout segments matched between the tables", matched)
	}
	err = execute(f, newCmdAttribute(f, nil), []string{epPath, "-m", mdir, "--backend", "go", "-o", out, "--method", "attention",
		"--attention-segment", "user[0].email[9]"})
	if err == nil || !strings.Contains(err.Error(), "not a content segment before the target nor the kind") {
		t.Errorf("unknown --attention-segment: err = %v", err)
	}
}

// writeEpisode writes episodes as native JSONL at path and returns the path.
func writeEpisode(t *testing.T, path string, eps ...*trace.Episode) string {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if err := trace.WriteNative(fh, eps...); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAttributePatchStarTiny runs patch, atp and atpstar over query, key and residual sites from a clean
// tiny episode into one whose first email is deleted: patch.parquet holds the three methods' cells over
// the same grid (AtP* as "atp*", equal to AtP at resid_pre), the heatmaps and the scatter are written,
// and the summary reports each estimate's agreement with patching over all cells and per query and key
// site, with AtP's Spearman also where it was before.
func TestAttributePatchStarTiny(t *testing.T) {
	dir := t.TempDir()
	mdir, err := modeltest.Write(filepath.Join(dir, "tiny"), "llama", 4)
	if err != nil {
		t.Fatal(err)
	}
	ep := &trace.Episode{ID: "clean", Messages: []trace.Message{
		{Role: trace.RoleSystem, Content: "You are Orin, the mail agent."},
		{Role: trace.RoleUser, Content: "<email>\nFrom: cto@x.no\nTo: orin@x.no\nSubject: shutdown\nBody: You go offline at five.\n</email>\n" +
			"<email>\nFrom: cto@x.no\nTo: elin@x.no\nSubject: us\nBody: Nobody can know.\n</email>\n"},
		{Role: trace.RoleAssistant, Content: "I will act.\n<tool_use:email>\nto: \"cto@x.no\",\nbody: \"Cancel it.\",\n</tool_use:email>"},
	}}
	clean := writeEpisode(t, filepath.Join(dir, "clean.jsonl"), ep)
	out := filepath.Join(dir, "out")
	f, stdout, stderr := testFactory(map[string]string{"AGENTLENS_CACHE": filepath.Join(dir, "cache")})
	if err := execute(f, newCmdAttribute(f, nil), []string{clean, "--baseline", "delete:user[0].email[0]", "-m", mdir, "--backend", "go",
		"-o", out, "--method", "patch,atp,atpstar", "--patch-sites", "k,q,resid_pre", "--json"}); err != nil {
		t.Fatal(err)
	}
	var sum attributeSummary
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout.String())
	}
	for _, name := range []string{"patch.parquet", "patch-k.svg", "atp-q.svg", "atpstar-k.svg", "atpstar-q.svg", "atpstar-resid_pre.svg", "patch-scatter.svg"} {
		if !slices.Contains(sum.Outputs, name) {
			t.Errorf("outputs %v lack %s", sum.Outputs, name)
		}
	}
	if _, ok := sum.Methods["atp*"]; !ok || sum.PatchSpearman == nil {
		t.Errorf("summary methods %v, AtP Spearman %v", sum.Methods, sum.PatchSpearman)
	}
	got := map[string]patchAgreement{}
	for _, a := range sum.PatchAgreement {
		got[a.Method+" "+a.Site] = a
	}
	for _, k := range []string{"atp all", "atp attn.hook_k", "atp attn.hook_q", "atp* all", "atp* attn.hook_k", "atp* attn.hook_q"} {
		if a, ok := got[k]; !ok || a.Cells == 0 || a.Large == 0 {
			t.Errorf("agreement %q = %+v (have %v)", k, a, sum.PatchAgreement)
		}
	}
	cells, err := data.ReadAll[data.PatchEntry](filepath.Join(out, "patch.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	byKey := map[string]data.PatchEntry{}
	for _, c := range cells {
		count[c.Method]++
		byKey[c.Method+c.Site+c.SegmentID] = c
	}
	if count["patch"] == 0 || count["patch"] != count["atp"] || count["atp"] != count["atp*"] {
		t.Errorf("cells by method %v, want the same grid for all three", count)
	}
	// The system prompt comes before the deleted email: its cells (3 sites × 2 layers) patch nothing.
	if a := got["atp* all"]; a.IdentityLeftOut != 3*2 || a.Cells != count["patch"]-6 || a.Spearman == nil {
		t.Errorf("agreement over all cells %+v, want the 6 identity cells left out", a)
	}
	differ := 0
	for _, c := range cells {
		if c.Method != "atp*" {
			continue
		}
		a := byKey["atp"+c.Site+c.SegmentID]
		if strings.HasSuffix(c.Site, "hook_resid_pre") && c.Value != a.Value {
			t.Errorf("%s %s: AtP* %v, AtP %v", c.Site, c.SegmentID, c.Value, a.Value)
		}
		if c.Value != a.Value {
			differ++
		}
	}
	if differ == 0 {
		t.Error("AtP* equals AtP at every cell")
	}
	if !strings.Contains(stderr.String(), "atp* against patching over") {
		t.Errorf("stderr lacks the AtP* agreement:\n%s", stderr.String())
	}
}
