package bench

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSpliceTables(t *testing.T) {
	const body = "| a | b |\n| --- | --- |\n| 1 | 2 |\n"
	tests := []struct {
		name, readme, key, label string
		body                     string // empty: body
		want                     string
	}{
		{
			name:   "replace",
			readme: "# Speed\n\n<!-- bench:begin amd-avx2 -->\nold table\n<!-- bench:end amd-avx2 -->\n\nProse.\n",
			key:    "amd-avx2", label: "AMD EPYC, AVX2 (no AVX-512)",
			want: "# Speed\n\n<!-- bench:begin amd-avx2 -->\n**AMD EPYC, AVX2 (no AVX-512)**\n\n" + body +
				"<!-- bench:end amd-avx2 -->\n\nProse.\n",
		},
		{
			name:   "replace empty block",
			readme: "<!-- bench:begin amd-avx2 -->\n<!-- bench:end amd-avx2 -->\n",
			key:    "amd-avx2", label: "L",
			want: "<!-- bench:begin amd-avx2 -->\n**L**\n\n" + body + "<!-- bench:end amd-avx2 -->\n",
		},
		{
			name: "replace the middle block only",
			readme: "<!-- bench:begin a -->\nA\n<!-- bench:end a -->\n\n<!-- bench:begin b -->\nB\n<!-- bench:end b -->\n" +
				"<!-- bench:begin c -->\nC\n<!-- bench:end c -->\n",
			key: "b", label: "L",
			want: "<!-- bench:begin a -->\nA\n<!-- bench:end a -->\n\n<!-- bench:begin b -->\n**L**\n\n" + body +
				"<!-- bench:end b -->\n<!-- bench:begin c -->\nC\n<!-- bench:end c -->\n",
		},
		{
			name:   "insert after the last block",
			readme: "x\n<!-- bench:begin amd-avx2 -->\nA\n<!-- bench:end amd-avx2 -->\n\nProse.\n",
			key:    "intel-avx512", label: "Intel Xeon, AVX-512 (avx512f/bw/dq/vl)",
			want: "x\n<!-- bench:begin amd-avx2 -->\nA\n<!-- bench:end amd-avx2 -->\n\n" +
				"<!-- bench:begin intel-avx512 -->\n**Intel Xeon, AVX-512 (avx512f/bw/dq/vl)**\n\n" + body +
				"<!-- bench:end intel-avx512 -->\n\nProse.\n",
		},
		{
			name:   "insert after an end marker at the end of the file without a newline",
			readme: "<!-- bench:begin a -->\nA\n<!-- bench:end a -->",
			key:    "b", label: "L",
			want: "<!-- bench:begin a -->\nA\n<!-- bench:end a -->\n\n<!-- bench:begin b -->\n**L**\n\n" + body +
				"<!-- bench:end b -->\n",
		},
		{
			name:   "body with several final newlines",
			readme: "<!-- bench:begin a -->\n<!-- bench:end a -->\n",
			key:    "a", label: "L", body: body + "\n\n",
			want: "<!-- bench:begin a -->\n**L**\n\n" + body + "<!-- bench:end a -->\n",
		},
		{
			name:   "body without a final newline",
			readme: "<!-- bench:begin a -->\n<!-- bench:end a -->\n",
			key:    "a", label: "L", body: strings.TrimSuffix(body, "\n"),
			want: "<!-- bench:begin a -->\n**L**\n\n" + body + "<!-- bench:end a -->\n",
		},
		{
			name:   "markers in prose are not markers",
			readme: "Use `<!-- bench:begin KEY -->` lines.\n<!-- bench:begin a -->\nA\n<!-- bench:end a -->\n",
			key:    "a", label: "L",
			want: "Use `<!-- bench:begin KEY -->` lines.\n<!-- bench:begin a -->\n**L**\n\n" + body + "<!-- bench:end a -->\n",
		},
		{
			name:   "crlf lines",
			readme: "x\r\n<!-- bench:begin a -->\r\nA\r\n<!-- bench:end a -->\r\ny\r\n",
			key:    "a", label: "L",
			want: "x\r\n<!-- bench:begin a -->\r\n**L**\n\n" + body + "<!-- bench:end a -->\r\ny\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(body)
			if tt.body != "" {
				b = []byte(tt.body)
			}
			got, err := SpliceTables([]byte(tt.readme), tt.key, tt.label, b)
			if err != nil {
				t.Fatalf("SpliceTables: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("SpliceTables =\n%s\nwant\n%s", got, tt.want)
			}
			// Splicing the same table again changes nothing.
			again, err := SpliceTables(got, tt.key, tt.label, b)
			if err != nil {
				t.Fatalf("SpliceTables again: %v", err)
			}
			if !bytes.Equal(again, got) {
				t.Errorf("SpliceTables again =\n%s\nwant\n%s", again, got)
			}
		})
	}
}

