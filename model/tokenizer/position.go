package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// where returns "name:line" (or "name:line:col" for a JSON syntax error) for an error about the JSON
// document data, or just name when the error has no position. Errors of this package start with the JSON
// path of the field they are about ("pre_tokenizer.pretokenizers[1]: type ..."); the line is the line of
// that field in data.
func where(name string, data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Offset counts the bytes read, the offending one included.
		l, c := lineCol(data, se.Offset-1)
		return fmt.Sprintf("%s:%d:%d", name, l, c)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if off := pathOffset(data, te.Field); off >= 0 {
			l, _ := lineCol(data, off)
			return fmt.Sprintf("%s:%d", name, l)
		}
		l, _ := lineCol(data, te.Offset)
		return fmt.Sprintf("%s:%d", name, l)
	}
	msg := err.Error()
	path := msg
	if i := strings.IndexAny(msg, ": "); i >= 0 {
		path = msg[:i]
	}
	if strings.HasPrefix(msg[len(path):], ": type ") {
		path += ".type" // point at the unsupported type name, not at the start of its object
	}
	// A missing field has no line: use that of the nearest enclosing value.
	for path != "" {
		if off := pathOffset(data, path); off >= 0 {
			l, _ := lineCol(data, off)
			return fmt.Sprintf("%s:%d", name, l)
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return name
}

// lineCol returns the 1-based line and column (in bytes) of byte offset off of data.
func lineCol(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// pathOffset returns the byte offset in the JSON document data of the value at path, a dotted path with
// array indices ("model.merges[3]", "added_tokens[2].content"), or -1 when there is no such value. For
// an object member the offset is that of its key.
func pathOffset(data []byte, path string) int64 {
	steps, ok := parsePath(path)
	if !ok || len(steps) == 0 {
		return -1
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	at := int64(-1)
	for _, st := range steps {
		tok, err := dec.Token()
		if err != nil {
			return -1
		}
		d, isDelim := tok.(json.Delim)
		switch {
		case st.key != "" && isDelim && d == '{':
			found := false
			for dec.More() {
				start := skipSpace(data, dec.InputOffset())
				k, err := dec.Token()
				if err != nil {
					return -1
				}
				if k == st.key {
					at, found = start, true
					break
				}
				if skipValue(dec) != nil {
					return -1
				}
			}
			if !found {
				return -1
			}
		case st.key == "" && isDelim && d == '[':
			for i := 0; ; i++ {
				if !dec.More() {
					return -1
				}
				if i == st.index {
					at = skipSpace(data, dec.InputOffset())
					break
				}
				if skipValue(dec) != nil {
					return -1
				}
			}
		default:
			return -1
		}
	}
	return at
}

// skipSpace returns the offset of the first byte at or after off that is not JSON whitespace or a
// separator.
func skipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) && strings.IndexByte(" \t\r\n,:", data[off]) >= 0 {
		off++
	}
	return off
}

// skipValue reads one whole JSON value from dec.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

type pathStep struct {
	key   string // object member, or
	index int    // array element when key is ""
}

// parsePath splits "a.b[2].c" into steps.
func parsePath(path string) ([]pathStep, bool) {
	var steps []pathStep
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name == "" && len(steps) == 0 {
			return nil, false
		}
		if name != "" {
			steps = append(steps, pathStep{key: name})
		}
		for rest != "" {
			num, after, ok := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if !ok || err != nil || i < 0 {
				return nil, false
			}
			steps = append(steps, pathStep{index: i})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return steps, true
}
