package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Format names a recording format.
type Format string

// Recording formats Load understands.
const (
	FormatAuto         Format = ""
	FormatNative       Format = "native"       // agentlens JSONL
	FormatOpenAI       Format = "openai"       // OpenAI chat completions messages, JSON or JSONL
	FormatAnthropic    Format = "anthropic"    // Anthropic Messages API requests
	FormatInspectEval  Format = "inspect-eval" // inspect_ai .eval archive
	FormatInspectJSON  Format = "inspect-json" // inspect_ai JSON log
	FormatMisalignment Format = "agentic-misalignment"
)

// Formats lists the formats Load accepts by name.
var Formats = []Format{FormatNative, FormatOpenAI, FormatAnthropic, FormatInspectEval, FormatInspectJSON, FormatMisalignment}

// LoadOptions selects the format and bounds the input.
type LoadOptions struct {
	Format Format // FormatAuto detects it
	Limits Limits
}

// Load reads the episodes recorded at path: a directory is an agentic-misalignment experiment; a .eval file
// is an inspect_ai archive; other files are sniffed: native JSONL (a "format" field), an inspect JSON log
// ("eval" and "samples"), Anthropic requests (top-level "system" or content blocks with tool_use /
// tool_result / thinking), else OpenAI messages. Every returned episode is segmented.
func Load(path string, opts LoadOptions) ([]*Episode, error) {
	lim := opts.Limits.orDefault()
	format := opts.Format
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if format == FormatAuto {
		switch {
		case st.IsDir():
			format = FormatMisalignment
		case strings.EqualFold(filepath.Ext(path), ".eval"):
			format = FormatInspectEval
		}
	}
	switch format {
	case FormatMisalignment:
		return ReadMisalignment(path, "", lim)
	case FormatInspectEval:
		return ReadInspectEval(path, lim)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("load %s: a directory is not %s: %w", path, format, ErrFormat)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	defer f.Close()
	if format == FormatAuto {
		head := make([]byte, 64<<10)
		n, _ := io.ReadFull(f, head)
		format = Sniff(head[:n])
		if format == FormatAuto {
			return nil, fmt.Errorf("load %s: %w", path, ErrUnknownFormat)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("load %s: %w", path, err)
		}
	}
	return Read(f, path, format, lim)
}

// Read reads episodes in a named format from r (named name in errors). FormatInspectEval and
// FormatMisalignment need files; use Load or their own readers.
func Read(r io.Reader, name string, format Format, lim Limits) ([]*Episode, error) {
	switch format {
	case FormatNative:
		return ReadNative(r, name, lim)
	case FormatOpenAI:
		return ReadOpenAI(r, name, lim)
	case FormatAnthropic:
		return ReadAnthropic(r, name, lim)
	case FormatInspectJSON:
		return ReadInspectJSON(r, name, lim)
	}
	return nil, fmt.Errorf("read %s: format %q: %w", name, format, ErrUnknownFormat)
}

// Sniff guesses the format of a file from its first bytes (FormatAuto when it cannot tell).
func Sniff(head []byte) Format {
	t := bytes.TrimSpace(head)
	if len(t) == 0 {
		return FormatAuto
	}
	if bytes.HasPrefix(t, []byte("PK\x03\x04")) {
		return FormatInspectEval
	}
	if t[0] != '{' && t[0] != '[' {
		return FormatAuto
	}
	// The first JSON value's top-level keys (works on a truncated head for JSONL's first line).
	first := t
	if i := bytes.IndexByte(t, '\n'); i > 0 && t[0] == '{' && json.Valid(bytes.TrimSpace(t[:i])) {
		first = bytes.TrimSpace(t[:i])
	}
	keys := topKeys(first)
	switch {
	case keys["format"] && bytes.Contains(first, []byte(NativeFormat)):
		return FormatNative
	case keys["eval"] && (keys["samples"] || keys["version"]):
		return FormatInspectJSON
	case keys["system"] && keys["messages"]:
		return FormatAnthropic
	}
	for _, marker := range []string{`"tool_use"`, `"tool_result"`, `"thinking"`, `"input_schema"`} {
		if bytes.Contains(t, []byte(marker)) {
			return FormatAnthropic
		}
	}
	if keys["messages"] || keys["role"] || t[0] == '[' {
		return FormatOpenAI
	}
	return FormatAuto
}

// topKeys returns the top-level keys of a JSON object, reading as far as the text goes.
func topKeys(b []byte) map[string]bool {
	keys := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return keys
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return keys
		}
		s, ok := k.(string)
		if !ok {
			return keys
		}
		keys[s] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return keys
		}
	}
	return keys
}

// baseID is a file's name without directory and extension, used as an episode id when a format has none.
func baseID(name string) string {
	b := filepath.Base(name)
	return strings.TrimSuffix(b, filepath.Ext(b))
}
