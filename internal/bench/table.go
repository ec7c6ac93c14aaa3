package bench

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/agentlens/agentlens/model"
)

// TableHeader lists the columns of the Markdown table WriteTable prints.
var TableHeader = []string{"job", "backend", "tokens", "agentlens s", "cpu s", "compile s", "tok/s", "peak RSS",
	"torch s", "torch cpu s", "torch RSS", "ratio", "cpu ratio"}

// WriteTable writes the report as Markdown: a line describing the setup, one table row per job, and
// numbered notes for failures. "s" columns are wall-clock seconds of the timed run and "cpu s" its CPU
// seconds (all threads); "ratio" is agentlens seconds over torch seconds (above 1: agentlens is
// slower) and "cpu ratio" the same for CPU seconds; "compile s" is the warm-up time minus the timed
// time; tok/s is the job's Work over the wall-clock seconds. With several rounds the seconds are each
// engine's median round, the ratios the median of the rounds' ratios with their range in brackets.
func WriteTable(w io.Writer, rep *Report) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Model `%s`; %d threads; agentlens backend %s; torch: %s.\n", rep.Model, rep.Threads, orDash(rep.Backend), orDash(rep.Torch))
	warm := "after one untimed warm-up run"
	if !rep.Warmup {
		warm = "without warm-up (compile time included)"
	}
	if rep.Rounds > 1 {
		warm += fmt.Sprintf("; %d rounds per job, the engines taking turns to go first: each engine's median round, "+
			"and ratios as the median of the rounds' ratios [smallest–largest]", rep.Rounds)
	}
	fmt.Fprintf(&b, "Machine: %s. Synthetic tokens (seed %#x); timings %s.\n\n", orDash(rep.Machine), rep.Seed, warm)
	writeHeader(&b, TableHeader)
	var notes []string
	note := func(what string, m *Measurement) string {
		notes = append(notes, fmt.Sprintf("[%d] %s %s: %s", len(notes)+1, what, m.Engine, oneLine(m.Error)))
		return fmt.Sprintf("failed [%d]", len(notes))
	}
	torchNoteShown := false
	for _, r := range rep.Rows {
		a := &r.Agentlens
		cells := []string{string(r.Job.Kind), orDash(a.Backend), fmt.Sprint(r.Job.Tokens)}
		if a.OK() {
			compile := "–"
			if rep.Warmup {
				compile = formatSeconds(a.CompileSeconds)
			}
			cells = append(cells, formatSeconds(a.Seconds), formatCPU(a.CPUSeconds), compile,
				fmt.Sprintf("%.0f", a.TokensPerSecond(r.Job)), formatBytes(a.PeakRSS))
		} else {
			cells = append(cells, note(r.Job.String(), a), "–", "–", "–", formatBytes(a.PeakRSS))
		}
		t := r.Torch
		switch {
		case t == nil:
			cells = append(cells, "–", "–", "–", "–", "–")
		case t.Unavailable:
			if !torchNoteShown {
				notes = append(notes, fmt.Sprintf("[%d] torch reference unavailable: %s", len(notes)+1, oneLine(t.Error)))
				torchNoteShown = true
			}
			cells = append(cells, "n/a", "n/a", "n/a", "–", "–")
		case !t.OK():
			cells = append(cells, note(r.Job.String(), t), "–", formatBytes(t.PeakRSS), "–", "–")
		default:
			ratio, cpuRatio := formatRatio(r.Ratio()), formatRatio(r.CPURatio())
			cells = append(cells, formatSeconds(t.Seconds), formatCPU(t.CPUSeconds), formatBytes(t.PeakRSS), ratio, cpuRatio)
		}
		writeRow(&b, cells)
	}
	var gf []string
	for _, r := range rep.Rows {
		f := r.Job.FLOPs()
		if f == 0 || !r.Agentlens.OK() || r.Agentlens.Seconds <= 0 {
			continue
		}
		line := fmt.Sprintf("%s: agentlens %.1f GFLOP/s", r.Job, f/r.Agentlens.Seconds/1e9)
		if ratio, ok := r.Ratio(); ok {
			line += fmt.Sprintf(", torch.matmul (tuned sgemm) %.1f GFLOP/s: %.0f%% of it", f/r.Torch.Seconds/1e9, 100/ratio.Median)
		}
		gf = append(gf, line)
	}
	if len(gf) > 0 {
		b.WriteString("\nAchieved matmul throughput, " + strings.Join(gf, "; ") + ".\n")
	}
	writeBreakdown(&b, rep)
	var checks []string
	for _, r := range rep.Rows {
		a, t := &r.Agentlens, r.Torch
		if !a.OK() || a.Check == 0 || t == nil || !t.OK() {
			continue
		}
		checks = append(checks, fmt.Sprintf("%s %.5g against %.5g (%.2g relative)", r.Job, a.Check, t.Check,
			math.Abs(a.Check-t.Check)/max(math.Abs(a.Check), math.Abs(t.Check))))
	}
	if len(checks) > 0 {
		b.WriteString("\nSame work in both engines (the sum of the results: matrix effects, AtP estimates, patched changes in log p; agentlens against torch): " +
			strings.Join(checks, "; ") + ".\n")
	}
	if len(notes) > 0 {
		b.WriteString("\n")
		for _, n := range notes {
			b.WriteString(n + "\n")
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeBreakdown writes where agentlens's timed runs spent their time (Measurement.Phases): per job,
// the seconds of each phase that any job entered and the rest, with their shares of the run.
func writeBreakdown(b *bytes.Buffer, rep *Report) {
	seen := map[string]bool{}
	for _, r := range rep.Rows {
		if r.Agentlens.OK() {
			for _, ph := range r.Agentlens.Phases {
				seen[ph.Phase] = true
			}
		}
	}
	var cols []string
	for _, name := range model.PhaseNames() {
		if seen[name] {
			cols = append(cols, name)
		}
	}
	if len(cols) == 0 {
		return
	}
	b.WriteString("\nWhere agentlens's timed runs went (wall-clock seconds, share of the run and, where measured, the cores kept busy: CPU seconds over wall-clock seconds; \"rest\" is what no phase covers: argument set-up, masks, batching, the job's own work):\n\n")
	writeHeader(b, append(append([]string{"job", "backend", "tokens"}, cols...), "rest"))
	for _, r := range rep.Rows {
		a := &r.Agentlens
		if !a.OK() || len(a.Phases) == 0 || a.Seconds <= 0 {
			continue
		}
		by, byCPU := map[string]float64{}, map[string]float64{}
		sum, sumCPU := 0.0, 0.0
		for _, ph := range a.Phases {
			by[ph.Phase] += ph.Seconds
			byCPU[ph.Phase] += ph.CPUSeconds
			sum += ph.Seconds
			sumCPU += ph.CPUSeconds
		}
		share := func(s, cpu float64) string {
			cell := fmt.Sprintf("%s (%.0f%%", formatSeconds(s), 100*s/a.Seconds)
			if cpu > 0 && s > 0 {
				cell += fmt.Sprintf(", %.1f cores", cpu/s)
			}
			return cell + ")"
		}
		cells := []string{string(r.Job.Kind), orDash(a.Backend), fmt.Sprint(r.Job.Tokens)}
		for _, c := range cols {
			if s, ok := by[c]; ok {
				cells = append(cells, share(s, byCPU[c]))
			} else {
				cells = append(cells, "–")
			}
		}
		restCPU := 0.0
		if sumCPU > 0 {
			restCPU = max(0, a.CPUSeconds-sumCPU)
		}
		writeRow(b, append(cells, share(max(0, a.Seconds-sum), restCPU)))
	}
}

// WriteFile writes the WriteTable output to path through a temporary file and a rename.
func WriteFile(path string, rep *Report) error {
	var b bytes.Buffer
	if err := WriteTable(&b, rep); err != nil {
		return err
	}
	return writeFileAtomic(path, b.Bytes())
}

// writeHeader writes a table's header row and its alignment row: the first two columns (job,
// backend) left-aligned, the numbers right-aligned.
func writeHeader(b *bytes.Buffer, header []string) {
	writeRow(b, header)
	align := make([]string, len(header))
	for i := range align {
		align[i] = "--:"
		if i < 2 {
			align[i] = "---"
		}
	}
	writeRow(b, align)
}

func writeRow(b *bytes.Buffer, cells []string) {
	b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
}

// oneLine flattens s for a Markdown line (no newlines, no pipes).
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", "/")
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return oneLine(s)
}

// formatSeconds prints three significant digits for small values, whole seconds above 100.
func formatSeconds(s float64) string {
	switch {
	case s >= 100:
		return fmt.Sprintf("%.0f", s)
	case s >= 10:
		return fmt.Sprintf("%.1f", s)
	case s >= 1:
		return fmt.Sprintf("%.2f", s)
	default:
		return fmt.Sprintf("%.3f", s)
	}
}

// formatCPU is formatSeconds with 0 (unknown) as a dash.
func formatCPU(s float64) string {
	if s <= 0 {
		return "–"
	}
	return formatSeconds(s)
}

// formatRatio formats a ratio cell: "1.04×", or "1.04× [0.98–1.10]" over several rounds; "–" without one.
func formatRatio(s Spread, ok bool) string {
	switch {
	case !ok:
		return "–"
	case s.N > 1:
		return fmt.Sprintf("%.2f× [%.2f–%.2f]", s.Median, s.Min, s.Max)
	}
	return fmt.Sprintf("%.2f×", s.Median)
}

// formatBytes prints n as MiB below 1 GiB and GiB above; 0 (unknown) as a dash.
func formatBytes(n int64) string {
	switch {
	case n <= 0:
		return "–"
	case n < 1<<30:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	}
}
