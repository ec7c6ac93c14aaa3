package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/internal/bench"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	readme := write("README.md", "# Speed\n\n<!-- bench:begin amd-avx2 -->\nold\n<!-- bench:end amd-avx2 -->\n\nProse.\n")
	xla := write("bench-xla.md", "xla table\n")
	gob := write("bench-go.md", "go table\n\n")

	var stderr bytes.Buffer
	if err := run([]string{"-readme", readme, "-key", "intel-avx512", "-label", "Intel Xeon, AVX-512", xla, gob}, &stderr); err != nil {
		t.Fatalf("run: %v", err)
	}
	want := "# Speed\n\n<!-- bench:begin amd-avx2 -->\nold\n<!-- bench:end amd-avx2 -->\n\n" +
		"<!-- bench:begin intel-avx512 -->\n**Intel Xeon, AVX-512**\n\nxla table\n\ngo table\n<!-- bench:end intel-avx512 -->\n\nProse.\n"
	if got, _ := os.ReadFile(readme); string(got) != want {
		t.Errorf("README.md =\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(stderr.String(), "block intel-avx512") {
		t.Errorf("stderr = %q, want it to name the block", stderr.String())
	}

	// Without -key the block is this machine's CPU kind.
	key, label := bench.CPUKind()
	if err := run([]string{"-readme", readme, xla}, &stderr); err != nil {
		t.Fatalf("run: %v", err)
	}
	got, _ := os.ReadFile(readme)
	if block := "<!-- bench:begin " + key + " -->\n**" + label + "**\n\nxla table\n<!-- bench:end " + key + " -->\n"; !strings.Contains(string(got), block) {
		t.Errorf("README.md =\n%s\nwant it to hold\n%s", got, block)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	readme := filepath.Join(dir, "README.md")
	if err := os.WriteFile(readme, []byte("<!-- bench:begin -->\nold\n<!-- bench:end -->\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	table := filepath.Join(dir, "t.md")
	if err := os.WriteFile(table, []byte("T\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.md")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		usage bool
		want  string // a substring of the error
	}{
		{"no tables", []string{"-readme", readme}, true, "no table files"},
		{"key without label", []string{"-readme", readme, "-key", "a", table}, true, "-key a needs -label"},
		{"bad flag", []string{"-nope", table}, true, "-nope"},
		{"missing table", []string{"-readme", readme, filepath.Join(dir, "missing.md")}, false, "missing.md"},
		{"empty table", []string{"-readme", readme, empty}, false, "table " + empty + ": empty"},
		{"missing readme", []string{"-readme", filepath.Join(dir, "NOPE.md"), table}, false, "NOPE.md"},
		{"unkeyed readme", []string{"-readme", readme, "-key", "a", "-label", "L", table}, false, readme + ": bad bench table markers: line 1: unkeyed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(tt.args, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
			if got := errors.Is(err, errUsage); got != tt.usage {
				t.Errorf("run(%q) = %v: usage error %v, want %v", tt.args, err, got, tt.usage)
			}
		})
	}
}
