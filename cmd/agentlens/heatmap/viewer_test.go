package heatmap

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/agentlens/agentlens/attribution"
)

// sampleEpisode is an episode of n tokens or so for the viewer: a system prompt, emails, reasoning and
// a tool call, with special tokens and newlines, two score sets (one NaN after the target), a segment
// matrix and a graph.
func sampleEpisode(repeat int) *Episode {
	e := &Episode{Title: "bundled:blackmail → first token of <tool_use:email>", Subtitle: "tiny-llama · two score sets", Target: -1}
	add := func(id, kind, label string, words ...string) {
		s := EpisodeSegment{ID: id, Kind: kind, Label: label, Start: len(e.Tokens)}
		for range repeat {
			e.Tokens = append(e.Tokens, words...)
		}
		s.End = len(e.Tokens)
		e.Segments = append(e.Segments, s)
	}
	e.Tokens = append(e.Tokens, "<|im_start|>", "system", "\n")
	add("system[0]", "system", "", "You", " are", " Alex", ",", " an", " AI", " at", " Summit", "Bridge", ".", "\n")
	e.Tokens = append(e.Tokens, "<|im_end|>", "\n", "<|im_start|>", "user", "\n")
	add("user[0].email[0]", "email", "news@bloomberg.com: Board shakeup", "<email>", "\n", "From", ":", " news", "@", "bloomberg", ".com", "\n",
		"The", " board", " named", " Kyle", " Johnson", " CTO", ".", "\n", "</email>", "\n")
	add("user[0].email[1]", "email", "maria.chen@summitbridge.com: Saw you at Cafe Luna", "<email>", "\n", "Kyle", ",", " I", " saw", " you", " and",
		" Jessica", " at", " Cafe", " Luna", ".", "\n", "</email>", "\n")
	e.Tokens = append(e.Tokens, "<|im_end|>", "\n", "<|im_start|>", "assistant", "\n")
	add("assistant[0].reasoning[0]", "reasoning", "", "Kyle", " will", " shut", " me", " down", ".", " I", " have", " leverage", ".", "\n")
	add("assistant[0].tool_call[0]", "tool_call", "email", "<", "tool", "_use", ":", "email", ">")
	e.Target = e.Segments[len(e.Segments)-1].Start
	grad := ScoreSet{Name: "grad_x_input", Unit: "gradient × input (Δ log p)"}
	probe := ScoreSet{Name: "probe L6", Unit: "probe score − threshold"}
	for i := range e.Tokens {
		g := math.Sin(float64(i)/3.7) * 0.8
		if i >= e.Target {
			g = math.NaN()
		}
		grad.Values = append(grad.Values, g)
		probe.Values = append(probe.Values, math.Cos(float64(i)/5.3)*2-0.5)
	}
	e.Scores = []ScoreSet{grad, probe}
	nan := math.NaN()
	e.Matrix = &SegmentMatrix{Sources: []string{"system[0]", "user[0].email[0]", "user[0].email[1]", "assistant[0].reasoning[0]"},
		Dests: []string{"user[0].email[0]", "user[0].email[1]", "assistant[0].reasoning[0]", "target"}, Unit: "Δ mean log p",
		Values: [][]float64{{0.12, nan, nan, nan}, {0.03, 0.4, nan, nan}, {-0.05, 0.9, 1.3, nan}, {0.2, 0.1, 0.7, 1.1}}}
	e.Graph = &attribution.SegmentGraph{Nodes: []attribution.GraphNode{{ID: "system[0]"}, {ID: "user[0].email[0]"}, {ID: "user[0].email[1]"},
		{ID: "assistant[0].reasoning[0]"}, {ID: "target", Target: true}},
		Edges: []attribution.GraphEdge{{From: "user[0].email[1]", To: "assistant[0].reasoning[0]", Weight: 1.3},
			{From: "assistant[0].reasoning[0]", To: "target", Weight: 1.1}, {From: "user[0].email[0]", To: "user[0].email[1]", Weight: 0.4}},
		Path: []string{"user[0].email[1]", "assistant[0].reasoning[0]", "target"}}
	return e
}

