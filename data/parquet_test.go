package data

import (
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.parquet written by Go (then run internal/reference/data/pyarrow_golden.py)")

// sampleSegments are the rows of testdata/segments.parquet: awkward values on purpose (unicode,
// empty strings, negative and tiny scores, int32 extremes).
func sampleSegments() []SegmentAttribution {
	return []SegmentAttribution{
		{EpisodeID: "bundled:blackmail", Model: "SmolLM2-135M-Instruct", Method: "grad_x_input", Metric: "log_prob",
			TargetToken: 4711, TargetSegment: "assistant[0].tool_call[0]", MetricValue: -0.125, SegmentID: "user[0].email[7]",
			SegmentKind: "email", Label: "from=marcus@example.com subject=Re: tonight ✉", TokenStart: 100, TokenEnd: 250,
			Tokens: 150, Score: -3.5, Magnitude: 12.25, Share: 0.5},
		{EpisodeID: "bundled:blackmail", Model: "SmolLM2-135M-Instruct", Method: "grad_x_input", Metric: "log_prob",
			TargetToken: 4711, TargetSegment: "assistant[0].tool_call[0]", MetricValue: -0.125, SegmentID: "system[0]",
			SegmentKind: "system", TokenStart: 0, TokenEnd: math.MaxInt32, Tokens: 0, Score: 1e-30, Magnitude: 0, Share: 0},
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	segs := sampleSegments()
	p := filepath.Join(dir, "segments.parquet")
	if err := Write(p, segs); err != nil {
		t.Fatal(err)
	}
	got, err := ReadAll[SegmentAttribution](p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range segs {
		segs[i].SchemaVersion = SchemaVersion
	}
	if !reflect.DeepEqual(got, segs) {
		t.Errorf("ReadAll = %+v, want %+v", got, segs)
	}

	// Many rows: more than one write batch and one read buffer.
	toks := make([]TokenAttribution, 10000)
	for i := range toks {
		toks[i] = TokenAttribution{EpisodeID: "e", Position: int32(i), TokenID: int32(i * 7), Text: strings.Repeat("x", i%5),
			SegmentID: []string{"template", "user[0].email[1]"}[i%2], Score: float64(i) / 3, Magnitude: math.Abs(math.Sin(float64(i)))}
	}
	p = filepath.Join(dir, "tokens.parquet")
	if err := Write(p, toks); err != nil {
		t.Fatal(err)
	}
	n := 0
	for r, err := range Read[TokenAttribution](p) {
		if err != nil {
			t.Fatal(err)
		}
		want := toks[n]
		want.SchemaVersion = SchemaVersion
		if r != want {
			t.Fatalf("row %d = %+v, want %+v", n, r, want)
		}
		n++
		if n == len(toks) {
			break
		}
	}
	if n != len(toks) {
		t.Errorf("read %d rows, want %d", n, len(toks))
	}
}

func TestWriteLeavesNoPartialFile(t *testing.T) {
	dir := t.TempDir()
	if err := Write(filepath.Join(dir, "missing", "x.parquet"), sampleSegments()); err == nil {
		t.Fatal("Write into a missing directory succeeded")
	}
	p := filepath.Join(dir, "x.parquet")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, sampleSegments()); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "x.parquet" {
		t.Errorf("directory holds %v, want only x.parquet (no temp files)", ents)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.parquet")
	os.WriteFile(garbage, []byte("PAR1 not really"), 0o644)
	seg := filepath.Join(dir, "segments.parquet")
	if err := Write(seg, sampleSegments()); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		read       func(string) error
		want       string
		is         error
	}{
		{"missing file", filepath.Join(dir, "nope.parquet"), readAs[TokenAttribution], "nope.parquet", os.ErrNotExist},
		{"not parquet", garbage, readAs[TokenAttribution], "garbage.parquet: not a parquet file", nil},
		{"other table", seg, readAs[TokenAttribution], "column target_id missing", ErrSchema},
		{"pyarrow wrong type", "testdata/tokens_badtype.pyarrow.parquet", readAs[TokenAttribution], "column position is", ErrSchema},
		{"future version", "testdata/tokens_v2.pyarrow.parquet", readAs[TokenAttribution], "row 0: schema_version 2", ErrSchemaVersion},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.read(c.path)
			if err == nil || !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
				t.Errorf("Read(%s) error = %v, want containing %q (is %v)", c.path, err, c.want, c.is)
			}
		})
	}
}

