package trace

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteSegments prints one line per rendered segment: id, kind, char span, token span ("-" when rendered
// without a tokenizer), whether it was found, and the start of its text.
func WriteSegments(w io.Writer, r *Rendered) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	if len(r.IDs) > 0 {
		fmt.Fprintf(tw, "# episode %s: %d bytes, %d tokens, %d segments\n", r.Episode.ID, len(r.Text), len(r.IDs), len(r.Segments))
	} else {
		fmt.Fprintf(tw, "# episode %s: %d bytes, %d segments\n", r.Episode.ID, len(r.Text), len(r.Segments))
	}
	fmt.Fprintln(tw, "ID\tKIND\tCHARS\tTOKENS\tFOUND\tTEXT")
	for _, s := range r.Segments {
		tokens := "-"
		if len(r.IDs) > 0 {
			tokens = fmt.Sprintf("[%d,%d)", s.Tokens.Start, s.Tokens.End)
		}
		fmt.Fprintf(tw, "%s\t%s\t[%d,%d)\t%s\t%v\t%s\n", s.ID, s.Kind, s.Char.Start, s.Char.End, tokens,
			s.Found, preview(r.Text[s.Char.Start:s.Char.End], 48))
	}
	return tw.Flush()
}

// WriteEpisode prints an episode's labels and one line per segment: id, kind, byte span within its
// message part, and a short description (email sender and subject, tool name and recipient).
func WriteEpisode(w io.Writer, ep *Episode) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "# %s\n", ep.Summary())
	fmt.Fprintln(tw, "ID\tKIND\tPART\tSPAN\tDETAIL")
	for _, s := range ep.Segments() {
		detail := preview(ep.Text(s), 48)
		switch {
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t[%d,%d)\t%s\n", s.ID, s.Kind, s.Part, s.Start, s.End, detail)
	}
	return tw.Flush()
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