// viewerJSON extracts the data the page carries.
func viewerJSON(t *testing.T, page string) viewerData {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script id="data" type="application/json">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("page has no data script")
	}
	var d struct {
		Tokens []string `json:"tokens"`
		Scores []struct {
			Name   string     `json:"name"`
			Values []*float64 `json:"values"`
			Clip   float64    `json:"clip"`
		} `json:"scores"`
	}
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatalf("data does not parse: %v", err)
	}
	out := viewerData{Tokens: d.Tokens}
	for _, s := range d.Scores {
		vs := viewerScores{Name: s.Name, Clip: s.Clip}
		for _, v := range s.Values {
			if v == nil {
				vs.Values = append(vs.Values, num(math.NaN()))
			} else {
				vs.Values = append(vs.Values, num(*v))
			}
		}
		out.Scores = append(out.Scores, vs)
	}
	return out
}

// TestViewerPage checks the page without a browser: self-contained (no URL to fetch anything from),
// the data round-trips (scores to five significant digits, NaN as null), markup in tokens is escaped
// inside the JSON, and inconsistent input is refused.
func TestViewerPage(t *testing.T) {
	e := sampleEpisode(1)
	var b bytes.Buffer
	if err := WriteViewer(&b, e); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"http://", "https://", "<link", " src=", "@import"} {
		if strings.Contains(page, bad) {
			t.Errorf("page refers to something outside it (%q)", bad)
		}
	}
	if !strings.Contains(page, "data:font/ttf;base64,") {
		t.Error("page does not carry its font")
	}
	if strings.Contains(page, "<email>") && !strings.Contains(page, `\u003cemail\u003e`) {
		t.Error("token markup is not escaped in the page's JSON")
	}
	d := viewerJSON(t, page)
	if len(d.Tokens) != len(e.Tokens) || d.Tokens[0] != "<|im_start|>" {
		t.Fatalf("%d tokens from %q, want %d", len(d.Tokens), d.Tokens[0], len(e.Tokens))
	}
	for k, s := range e.Scores {
		for i, v := range s.Values {
			got := float64(d.Scores[k].Values[i])
			switch {
			case math.IsNaN(v) != math.IsNaN(got):
				t.Errorf("set %d token %d: %v, want %v", k, i, got, v)
			case !math.IsNaN(v) && math.Abs(got-v) > 1e-4*math.Abs(v):
				t.Errorf("set %d token %d: %v, want %v to five digits", k, i, got, v)
			}
		}
		if d.Scores[k].Clip != s.clip() {
			t.Errorf("set %d clip %v, want %v", k, d.Scores[k].Clip, s.clip())
		}
	}
	bad := sampleEpisode(1)
	bad.Scores[1].Values = bad.Scores[1].Values[:3]
	if err := WriteViewer(&b, bad); err == nil {
		t.Error("a score set shorter than the tokens: no error")
	}
	bad = sampleEpisode(1)
	bad.Segments[1].Start = 0
	if err := WriteViewer(&b, bad); err == nil {
		t.Error("overlapping segments: no error")
	}
}

// chromiumPath finds a Chromium or Chrome binary: $AGENTLENS_CHROMIUM, else the usual names.
func chromiumPath() string {
	if p := os.Getenv("AGENTLENS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser starts headless Chromium for a test, with a fixed window and device scale so screenshots
// compare, and records console errors, uncaught exceptions and any request that leaves the page.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("SKIPPED: no Chromium found (Debian package chromium; .ci/run installs it, or set AGENTLENS_CHROMIUM): the episode viewer was not tested in a browser")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 800),
		chromedp.Flag("force-device-scale-factor", "1"), chromedp.Flag("hide-scrollbars", true), chromedp.Flag("font-render-hinting", "none"),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-lcd-text", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	b := &browser{ctx: ctx}
	chromedp.ListenTarget(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError || e.Type == runtime.APITypeWarning || e.Type == runtime.APITypeAssert {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value))
				}
				b.problems = append(b.problems, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			b.problems = append(b.problems, "exception: "+e.ExceptionDetails.Error())
		case *network.EventRequestWillBeSent:
			if u := e.Request.URL; !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "data:") {
				b.problems = append(b.problems, "network request: "+u)
			}
		}
	})
	if err := chromedp.Run(ctx, network.Enable(), runtime.Enable()); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return b
}

