package deploy

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

// k8sSchema is testdata/k8s-schema.json: the Kubernetes API's strict JSON schema for the kinds that
// the manifests use, as internal/reference/k8s/extract_schema.py extracts it from the PyPI package
// kubernetes-validate (itself generated from the API's OpenAPI spec).
type k8sSchema struct {
	Source      string                    `json:"source"`
	Kubernetes  string                    `json:"kubernetes"`
	Roots       map[string]string         `json:"roots"` // "batch/v1/Job" -> definition name
	Definitions map[string]map[string]any `json:"definitions"`
}

func loadSchema(t *testing.T) *k8sSchema {
	t.Helper()
	b, err := os.ReadFile("testdata/k8s-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s k8sSchema
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(&s); err != nil {
		t.Fatalf("testdata/k8s-schema.json: %v", err)
	}
	return &s
}

// validate checks the JSON value v (decoded with UseNumber) against the schema of apiVersion/kind and
// returns one error string per violation, each with its JSON path. It implements the keywords the
// extracted schema uses ($ref, type, enum, format int32/int64, properties, additionalProperties,
// required, items, oneOf) and ignores the x-kubernetes-* annotations.
func (s *k8sSchema) validate(apiVersion, kind string, v any) []string {
	root, ok := s.Roots[apiVersion+"/"+kind]
	if !ok {
		return []string{fmt.Sprintf("no schema for %s %s", apiVersion, kind)}
	}
	var errs []string
	s.check(map[string]any{"$ref": root}, v, "$", &errs)
	return errs
}

func (s *k8sSchema) check(sch map[string]any, v any, path string, errs *[]string) {
	add := func(format string, args ...any) {
		*errs = append(*errs, path+": "+fmt.Sprintf(format, args...))
	}
	if ref, ok := sch["$ref"].(string); ok {
		def, ok := s.Definitions[ref]
		if !ok {
			add("schema has no definition %s", ref)
			return
		}
		s.check(def, v, path, errs)
	}
	if one, ok := sch["oneOf"].([]any); ok {
		n := 0
		for _, alt := range one {
			var sub []string
			s.check(alt.(map[string]any), v, path, &sub)
			if len(sub) == 0 {
				n++
			}
		}
		if n != 1 {
			add("matches %d of the %d oneOf alternatives, want 1", n, len(one))
		}
	}
	if typ, ok := sch["type"]; ok {
		var types []string
		switch typ := typ.(type) {
		case string:
			types = []string{typ}
		case []any:
			for _, t := range typ {
				types = append(types, t.(string))
			}
		}
		if got := jsonType(v); !slices.Contains(types, got) && !(got == "integer" && slices.Contains(types, "number")) {
			add("is %s, want %s", got, strings.Join(types, " or "))
			return
		}
	}
	if enum, ok := sch["enum"].([]any); ok && v != nil {
		if !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
			add("%v is not one of %v", v, enum)
		}
	}
	if format, ok := sch["format"].(string); ok {
		if n, isNum := v.(json.Number); isNum {
			limit := map[string]float64{"int32": math.MaxInt32, "int64": math.MaxInt64}[format]
			if f, err := n.Float64(); err == nil && limit > 0 && (f > limit || f < -limit-1) {
				add("%v overflows %s", n, format)
			}
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := sch["properties"].(map[string]any)
		for _, r := range asStrings(sch["required"]) {
			if _, ok := v[r]; !ok {
				add("missing required field %q", r)
			}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if p, ok := props[k]; ok {
				s.check(p.(map[string]any), v[k], path+"."+k, errs)
				continue
			}
			switch ap := sch["additionalProperties"].(type) {
			case bool:
				if !ap {
					add("unknown field %q", k)
				}
			case map[string]any:
				s.check(ap, v[k], path+"."+k, errs)
			}
		}
	case []any:
		if items, ok := sch["items"].(map[string]any); ok {
			for i, e := range v {
				s.check(items, e, fmt.Sprintf("%s[%d]", path, i), errs)
			}
		}
	}
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func asStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// TestSchemaValidatorFails checks that the schema check catches each kind of mistake, so that a
// manifest that passes it has been checked.
func TestSchemaValidatorFails(t *testing.T) {
	s := loadSchema(t)
	if s.Kubernetes == "" || !strings.Contains(s.Source, "kubernetes-validate") {
		t.Errorf("schema provenance = %q, %q, want a Kubernetes version and the kubernetes-validate source", s.Kubernetes, s.Source)
	}
	tests := []struct {
		name, doc, want string
	}{
		{"unknown field", `{"apiVersion":"batch/v1","kind":"Job","spec":{"completionMod":"Indexed","template":{}}}`, `unknown field "completionMod"`},
		{"wrong type", `{"apiVersion":"batch/v1","kind":"Job","spec":{"completions":"4","template":{}}}`, "$.spec.completions: is string, want integer"},
		{"int32 overflow", `{"apiVersion":"batch/v1","kind":"Job","spec":{"completions":3000000000,"template":{}}}`, "overflows int32"},
		{"missing required", `{"apiVersion":"batch/v1","kind":"Job","spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}`, `missing required field "name"`},
		{"bad enum", `{"apiVersion":"batch/v1","kind":"Jobs"}`, "Jobs is not one of"},
		{"int-or-string", `{"apiVersion":"v1","kind":"PersistentVolumeClaim","spec":{"resources":{"requests":{"storage":true}}}}`, "matches 0 of the 2 oneOf"},
		{"wrong kind", `{"apiVersion":"batch/v1","kind":"PersistentVolumeClaim"}`, "no schema for batch/v1 PersistentVolumeClaim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v map[string]any
			d := json.NewDecoder(strings.NewReader(tt.doc))
			d.UseNumber()
			if err := d.Decode(&v); err != nil {
				t.Fatal(err)
			}
			kind := v["kind"].(string)
			if kind == "Jobs" {
				kind = "Job" // validate as a Job, to reach the kind field's enum
			}
			errs := s.validate(v["apiVersion"].(string), kind, v)
			if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tt.want) }) {
				t.Errorf("validate = %q, want an error containing %q", errs, tt.want)
			}
		})
	}
}