func TestSpliceTablesErrors(t *testing.T) {
	tests := []struct {
		name, readme, key, label string
		want                     string // a substring of the error
	}{
		{"no block", "# Speed\n\nNo tables.\n", "a", "L",
			"no <!-- bench:begin KEY --> … <!-- bench:end KEY --> block found"},
		{"begin without end", "<!-- bench:begin a -->\nA\n", "a", "L",
			"line 1: <!-- bench:begin a --> has no <!-- bench:end a -->"},
		{"end without begin", "A\n<!-- bench:end a -->\n", "a", "L",
			"line 2: <!-- bench:end a --> without <!-- bench:begin a -->"},
		{"duplicated key", "<!-- bench:begin a -->\n<!-- bench:end a -->\n<!-- bench:begin a -->\n<!-- bench:end a -->\n", "a", "L",
			"line 3: second <!-- bench:begin a --> (the first is at line 1)"},
		{"duplicated key, splicing another", "<!-- bench:begin a -->\n<!-- bench:end a -->\n<!-- bench:begin a -->\n<!-- bench:end a -->\n", "b", "L",
			"line 3: second <!-- bench:begin a -->"},
		{"nested", "<!-- bench:begin a -->\n<!-- bench:begin b -->\n<!-- bench:end b -->\n<!-- bench:end a -->\n", "a", "L",
			"line 2: <!-- bench:begin b --> nested inside <!-- bench:begin a --> (line 1)"},
		{"crossed ends", "<!-- bench:begin a -->\n<!-- bench:end b -->\n", "a", "L",
			"line 2: <!-- bench:end b --> inside <!-- bench:begin a --> (line 1), which has no <!-- bench:end a --> before it"},
		{"legacy unkeyed block", "<!-- bench:begin -->\nold\n<!-- bench:end -->\n", "a", "L",
			"line 1: unkeyed <!-- bench:begin -->: convert the block to <!-- bench:begin KEY --> … <!-- bench:end KEY -->"},
		{"legacy unkeyed block beside a keyed one", "<!-- bench:begin a -->\n<!-- bench:end a -->\n<!-- bench:begin -->\nold\n<!-- bench:end -->\n", "a", "L",
			"line 3: unkeyed <!-- bench:begin -->"},
		{"legacy unkeyed end inside a keyed block", "<!-- bench:begin a -->\n<!-- bench:end -->\n", "a", "L",
			"line 2: unkeyed <!-- bench:end -->"},
		{"malformed marker", "<!-- bench:begin a -->\n<!-- bench:end a\n", "a", "L",
			`line 2: "<!-- bench:end a" is not a marker`},
		{"bad key in readme", "<!-- bench:begin A! -->\n<!-- bench:end A! -->\n", "a", "L",
			`line 1: bad key "A!"`},
		{"bad key argument", "<!-- bench:begin a -->\n<!-- bench:end a -->\n", "a -->", "L",
			`bad key "a -->"`},
		{"empty label", "<!-- bench:begin a -->\n<!-- bench:end a -->\n", "a", "",
			`label "" must be one non-empty line`},
		{"label of two lines", "<!-- bench:begin a -->\n<!-- bench:end a -->\n", "a", "L\nM",
			`label "L\nM" must be one non-empty line`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SpliceTables([]byte(tt.readme), tt.key, tt.label, []byte("T\n"))
			if err == nil {
				t.Fatalf("SpliceTables = %q, nil, want an error containing %q", got, tt.want)
			}
			if !errors.Is(err, ErrMarkers) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("SpliceTables error = %q, want ErrMarkers containing %q", err, tt.want)
			}
		})
	}
}

func TestSpliceTablesFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "README.md")
	if err := os.WriteFile(p, []byte("<!-- bench:begin a -->\nA\n<!-- bench:end a -->\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SpliceTablesFile(p, "a", "L", []byte("T\n")); err != nil {
		t.Fatalf("SpliceTablesFile: %v", err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := "<!-- bench:begin a -->\n**L**\n\nT\n<!-- bench:end a -->\n"; string(got) != want {
		t.Errorf("README.md = %q, want %q", got, want)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("README.md mode = %v (%v), want -rw-r--r--", fi.Mode(), err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries after the rename, want 1 (no temporary file left)", len(ents))
	}

	// A bad readme is left as it was, and the error names it.
	bad := []byte("<!-- bench:begin -->\nold\n<!-- bench:end -->\n")
	if err := os.WriteFile(p, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	err = SpliceTablesFile(p, "a", "L", []byte("T\n"))
	if err == nil || !strings.Contains(err.Error(), p) || !errors.Is(err, ErrMarkers) {
		t.Errorf("SpliceTablesFile(unkeyed) = %v, want ErrMarkers naming %s", err, p)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, bad) {
		t.Errorf("README.md after a failed splice = %q, want it unchanged", got)
	}
	if err := SpliceTablesFile(filepath.Join(dir, "missing.md"), "a", "L", nil); err == nil || !strings.Contains(err.Error(), "missing.md") {
		t.Errorf("SpliceTablesFile(missing) = %v, want an error naming missing.md", err)
	}
}
