package heatmap

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"sync"

	"codeberg.org/go-fonts/liberation/liberationsansregular"

	"github.com/agentlens/agentlens/attribution"
)

// Episode is what the episode viewer (WriteViewer) shows: an episode's tokens grouped by segment, the
// score sets a reader switches between to colour them (attribution methods, probe scores), and
// optionally the segment × segment matrix and the segment graph.
type Episode struct {
	Title, Subtitle string
	// Tokens are the texts of the episode's tokens in order.
	Tokens []string
	// Segments cover the tokens in order (template stretches may be segments too); a token outside
	// every segment shows in a block of its own.
	Segments []EpisodeSegment
	// Target is the index of the target token (outlined), or −1.
	Target int
	// Scores are the colourings the switcher offers, the first shown first.
	Scores []ScoreSet
	// Matrix is the segment × segment matrix (nil: none); clicking a segment lists its row and column.
	Matrix *SegmentMatrix
	// Graph is the pruned segment graph (nil: none), drawn with the clicked segment's edges marked.
	Graph *attribution.SegmentGraph
}

// EpisodeSegment is one segment of an Episode: its id, kind, label and token span [Start, End).
type EpisodeSegment struct {
	ID, Kind, Label string
	Start, End      int
}

// ScoreSet is one colouring of the tokens: a method's (or a probe's) score of every token.
type ScoreSet struct {
	Name string // shown in the switcher: "grad_x_input", "probe L12"
	Unit string // the colour bar's label, with units
	// Values has one score per token; NaN where the set has none (tokens after the target).
	Values []float64
	// Segments are the set's segment scores by segment id (nil: the sum of the segment's token
	// scores).
	Segments map[string]float64
	// Clip is the |score| of full colour (0: the 99th percentile of |Values|).
	Clip float64
}

// SegmentMatrix is a segment × segment matrix for the viewer: Values[d][s] is how deleting source
// Sources[s] moves destination Dests[d] (NaN: not measured).
type SegmentMatrix struct {
	Sources, Dests []string
	Values         [][]float64
	Unit           string
}

// viewerJS and viewerCSS are the viewer's script and style, inlined into every page.
//
//go:embed viewer.js
var viewerJS string

//go:embed viewer.css
var viewerCSS string

// viewerFont is Liberation Sans as a data: URL, so the page looks the same on every machine (and its
// screenshots can be compared).
var viewerFont = sync.OnceValue(func() string {
	return "data:font/ttf;base64," + base64.StdEncoding.EncodeToString(liberationsansregular.TTF)
})

// num is a JSON number with five significant digits, or null for NaN and infinities.
type num float64

func (n num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 5, 64), nil
}

func nums(v []float64) []num {
	out := make([]num, len(v))
	for i, x := range v {
		out[i] = num(x)
	}
	return out
}

// viewerData is the JSON the page's script reads.
type viewerData struct {
	Title    string            `json:"title"`
	Subtitle string            `json:"subtitle"`
	Tokens   []string          `json:"tokens"`
	Segments []EpisodeSegment  `json:"segments"`
	Target   int               `json:"target"`
	Scores   []viewerScores    `json:"scores"`
	Matrix   *viewerMatrix     `json:"matrix,omitempty"`
	Graph    *viewerGraph      `json:"graph,omitempty"`
	Stops    []string          `json:"stops"`
	Kinds    map[string]string `json:"kinds"`
}

type viewerScores struct {
	Name     string         `json:"name"`
	Unit     string         `json:"unit"`
	Values   []num          `json:"values"`
	Segments map[string]num `json:"segments"`
	Clip     float64        `json:"clip"`
}

type viewerMatrix struct {
	Sources []string `json:"sources"`
	Dests   []string `json:"dests"`
	Values  [][]num  `json:"values"`
	Unit    string   `json:"unit"`
}

type viewerGraph struct {
	Nodes []string     `json:"nodes"`
	Edges []viewerEdge `json:"edges"`
	Path  []string     `json:"path"`
}

type viewerEdge struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Weight num    `json:"weight"`
}

// check returns an error when the episode's parts do not fit together.
func (e *Episode) check() error {
	for i, s := range e.Scores {
		if len(s.Values) != len(e.Tokens) {
			return fmt.Errorf("heatmap: %w: score set %d (%s) has %d values for %d tokens", ErrShape, i, s.Name, len(s.Values), len(e.Tokens))
		}
	}
	last := 0
	for _, s := range e.Segments {
		if s.Start < last || s.End < s.Start || s.End > len(e.Tokens) {
			return fmt.Errorf("heatmap: %w: segment %s spans tokens [%d, %d) out of order or beyond the %d tokens", ErrShape, s.ID, s.Start, s.End, len(e.Tokens))
		}
		last = s.End
	}
	if m := e.Matrix; m != nil {
		if len(m.Values) != len(m.Dests) {
			return fmt.Errorf("heatmap: %w: matrix has %d rows for %d destinations", ErrShape, len(m.Values), len(m.Dests))
		}
		for i, r := range m.Values {
			if len(r) != len(m.Sources) {
				return fmt.Errorf("heatmap: %w: matrix row %d has %d values for %d sources", ErrShape, i, len(r), len(m.Sources))
			}
		}
	}
	return nil
}