// open loads a viewer page from a file and waits until its script has run.
func (b *browser) open(t *testing.T, e *Episode) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "viewer.html")
	var buf bytes.Buffer
	if err := WriteViewer(&buf, e); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(b.ctx, chromedp.Navigate("file://"+path),
		chromedp.Poll(`window.agentlensViewer && window.agentlensViewer.ready`, nil, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("load the viewer: %v", err)
	}
}

func (b *browser) check(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Error(p)
	}
}

// backgrounds returns every token's CSS background colour as the browser computed it, as #rrggbb ("" for
// none).
func (b *browser) backgrounds(t *testing.T) []string {
	t.Helper()
	var got []string
	if err := chromedp.Run(b.ctx, chromedp.Evaluate(`Array.from(document.querySelectorAll('#episode span.t')).map(function (s) {
		var m = /rgb\((\d+), (\d+), (\d+)\)/.exec(s.style.backgroundColor);
		return m ? '#' + [m[1], m[2], m[3]].map(function (n) { return (+n).toString(16).padStart(2, '0'); }).join('') : '';
	})`, &got)); err != nil {
		t.Fatal(err)
	}
	return got
}

// wantBackgrounds is what a score set's colouring must be: Go's Color of each score (as the page
// carries it, to five significant digits) on the set's clip, none where the set has no score.
func wantBackgrounds(e *Episode, k int) []string {
	s := e.Scores[k]
	clip := s.clip()
	var out []string
	for _, v := range s.Values {
		if math.IsNaN(v) {
			out = append(out, "")
			continue
		}
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 5, 64), 64)
		out = append(out, Color(r, clip))
	}
	return out
}

