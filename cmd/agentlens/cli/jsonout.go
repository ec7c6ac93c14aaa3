package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"

	"github.com/spf13/cobra"
)

// jsonOutput is embedded in the options of a command with --json: set, the command's tables go
// nowhere and it prints one JSON summary on stdout instead.
type jsonOutput struct {
	JSON bool
	out  io.Writer // the real stdout while the tables are discarded
}

func (j *jsonOutput) addJSONFlag(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&j.JSON, "json", false, "print a JSON summary instead of the tables")
}

// quiet points *streams at a copy whose stdout discards, when --json is set, and keeps the real one.
func (j *jsonOutput) quiet(streams **IOStreams) {
	if !j.JSON || *streams == nil {
		return
	}
	s := **streams
	j.out, s.Out = s.Out, io.Discard
	*streams = &s
}

// print writes v as indented JSON to the real stdout.
func (j *jsonOutput) print(v any) error {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(j.out, "%s\n", js)
	return err
}

// tableJSON returns table rows as JSON objects keyed by their Parquet column names (the names the
// notebooks use), leaving out list columns (vectors) and the schema version.
func tableJSON[T any](rows []T) []map[string]any {
	out := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		v := reflect.ValueOf(r)
		m := map[string]any{}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("parquet"), ",")
			if name == "" || name == "schema_version" || f.Type.Kind() == reflect.Slice {
				continue
			}
			x := v.Field(i).Interface()
			if fl, ok := x.(float64); ok && (math.IsNaN(fl) || math.IsInf(fl, 0)) {
				x = nil // JSON has no NaN
			}
			m[name] = x
		}
		out = append(out, m)
	}
	return out
}