// data converts the episode to the page's JSON, with each score set's clip settled.
func (e *Episode) data() viewerData {
	d := viewerData{Title: e.Title, Subtitle: e.Subtitle, Tokens: e.Tokens, Segments: e.Segments, Target: e.Target,
		Kinds: map[string]string{}}
	if d.Tokens == nil {
		d.Tokens = []string{}
	}
	if d.Segments == nil {
		d.Segments = []EpisodeSegment{}
	}
	for _, c := range divergingStops {
		d.Stops = append(d.Stops, hex(c))
	}
	for k, c := range kindColors {
		d.Kinds[k] = hex(c)
	}
	for _, s := range e.Scores {
		vs := viewerScores{Name: s.Name, Unit: s.Unit, Values: nums(s.Values), Clip: s.clip(), Segments: map[string]num{}}
		for _, seg := range e.Segments {
			if v, ok := s.Segments[seg.ID]; ok {
				vs.Segments[seg.ID] = num(v)
				continue
			}
			sum, any := 0.0, false
			for t := seg.Start; t < seg.End; t++ {
				if v := s.Values[t]; !math.IsNaN(v) {
					sum, any = sum+v, true
				}
			}
			if any {
				vs.Segments[seg.ID] = num(sum)
			}
		}
		d.Scores = append(d.Scores, vs)
	}
	if d.Scores == nil {
		d.Scores = []viewerScores{}
	}
	if m := e.Matrix; m != nil {
		vm := &viewerMatrix{Sources: m.Sources, Dests: m.Dests, Unit: m.Unit}
		for _, r := range m.Values {
			vm.Values = append(vm.Values, nums(r))
		}
		d.Matrix = vm
	}
	if g := e.Graph; g != nil {
		vg := &viewerGraph{Path: g.Path}
		for _, n := range g.Nodes {
			vg.Nodes = append(vg.Nodes, n.ID)
		}
		for _, ed := range g.Edges {
			vg.Edges = append(vg.Edges, viewerEdge{From: ed.From, To: ed.To, Weight: num(ed.Weight)})
		}
		d.Graph = vg
	}
	return d
}

// clip returns the set's full-colour |score|.
func (s ScoreSet) clip() float64 {
	if s.Clip > 0 {
		return s.Clip
	}
	var abs []float64
	for _, v := range s.Values {
		if a := math.Abs(v); a > 0 && !math.IsInf(a, 0) && !math.IsNaN(a) {
			abs = append(abs, a)
		}
	}
	if len(abs) == 0 {
		return 1
	}
	slices.Sort(abs)
	return abs[min(len(abs)-1, int(0.99*float64(len(abs))))]
}

// WriteViewer writes the episode viewer: one self-contained HTML page (script, style and font inline;
// nothing loaded from the network) showing the episode by segment with every token coloured by the
// chosen score set (a switcher), each token's value on hover, the target outlined, a search box, the
// colour bar and kind legend, and for the segment clicked its row and column of the segment matrix
// and its edges in the segment graph.
func WriteViewer(w io.Writer, e *Episode) error {
	if err := e.check(); err != nil {
		return err
	}
	js, err := json.Marshal(e.data())
	if err != nil {
		return fmt.Errorf("heatmap: viewer data: %w", err)
	}
	return viewerPage.Execute(w, struct {
		Title string
		Font  template.URL
		CSS   template.CSS
		JS    template.JS
		Data  template.JS
	}{e.Title, template.URL(viewerFont()), template.CSS(viewerCSS), template.JS(viewerJS), template.JS(js)})
}

var viewerPage = template.Must(template.New("viewer").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>@font-face{font-family:"AL Sans";src:url({{.Font}}) format("truetype");}
{{.CSS}}</style></head>
<body>
<header id="top"><div id="titles"><h1 id="title"></h1><div id="subtitle"></div></div>
<div id="controls"><label>colour by <select id="scores"></select></label>
<input id="search" type="search" placeholder="search the episode" autocomplete="off"><span id="hits"></span>
<button id="to-target" type="button">target</button></div>
<div id="legend"><div id="scale"><div id="bar"></div><div id="bar-labels"><span id="bar-lo"></span><span id="bar-unit"></span><span id="bar-hi"></span></div></div><div id="kinds"></div></div>
</header>
<main><nav id="side"><table id="segs"><thead><tr><th></th><th>segment</th><th id="seg-score-head">score</th></tr></thead><tbody></tbody></table></nav>
<section id="episode"></section>
<aside id="detail"><div id="detail-empty">Click a segment to see its row and column of the segment matrix and its edges in the graph.</div>
<div id="detail-body" hidden><h2 id="detail-title"></h2><div id="detail-label"></div>
<h3>its row: deleting it moves</h3><div id="row"></div>
<h3>its column: deleting these moves it</h3><div id="col"></div>
<h3>segment graph</h3><div id="graph"></div></div></aside></main>
<div id="tip" hidden></div>
<script id="data" type="application/json">{{.Data}}</script>
<script>{{.JS}}</script>
</body></html>
`))