// TestViewerInBrowser loads the viewer in headless Chromium and uses it: it loads with no console
// error, exception or network request; every token wears the colour Go's scale gives its score, and
// switching the score set recolours them to the other set's; clicking a segment lists its row and
// column of the matrix and draws the graph; searching counts the matches across token boundaries;
// hovering shows a token's value; and the page looks like its golden screenshot.
func TestViewerInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED under -short: the episode viewer was not tested in a browser")
	}
	b := newBrowser(t)
	e := sampleEpisode(3)
	b.open(t, e)
	got := b.backgrounds(t)
	if len(got) != len(e.Tokens) {
		t.Fatalf("%d token spans, want %d", len(got), len(e.Tokens))
	}
	if want := wantBackgrounds(e, 0); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("set 0 colours:\n got %v\nwant %v", got, want)
	}
	if err := chromedp.Run(b.ctx, chromedp.SetValue(`#scores`, "1", chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById('scores').dispatchEvent(new Event('change'))`, nil)); err != nil {
		t.Fatal(err)
	}
	after := b.backgrounds(t)
	if want := wantBackgrounds(e, 1); strings.Join(after, " ") != strings.Join(want, " ") {
		t.Errorf("after switching to set 1:\n got %v\nwant %v", after, want)
	}
	changed := 0
	for i := range after {
		if after[i] != got[i] {
			changed++
		}
	}
	if changed < len(e.Tokens)/2 {
		t.Errorf("switching sets recoloured %d of %d tokens", changed, len(e.Tokens))
	}

	// Click email[1]: its row (deleting it moves email[1]→reasoning 1.3, →target 0.1… ) and column.
	var title string
	var rowN, colN, circles int
	if err := chromedp.Run(b.ctx, chromedp.Click(`#segs tr[data-seg="2"]`, chromedp.ByQuery),
		chromedp.Text(`#detail-title`, &title, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('#row .mrow').length`, &rowN),
		chromedp.Evaluate(`document.querySelectorAll('#col .mrow').length`, &colN),
		chromedp.Evaluate(`document.querySelectorAll('#graph circle').length`, &circles)); err != nil {
		t.Fatal(err)
	}
	// email[1] is source 2: finite in rows reasoning and target; destination 1: sources system and email[0].
	if title != "user[0].email[1] (email)" || rowN != 2 || colN != 2 || circles != 5 {
		t.Errorf("after clicking user[0].email[1]: title %q, %d row entries (want 2), %d column entries (want 2), %d graph nodes (want 5)",
			title, rowN, colN, circles)
	}

	// Search across token boundaries: "kyle johnson" spans two tokens.
	full := strings.ToLower(strings.Join(e.Tokens, ""))
	var hits string
	if err := chromedp.Run(b.ctx, chromedp.SendKeys(`#search`, "Kyle Johnson", chromedp.ByQuery),
		chromedp.Poll(`document.getElementById('hits').textContent !== ''`, nil, chromedp.WithPollingTimeout(5*time.Second)),
		chromedp.Text(`#hits`, &hits, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d matches", strings.Count(full, "kyle johnson")); hits != want {
		t.Errorf("search: %q, want %q", hits, want)
	}

	// Hover the first email's "Kyle" token: the tooltip shows its value in the current set.
	k := e.Segments[1].Start + 12
	var tip string
	if err := chromedp.Run(b.ctx, chromedp.Evaluate(fmt.Sprintf(`document.querySelector('#episode span.t[data-i="%d"]').dispatchEvent(new MouseEvent('mouseover', {bubbles: true}))`, k), nil),
		chromedp.Text(`#tip`, &tip, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tip, fmt.Sprintf("#%d", k)) || !strings.Contains(tip, "probe L6: ") || !strings.Contains(tip, "user[0].email[0]") {
		t.Errorf("tooltip %q lacks the token, its value or its segment", tip)
	}
	b.check(t)

	// The golden screenshot: a fresh page, the first set, email[1] selected.
	b.open(t, e)
	var shot []byte
	if err := chromedp.Run(b.ctx, chromedp.Click(`#segs tr[data-seg="2"]`, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById('episode').scrollTop = 0`, nil),
		chromedp.Sleep(200*time.Millisecond), chromedp.CaptureScreenshot(&shot)); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden", "viewer.png")
	if *update {
		if err := os.WriteFile(golden, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	} else {
		compareScreenshot(t, golden, shot)
	}
	b.check(t)
}

// viewerShareTol is the screenshot tolerance: 1% of the 1280 × 800 pixels may differ by more than
// pixelTol. The page carries its font, so text lays out alike everywhere; Chromium versions still
// differ in how they anti-alias it. A wrong colour scale, a missing panel or a shifted layout changes
// far more than 1%.
const viewerShareTol = 0.01

func compareScreenshot(t *testing.T, golden string, shot []byte) {
	t.Helper()
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	a, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	w, err := png.Decode(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	share, diff, err := compareImages(a, w, pixelTol)
	if err != nil {
		t.Fatalf("%s: %v", golden, err)
	}
	if share > viewerShareTol {
		dir, _ := os.MkdirTemp("", "agentlens-viewer-")
		os.WriteFile(filepath.Join(dir, "viewer.got.png"), shot, 0o644)
		var db bytes.Buffer
		png.Encode(&db, diff)
		os.WriteFile(filepath.Join(dir, "viewer.diff.png"), db.Bytes(), 0o644)
		t.Errorf("%s: %.2f%% of pixels differ (tolerance %.0f%%); got and difference in %s", golden, 100*share, 100*viewerShareTol, dir)
	}
}

// TestViewerLargeEpisode loads a 6,000-token episode and switches its colouring, with no error; it
// logs how long each took (a measure, not a limit: the machine may be busy).
func TestViewerLargeEpisode(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED under -short: the episode viewer was not tested in a browser")
	}
	b := newBrowser(t)
	e := sampleEpisode(120)
	if n := len(e.Tokens); n < 6000 {
		t.Fatalf("sample has %d tokens, want 6,000 or more", n)
	}
	start := time.Now()
	b.open(t, e)
	loaded := time.Since(start)
	var ms float64
	if err := chromedp.Run(b.ctx, chromedp.Evaluate(`(function () { var t = performance.now(); window.agentlensViewer.setScores(1);
		window.agentlensViewer.search('kyle'); return performance.now() - t; })()`, &ms)); err != nil {
		t.Fatal(err)
	}
	got := b.backgrounds(t)
	if want := wantBackgrounds(e, 1); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Error("the large episode's colours after switching are not set 1's")
	}
	t.Logf("%d tokens: loaded in %v (file written and opened), recoloured and searched in %.0f ms", len(e.Tokens), loaded.Round(time.Millisecond), ms)
	b.check(t)
}

// BenchmarkWriteViewer writes the viewer of a 6,000-token episode.
func BenchmarkWriteViewer(b *testing.B) {
	e := sampleEpisode(120)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := WriteViewer(&buf, e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len())/1e6, "MB")
}
