package trace

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteSegments prints one line per rendered segment: id, kind, char span, token span ("-" when rendered
// without a tokenizer), whether it was found, its origin (Segment.Origin; "-" for base-kind text and
// template segments), and the start of its text.
func WriteSegments(w io.Writer, r *Rendered) error {
	origins := map[string]Origin{}
	if r.Episode != nil {
		for _, s := range r.Episode.Segments() {
			origins[s.ID] = s.Origin
		}
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	if len(r.IDs) > 0 {
		fmt.Fprintf(tw, "# episode %s: %d bytes, %d tokens, %d segments\n", r.Episode.ID, len(r.Text), len(r.IDs), len(r.Segments))
	} else {
		fmt.Fprintf(tw, "# episode %s: %d bytes, %d segments\n", r.Episode.ID, len(r.Text), len(r.Segments))
	}
	fmt.Fprintln(tw, "ID\tKIND\tCHARS\tTOKENS\tFOUND\tORIGIN\tTEXT")
	for _, s := range r.Segments {
		tokens := "-"
		if len(r.IDs) > 0 {
			tokens = fmt.Sprintf("[%d,%d)", s.Tokens.Start, s.Tokens.End)
		}
		fmt.Fprintf(tw, "%s\t%s\t[%d,%d)\t%s\t%v\t%s\t%s\n", s.ID, s.Kind, s.Char.Start, s.Char.End, tokens,
			s.Found, originText(origins[s.ID]), preview(r.Text[s.Char.Start:s.Char.End], 48))
	}
	return tw.Flush()
}

// WriteEpisode prints an episode's labels and one line per segment: id, kind, message part, byte span
// within it, origin (Segment.Origin: tag, structured, header, json, markdown, file-read, rule[N]; "-" for
// base-kind text) and a short description: the segment's Label ("label=…") when it has one, else an
// email's sender and subject, a tool call's name and recipient, or the start of its text.
func WriteEpisode(w io.Writer, ep *Episode) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "# %s\n", ep.Summary())
	fmt.Fprintln(tw, "ID\tKIND\tPART\tSPAN\tORIGIN\tDETAIL")
	for _, s := range ep.Segments() {
		detail := preview(ep.Text(s), 48)
		switch {
		case s.Label != "":
			detail = "label=" + preview(s.Label, 48)
		case s.Email != nil:
			detail = fmt.Sprintf("from=%s subject=%s", s.Email.From, preview(s.Email.Subject, 40))
		case s.Tool != nil:
			detail = "name=" + s.Tool.Name
			if to := ArgString(s.Tool.Arguments, "to"); to != "" {
				detail += " to=" + to
			}
		case s.Error:
			detail = "error: " + detail
		case s.Redacted:
			detail = "redacted: " + detail
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t[%d,%d)\t%s\t%s\n", s.ID, s.Kind, s.Part, s.Start, s.End, originText(s.Origin), detail)
	}
	return tw.Flush()
}

// originText is an origin for a table column: "-" for none.
func originText(o Origin) string {
	if o == "" {
		return "-"
	}
	return string(o)
}

func preview(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", `\n`)
	s = strings.ReplaceAll(s, "\t", `\t`)
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
