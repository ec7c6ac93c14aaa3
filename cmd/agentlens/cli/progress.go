package cli

import (
	"fmt"
	"io"
	"time"
)

// etaProgress redraws one status line on a terminal: what is done of how many, the rate and the time
// left at that rate. It prints nothing when the stream is not a terminal.
type etaProgress struct {
	w     io.Writer
	on    bool
	what  string
	total int
	start time.Time
	now   func() time.Time
}

func newETAProgress(io *IOStreams, what string, total int) *etaProgress {
	return &etaProgress{w: io.ErrOut, on: io.StderrTTY, what: what, total: total, start: time.Now(), now: time.Now}
}

// line returns the status text after done of total, with extra appended.
func (p *etaProgress) line(done int, extra string) string {
	el := p.now().Sub(p.start)
	s := fmt.Sprintf("%s %d/%d", p.what, done, p.total)
	if done > 0 && done < p.total {
		left := time.Duration(float64(el) / float64(done) * float64(p.total-done))
		s += fmt.Sprintf(", %s elapsed, ETA %s", el.Round(time.Second), left.Round(time.Second))
	}
	if extra != "" {
		s += ", " + extra
	}
	return s
}

// update redraws the line; done == total clears it.
func (p *etaProgress) update(done int, extra string) {
	if !p.on {
		return
	}
	if done >= p.total {
		p.clear()
		return
	}
	fmt.Fprintf(p.w, "\r\033[K%s", p.line(done, extra))
}

// clear erases the line (on a terminal), e.g. before printing a line of output under it.
func (p *etaProgress) clear() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
