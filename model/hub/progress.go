package hub

import (
	"fmt"
	"io"
	"time"
)

// progress writes a carriage-return updated "label  12.3/45.6 MiB  27%" line to w at most every
// 200 ms. A nil w makes every method a no-op.
type progress struct {
	w     io.Writer
	label string
	total int64
	n     int64
	last  time.Time
}

func newProgress(w io.Writer, label string, total int64) *progress {
	return &progress{w: w, label: label, total: total}
}

// Write counts p and never fails.
func (p *progress) Write(b []byte) (int, error) {
	if p.w == nil {
		return len(b), nil
	}
	p.n += int64(len(b))
	if now := time.Now(); now.Sub(p.last) >= 200*time.Millisecond {
		p.last = now
		p.print()
	}
	return len(b), nil
}

func (p *progress) print() {
	const mib = 1 << 20
	pct := 100
	if p.total > 0 {
		pct = int(p.n * 100 / p.total)
	}
	fmt.Fprintf(p.w, "\r%s  %.1f/%.1f MiB  %3d%%", p.label, float64(p.n)/mib, float64(p.total)/mib, pct)
}

// finish prints the final state and ends the line.
func (p *progress) finish(ok bool) {
	if p.w == nil {
		return
	}
	p.print()
	if ok {
		fmt.Fprintln(p.w)
	} else {
		fmt.Fprintln(p.w, "  failed")
	}
}
