package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
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
	// Segment configures how the episodes are segmented (Episode.SegmentWith); the zero value is
	// Episode.Segment's.
	Segment SegmentOptions
}

// Load reads the episodes recorded at path. A directory is an agentic-misalignment experiment when it has
// a models/ directory, a directory of native JSONL files when it has *.jsonl files (every one, in name
// order: a generated dataset's splits), else a directory of inspect_ai logs (what inspect eval writes to its log dir:
// every .eval archive and inspect JSON log under it, in path order). A .eval file is an inspect_ai archive;
// other files are sniffed: native JSONL (a "format" field), an inspect JSON log ("eval" and "samples"),
// Anthropic requests (top-level "system" or content blocks with tool_use / tool_result / thinking), else
// OpenAI messages. A UTF-8 byte order mark is ignored. Every returned episode is segmented, with
// opts.Segment.
func Load(path string, opts LoadOptions) ([]*Episode, error) {
	eps, err := load(path, opts)
	if err != nil || opts.Segment.isDefault() {
		return eps, err
	}
	for _, ep := range eps {
		if err := ep.SegmentWith(opts.Segment); err != nil {
			return nil, fmt.Errorf("load %s: %w", path, err)
		}
	}
	return eps, nil
}

func load(path string, opts LoadOptions) ([]*Episode, error) {
	lim := opts.Limits.orDefault()
	format := opts.Format
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if st.IsDir() {
		switch format {
		case FormatAuto:
			if m, err := os.Stat(filepath.Join(path, "models")); err == nil && m.IsDir() {
				return ReadMisalignment(path, "", lim)
			}
			if files, _ := filepath.Glob(filepath.Join(path, "*.jsonl")); len(files) > 0 {
				return readNativeFiles(files, lim)
			}
			return ReadInspectDir(path, FormatAuto, lim)
		case FormatNative:
			files, _ := filepath.Glob(filepath.Join(path, "*.jsonl"))
			if len(files) == 0 {
				return nil, fmt.Errorf("load %s: no *.jsonl files: %w", path, ErrFormat)
			}
			return readNativeFiles(files, lim)
		case FormatMisalignment:
			return ReadMisalignment(path, "", lim)
		case FormatInspectEval, FormatInspectJSON:
			return ReadInspectDir(path, format, lim)
		}
		return nil, fmt.Errorf("load %s: a directory is not %s: %w", path, format, ErrFormat)
	}
	if format == FormatAuto && strings.EqualFold(filepath.Ext(path), ".eval") {
		format = FormatInspectEval
	}
	switch format {
	case FormatMisalignment:
		return ReadMisalignment(path, "", lim)
	case FormatInspectEval:
		return ReadInspectEval(path, lim)
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

// ReadInspectDir reads every inspect_ai log under dir (searched recursively, in path order): .eval archives
// and JSON logs (.json files that sniff as FormatInspectJSON; other JSON files, such as inspect's own
// listings, are skipped). format FormatInspectEval or FormatInspectJSON reads only logs of that format. A
// directory with no logs gives ErrUnknownFormat naming what was looked for.
func ReadInspectDir(dir string, format Format, lim Limits) ([]*Episode, error) {
	lim = lim.orDefault()
	var logs []string
	var skipped int
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		switch ext := strings.ToLower(filepath.Ext(p)); {
		case ext == ".eval" && format != FormatInspectJSON:
			logs = append(logs, p)
		case ext == ".json" && format != FormatInspectEval:
			if sniffFile(p) == FormatInspectJSON {
				logs = append(logs, p)
			} else {
				skipped++
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	if len(logs) == 0 {
		what := "an agentic-misalignment models/ directory or inspect_ai logs (*.eval, or *.json with \"eval\" and \"samples\")"
		switch format {
		case FormatInspectEval:
			what = "inspect_ai .eval logs"
		case FormatInspectJSON:
			what = "inspect_ai JSON logs (*.json with \"eval\" and \"samples\")"
		}
		msg := fmt.Sprintf("load %s: looked for %s, found none", dir, what)
		if skipped > 0 {
			msg += fmt.Sprintf(" (%d other .json files)", skipped)
		}
		return nil, fmt.Errorf("%s: %w", msg, ErrUnknownFormat)
	}
	sort.Strings(logs)
	var eps []*Episode
	for _, p := range logs {
		var got []*Episode
		var err error
		if strings.EqualFold(filepath.Ext(p), ".eval") {
			got, err = ReadInspectEval(p, lim)
		} else {
			got, err = ReadInspectJSONFile(p, lim)
		}
		if err != nil {
			return nil, err
		}
		eps = append(eps, got...)
	}
	return eps, nil
}

// sniffFile sniffs the first 64 KiB of a file (FormatAuto when it cannot be read).
func sniffFile(p string) Format {
	f, err := os.Open(p)
	if err != nil {
		return FormatAuto
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(f, head)
	return Sniff(head[:n])
}

// utf8BOM is the UTF-8 byte order mark some editors and Windows tools write at the start of text files.
var utf8BOM = []byte("\xef\xbb\xbf")

// Sniff guesses the format of a file from its first bytes (FormatAuto when it cannot tell).
func Sniff(head []byte) Format {
	t := bytes.TrimSpace(bytes.TrimPrefix(head, utf8BOM))
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

// readNativeFiles reads native JSONL files (a directory of them, such as a generated dataset's splits)
// in name order.
func readNativeFiles(files []string, lim Limits) ([]*Episode, error) {
	sort.Strings(files)
	var eps []*Episode
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
		e, err := ReadNative(f, name, lim)
		f.Close()
		if err != nil {
			return nil, err
		}
		eps = append(eps, e...)
	}
	return eps, nil
}
