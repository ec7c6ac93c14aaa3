package heatmap

import (
	"fmt"
	"html/template"
	"io"
	"math"
)

// WriteHTML writes a self-contained HTML page (inline CSS and script, no external resources): the
// episode's tokens coloured by score, with position, score and segment on hover, the target token
// outlined, and the segments listed with their shares; clicking a segment highlights its tokens.
func WriteHTML(w io.Writer, f *Figure) error {
	clip := f.clip()
	type tok struct {
		Text, Color, Title string
		Seg                int
		Target             bool
	}
	type seg struct {
		Segment
		Index        int
		Color, Bar   string
		Percent, Eff string
	}
	meaning, shareLabel := f.ScoreMeaning, f.ShareLabel
	if meaning == "" {
		meaning = "red raises the target, blue lowers it"
	}
	if shareLabel == "" {
		shareLabel = "share"
	}
	page := struct {
		Title, Subtitle, Legend, ShareLabel string
		Tokens                              []tok
		Segments                            []seg
		HasEffect                           bool
	}{Title: f.Title, Subtitle: f.Subtitle, ShareLabel: shareLabel,
		Legend: fmt.Sprintf("colour scale clipped at |score| = %.3g (%s)", clip, meaning)}
	for i, t := range f.Tokens {
		segName := ""
		if t.Segment >= 0 && t.Segment < len(f.Segments) {
			segName = f.Segments[t.Segment].ID
		}
		page.Tokens = append(page.Tokens, tok{Text: t.Text, Color: Color(t.Score, clip), Seg: t.Segment, Target: i == f.Target,
			Title: fmt.Sprintf("#%d %q score %.4g %s", i, t.Text, t.Score, segName)})
	}
	maxShare := 0.0
	for _, s := range f.Segments {
		maxShare = math.Max(maxShare, s.Share)
	}
	for i, s := range f.Segments {
		bar := 0.0
		if maxShare > 0 {
			bar = 100 * s.Share / maxShare
		}
		e := ""
		if s.HasEffect {
			page.HasEffect = true
			e = fmt.Sprintf("%+.3f", s.Effect)
		}
		page.Segments = append(page.Segments, seg{Segment: s, Index: i, Color: Color(math.Copysign(1, s.Score), 1),
			Bar: fmt.Sprintf("%.1f%%", bar), Percent: fmt.Sprintf("%.1f%%", 100*s.Share), Eff: e})
	}
	return pageTemplate.Execute(w, page)
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font-family:Helvetica,Arial,sans-serif;margin:0;display:flex;height:100vh}
#side{width:38%;overflow:auto;border-right:1px solid #ccc;padding:12px;box-sizing:border-box}
#text{flex:1;overflow:auto;padding:12px;font-family:Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;line-height:1.6}
h1{font-size:16px;margin:0 0 4px} .sub{color:#555;font-size:12px;margin-bottom:8px}
table{border-collapse:collapse;font-size:11px;width:100%} td{padding:2px 4px;vertical-align:top}
tr.s{cursor:pointer} tr.s:hover,tr.on{background:#ffe9a8}
.bar{height:10px;display:inline-block} .t{border-radius:2px}
.target{outline:2px solid #000} .dim{opacity:.25}
</style></head><body>
<div id="side"><h1>{{.Title}}</h1><div class="sub">{{.Subtitle}}<br>{{.Legend}}</div>
<table><tr><th align="left">segment</th><th align="left">{{.ShareLabel}}</th>{{if .HasEffect}}<th>ablation</th>{{end}}</tr>
{{range .Segments}}<tr class="s" data-s="{{.Index}}"><td><b>{{.ID}}</b> <i>{{.Kind}}</i><br>{{.Label}}</td>
<td><span class="bar" style="width:{{.Bar}};background:{{.Color}}"></span> {{.Percent}}</td>{{if $.HasEffect}}<td>{{.Eff}}</td>{{end}}</tr>
{{end}}</table></div>
<div id="text">{{range .Tokens}}<span class="t{{if .Target}} target{{end}}" data-s="{{.Seg}}" style="background:{{.Color}}" title="{{.Title}}">{{.Text}}</span>{{end}}</div>
<script>
(function(){var on=null,rows=document.querySelectorAll('tr.s'),toks=document.querySelectorAll('span.t');
rows.forEach(function(r){r.onclick=function(){var s=r.dataset.s;on=(on===s)?null:s;
rows.forEach(function(x){x.classList.toggle('on',x.dataset.s===on)});
var first=null;toks.forEach(function(t){var m=on===null||t.dataset.s===on;t.classList.toggle('dim',!m);if(m&&on!==null&&!first)first=t});
if(first)first.scrollIntoView({block:'center'})}})})();
</script></body></html>
`))
