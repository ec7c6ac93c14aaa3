package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestETAProgress: on a terminal the line is redrawn in place with the count, elapsed time and the
// ETA at the rate so far (3 of 10 done in 30 s: 70 s left), and cleared at the end; off a terminal
// nothing at all is written, so logs and pipes stay clean.
func TestETAProgress(t *testing.T) {
	var b bytes.Buffer
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start.Add(30 * time.Second)
	p := &etaProgress{w: &b, on: true, what: "matrix: source segment", total: 10, start: start, now: func() time.Time { return now }}
	p.update(3, "")
	if got, want := b.String(), "\r\033[Kmatrix: source segment 3/10, 30s elapsed, ETA 1m10s"; got != want {
		t.Errorf("terminal line %q, want %q", got, want)
	}
	b.Reset()
	p.update(10, "")
	if b.String() != "\r\033[K" {
		t.Errorf("final update %q, want the line cleared", b.String())
	}
	b.Reset()
	off := &etaProgress{w: &b, on: false, what: "x", total: 2, start: start, now: func() time.Time { return now }}
	off.update(1, "extra")
	off.update(2, "")
	if b.Len() != 0 {
		t.Errorf("off a terminal it wrote %q", b.String())
	}
	if l := p.line(0, "warming up"); !strings.HasSuffix(l, "0/10, warming up") {
		t.Errorf("line before any step: %q", l)
	}
}
