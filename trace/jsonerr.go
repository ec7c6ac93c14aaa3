package trace

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// jsonError restates an encoding/json error in terms of the input: the field path as the input spells it
// (messages[0].content) and the JSON kinds expected and found, instead of Go type names. It wraps
// ErrFormat.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		msg := fmt.Sprintf("expected %s, got %s", jsonKind(te.Type), article(strings.Fields(te.Value + " value")[0]))
		if p := jsonPath(te.Field); p != "" {
			msg = p + ": " + msg
		}
		return fmt.Errorf("%s: %w", msg, ErrFormat)
	case errors.As(err, &se):
		if se.Error() == "unexpected end of JSON input" {
			return fmt.Errorf("invalid JSON: unexpected end of input: %w", ErrFormat)
		}
		return fmt.Errorf("invalid JSON at byte %d: %s: %w", se.Offset, se.Error(), ErrFormat)
	}
	return fmt.Errorf("%s: %w", strings.TrimPrefix(err.Error(), "json: "), ErrFormat)
}

// jsonPath turns encoding/json's dotted field path ("messages.0.tool_calls.1.function") into the input's
// notation ("messages[0].tool_calls[1].function").
func jsonPath(field string) string {
	var b strings.Builder
	for _, part := range strings.Split(field, ".") {
		switch {
		case part == "":
		case strings.Trim(part, "0123456789") == "":
			b.WriteString("[" + part + "]")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(part)
		}
	}
	return b.String()
}

// jsonKind names the JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	if t == reflect.TypeOf(json.RawMessage(nil)) {
		return "a JSON value"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a value"
}

// article puts "a" or "an" before a JSON kind as encoding/json names it (number, string, object, array,
// bool).
func article(kind string) string {
	switch kind {
	case "object", "array":
		return "an " + kind
	case "bool":
		return "a boolean"
	}
	return "a " + kind
}