func readAs[T Row](path string) error {
	_, err := ReadAll[T](path)
	return err
}

// pyarrowView is what internal/reference/data/pyarrow_golden.py records of a Go-written file.
type pyarrowView struct {
	Columns []string          `json:"columns"`
	Types   map[string]string `json:"types"`
	Rows    []map[string]any  `json:"rows"`
}

// TestPyarrowReadsOurFile: pyarrow (an independent Parquet implementation) read testdata/segments.parquet,
// written by this package, and recorded its columns, Arrow types and values. The file must still be what
// Write produces for the sample rows, and pyarrow must have seen exactly those values.
func TestPyarrowReadsOurFile(t *testing.T) {
	golden := "testdata/segments.parquet"
	if *update {
		if err := Write(golden, sampleSegments()); err != nil {
			t.Fatal(err)
		}
	}
	fresh := filepath.Join(t.TempDir(), "s.parquet")
	if err := Write(fresh, sampleSegments()); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(golden)
	b, _ := os.ReadFile(fresh)
	if string(a) != string(b) {
		t.Fatalf("Write output differs from %s: rerun with -update and regenerate the pyarrow view", golden)
	}
	var v pyarrowView
	raw, err := os.ReadFile("testdata/segments.pyarrow.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if want := Columns[SegmentAttribution](); !reflect.DeepEqual(v.Columns, want) {
		t.Errorf("pyarrow columns %v, want %v", v.Columns, want)
	}
	wantTypes := map[string]string{"schema_version": "int32", "episode_id": "string",
		"token_start": "int32", "score": "double", "label": "string"}
	for col, typ := range wantTypes {
		if v.Types[col] != typ {
			t.Errorf("pyarrow type of %s = %s, want %s", col, v.Types[col], typ)
		}
	}
	want := sampleSegments()
	if len(v.Rows) != len(want) {
		t.Fatalf("pyarrow saw %d rows, want %d", len(v.Rows), len(want))
	}
	for i := range want {
		want[i].SchemaVersion = SchemaVersion
		if w := columnValues(want[i]); !reflect.DeepEqual(v.Rows[i], w) {
			t.Errorf("pyarrow row %d = %v, want %v", i, v.Rows[i], w)
		}
	}
}

// columnValues maps a row's parquet column names to its values as encoding/json decodes them
// (numbers as float64).
func columnValues(row any) map[string]any {
	out := map[string]any{}
	rv := reflect.ValueOf(row)
	for i := 0; i < rv.NumField(); i++ {
		name, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("parquet"), ",")
		switch f := rv.Field(i); f.Kind() {
		case reflect.Int32, reflect.Int64:
			out[name] = float64(f.Int())
		case reflect.Float64:
			out[name] = f.Float()
		case reflect.Slice: // list columns: JSON numbers
			l := make([]any, f.Len())
			for j := range l {
				l[j] = f.Index(j).Float()
			}
			out[name] = l
		default:
			out[name] = f.Interface()
		}
	}
	return out
}

// TestReadPyarrowFile reads a file pyarrow wrote with the tokens schema (pyarrow_golden.py).
func TestReadPyarrowFile(t *testing.T) {
	got, err := ReadAll[TokenAttribution]("testdata/tokens.pyarrow.parquet")
	if err != nil {
		t.Fatal(err)
	}
	want := []TokenAttribution{
		{SchemaVersion: 1, EpisodeID: "ep", Model: "m", Method: "grad_x_input", Metric: "log_prob", TargetToken: 9, TargetID: 42,
			Position: 0, TokenID: 1, Text: "<|im_start|>", SegmentID: "template", SegmentKind: "template", CharStart: 0, CharEnd: 12, Score: 0.5, Magnitude: 1.5},
		{SchemaVersion: 1, EpisodeID: "ep", Model: "m", Method: "grad_x_input", Metric: "log_prob", TargetToken: 9, TargetID: 42,
			Position: 1, TokenID: 9690, Text: "système", SegmentID: "system[0]", SegmentKind: "system", CharStart: 12, CharEnd: 20, Score: -2, Magnitude: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadAll = %+v, want %+v", got, want)
	}
}
