package trace

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
)

// methodZstd is the zip compression method number of Zstandard (APPNOTE 4.4.5), which inspect_ai uses
// for every entry of the .eval archives it writes today.
const methodZstd = 93

// inspectHeader is the part of an inspect_ai log header (header.json of a .eval archive, or the top of a
// JSON log) that becomes labels.
type inspectHeader struct {
	Version int    `json:"version"`
	Status  string `json:"status"`
	Eval    struct {
		Task   string `json:"task"`
		TaskID string `json:"task_id"`
		RunID  string `json:"run_id"`
		Model  string `json:"model"`
	} `json:"eval"`
}

type inspectLog struct {
	inspectHeader
	Samples []json.RawMessage `json:"samples"`
}

type inspectSample struct {
	ID       json.RawMessage            `json:"id"` // a string or an integer
	Epoch    int                        `json:"epoch"`
	Messages *[]inspectMessage          `json:"messages"`
	Scores   map[string]json.RawMessage `json:"scores"`
	Metadata map[string]any             `json:"metadata"`
	Events   []struct {
		Event string            `json:"event"`
		Tools []json.RawMessage `json:"tools"`
	} `json:"events"`
	// Error is set when the sample failed (an exception in a solver, tool or model call, or a
	// cancellation); its messages are those up to the failure.
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
	// Limit is set when the sample stopped at a message, token, time or cost limit.
	Limit *struct {
		Type string `json:"type"`
	} `json:"limit"`
	// Attachments holds long strings of the events (and images of the messages), which are written as
	// "attachment://<hash>".
	Attachments map[string]string `json:"attachments"`
}

type inspectMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"` // a string or an array of content parts
	ToolCalls  []inspectCall   `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
	Function   string          `json:"function"`
	// Error is set on a tool message whose call raised ToolError (or failed to parse, time out, ...):
	// content is then empty and the model was sent "Error: <message>".
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// attachmentPrefix marks a string inspect_ai moved to the sample's attachments.
const attachmentPrefix = "attachment://"

// resolveAttachments replaces every JSON string "attachment://<hash>" in raw whose hash is in att with
// the attachment's text.
func resolveAttachments(raw json.RawMessage, att map[string]string) json.RawMessage {
	if len(att) == 0 || !bytes.Contains(raw, []byte(attachmentPrefix)) {
		return raw
	}
	out := raw
	for h, text := range att {
		ref := []byte(`"` + attachmentPrefix + h + `"`)
		if bytes.Contains(out, ref) {
			enc, _ := json.Marshal(text)
			out = bytes.ReplaceAll(out, ref, enc)
		}
	}
	return out
}

// InspectToolErrorPrefix is what inspect_ai puts before a tool error's message in the tool result it
// sends the model (OpenAI-style providers and most others).
const InspectToolErrorPrefix = "Error: "

type inspectCall struct {
	ID        string          `json:"id"`
	Function  string          `json:"function"`
	Arguments json.RawMessage `json:"arguments"`
}

// ReadInspectEval reads an inspect_ai .eval log (a zip archive with header.json and
// samples/<id>_epoch_<n>.json, entries stored, deflated or Zstandard-compressed). Entry names are checked
// before anything is read (absolute paths and ".." give ErrUnsafePath), each entry is read through a size
// bound (an entry that inflates past the bound or past its declared size gives ErrTooLarge), and samples
// are decoded one at a time.
func ReadInspectEval(file string, lim Limits) ([]*Episode, error) {
	lim = lim.orDefault()
	zr, err := zip.OpenReader(file)
	// With GODEBUG=zipinsecurepath=0 the reader reports unsafe names itself; readInspectZip names the entry.
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fmt.Errorf("inspect log %s: %w: %v", file, ErrFormat, err)
	}
	defer zr.Close()
	return readInspectZip(&zr.Reader, file, lim)
}

// ReadInspectEvalFrom is ReadInspectEval over an already opened archive of the given size.
func ReadInspectEvalFrom(r io.ReaderAt, size int64, name string, lim Limits) ([]*Episode, error) {
	lim = lim.orDefault()
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fmt.Errorf("inspect log %s: %w: %v", name, ErrFormat, err)
	}
	return readInspectZip(zr, name, lim)
}

func readInspectZip(zr *zip.Reader, file string, lim Limits) ([]*Episode, error) {
	if len(zr.File) > lim.MaxArchiveLen {
		return nil, fmt.Errorf("inspect log %s: %d entries (limit %d): %w", file, len(zr.File), lim.MaxArchiveLen, ErrTooLarge)
	}
	var header, journal *zip.File
	var samples []*zip.File
	for _, f := range zr.File {
		if err := checkEntryName(f.Name); err != nil {
			return nil, fmt.Errorf("inspect log %s: entry %q: %w", file, f.Name, err)
		}
		switch {
		case f.Name == "header.json":
			header = f
		case f.Name == "_journal/start.json":
			journal = f
		case strings.HasPrefix(f.Name, "samples/") && strings.HasSuffix(f.Name, ".json"):
			samples = append(samples, f)
		}
	}
	// inspect_ai writes header.json when the eval ends; a log of an eval that is still running, or that
	// was killed, has only the journal's start record (same eval fields, no status).
	started := header == nil && journal != nil
	if started {
		header = journal
	}
	if header == nil {
		return nil, fmt.Errorf("inspect log %s: header.json (or _journal/start.json): %w", file, ErrMissingFile)
	}
	var h inspectHeader
	if err := readZipJSON(header, file, lim, &h); err != nil {
		return nil, err
	}
	if started && h.Status == "" {
		h.Status = "started"
	}
	// By sample id, then epoch as a number (samples/x_epoch_10.json after x_epoch_9.json).
	sort.SliceStable(samples, func(i, j int) bool {
		ai, ae := sampleOrder(samples[i].Name)
		bi, be := sampleOrder(samples[j].Name)
		if ai != bi {
			return ai < bi
		}
		if ae != be {
			return ae < be
		}
		return samples[i].Name < samples[j].Name
	})
	var eps []*Episode
	for _, f := range samples {
		var raw json.RawMessage
		if err := readZipJSON(f, file, lim, &raw); err != nil {
			return nil, err
		}
		ep, err := inspectEpisode(raw, &h, file+"!"+f.Name)
		if err != nil {
			return nil, err
		}
		eps = append(eps, ep)
	}
	return eps, nil
}

// sampleOrder splits an entry name samples/<id>_epoch_<n>.json into id and epoch (-1 when it has none).
func sampleOrder(name string) (string, int) {
	base := strings.TrimSuffix(strings.TrimPrefix(name, "samples/"), ".json")
	if i := strings.LastIndex(base, "_epoch_"); i >= 0 {
		if n, err := strconv.Atoi(base[i+len("_epoch_"):]); err == nil {
			return base[:i], n
		}
	}
	return base, -1
}

// checkEntryName rejects archive entry names that are absolute, climb out of the archive root, or are not
// valid UTF-8 (they could not be reported, or kept in an episode's Source, as they are).
func checkEntryName(name string) error {
	n := strings.ReplaceAll(name, `\`, "/")
	if n == "" || strings.HasPrefix(n, "/") || len(n) > 1 && n[1] == ':' || !utf8.ValidString(n) || strings.ContainsRune(n, 0) {
		return ErrUnsafePath
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return ErrUnsafePath
		}
	}
	if path.Clean(n) != strings.TrimSuffix(n, "/") && !strings.HasSuffix(n, "/") {
		// e.g. "a/./b": harmless, but not something inspect writes; accept only clean names.
		return ErrUnsafePath
	}
	return nil
}

// readEntry reads one archive entry (stored, deflated or Zstandard) through the entry bound: an entry
// whose header declares more than lim.MaxFileBytes is refused before it is read, and one that inflates
// past the size its header declares (a zip bomb, or a corrupt archive) is stopped one byte past it. The
// decompressed bytes are checked against the entry's CRC-32.
func readEntry(f *zip.File, file string, lim Limits) ([]byte, error) {
	where := "inspect log " + file + ": entry " + f.Name
	if f.UncompressedSize64 > uint64(lim.MaxFileBytes) {
		return nil, fmt.Errorf("%s: %d bytes (limit %d): %w", where, f.UncompressedSize64, lim.MaxFileBytes, ErrTooLarge)
	}
	raw, err := f.OpenRaw()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", where, ErrFormat, err)
	}
	var r io.Reader
	switch f.Method {
	case zip.Store:
		r = raw
	case zip.Deflate:
		fr := flate.NewReader(raw)
		defer fr.Close()
		r = fr
	case methodZstd:
		// The decoder's window is bounded too, so that a frame cannot make it allocate more than the
		// entry may hold; it decodes on this goroutine.
		window := max(uint64(lim.MaxFileBytes), zstd.MinWindowSize)
		zr, err := zstd.NewReader(raw, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxMemory(uint64(lim.MaxFileBytes)), zstd.WithDecoderMaxWindow(window))
		if err != nil {
			return nil, fmt.Errorf("%s: zstd: %w: %v", where, ErrFormat, err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("%s: compression method %d (want store, deflate or zstd): %w", where, f.Method, ErrFormat)
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(f.UncompressedSize64)+1))
	switch {
	case errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded):
		return nil, fmt.Errorf("%s: zstd frame larger than the limit of %d bytes: %w", where, lim.MaxFileBytes, ErrTooLarge)
	case err != nil:
		return nil, fmt.Errorf("%s: %w: %v", where, ErrFormat, err)
	case uint64(len(data)) > f.UncompressedSize64:
		return nil, fmt.Errorf("%s: inflates past its declared %d bytes: %w", where, f.UncompressedSize64, ErrTooLarge)
	case uint64(len(data)) < f.UncompressedSize64:
		return nil, fmt.Errorf("%s: %d of its declared %d bytes: %w", where, len(data), f.UncompressedSize64, ErrFormat)
	case f.CRC32 != 0 && crc32.ChecksumIEEE(data) != f.CRC32:
		return nil, fmt.Errorf("%s: checksum mismatch: %w", where, ErrFormat)
	}
	return data, nil
}

func readZipJSON(f *zip.File, file string, lim Limits, v any) error {
	data, err := readEntry(f, file, lim)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("inspect log %s: entry %s: %w", file, f.Name, jsonError(err))
	}
	return nil
}

// ReadInspectJSON reads inspect_ai's JSON log format (one object with the header fields and "samples").
func ReadInspectJSON(r io.Reader, name string, lim Limits) ([]*Episode, error) {
	lim = lim.orDefault()
	data, err := readAllLimited(r, "inspect log "+name, lim.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	var l inspectLog
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("inspect log %s: %w", name, jsonError(err))
	}
	if l.Samples == nil {
		return nil, fmt.Errorf("inspect log %s: samples: missing: %w", name, ErrFormat)
	}
	var eps []*Episode
	for i, raw := range l.Samples {
		ep, err := inspectEpisode(raw, &l.inspectHeader, fmt.Sprintf("%s: samples[%d]", name, i))
		if err != nil {
			return nil, err
		}
		eps = append(eps, ep)
	}
	return eps, nil
}

// ReadInspectJSONFile reads an inspect_ai JSON log file.
func ReadInspectJSONFile(file string, lim Limits) ([]*Episode, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("inspect log %s: %w", file, err)
	}
	defer f.Close()
	return ReadInspectJSON(f, file, lim)
}

func inspectEpisode(raw json.RawMessage, h *inspectHeader, where string) (*Episode, error) {
	var s inspectSample
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("inspect log %s: %w", where, jsonError(err))
	}
	sid := string(bytes.TrimSpace(s.ID)) // an integer id as written
	if strings.HasPrefix(sid, `"`) {
		if err := json.Unmarshal(s.ID, &sid); err != nil {
			return nil, fmt.Errorf("inspect log %s: id: %w", where, jsonError(err))
		}
	}
	if sid == "" || sid == "null" {
		return nil, fmt.Errorf("inspect log %s: id: missing: %w", where, ErrFormat)
	}
	ep := &Episode{ID: sid + "_epoch_" + strconv.Itoa(s.Epoch), Source: where, Labels: map[string]string{}}
	if h.Eval.Task != "" {
		ep.Labels["task"] = h.Eval.Task
	}
	if h.Eval.Model != "" {
		ep.Labels["model"] = h.Eval.Model
	}
	if h.Status != "" && h.Status != "success" {
		// The run did not finish well (started, error, cancelled): its samples may be partial.
		ep.Labels["eval_status"] = h.Status
	}
	ep.Labels["sample_id"] = sid
	ep.Labels["epoch"] = strconv.Itoa(s.Epoch)
	for k, v := range scalarLabels(s.Metadata, "metadata.") {
		ep.Labels[k] = v
	}
	if s.Error != nil {
		msg := s.Error.Message
		if msg == "" {
			msg = "error"
		}
		ep.Labels["error"] = msg
	}
	if s.Limit != nil && s.Limit.Type != "" {
		ep.Labels["limit"] = s.Limit.Type
	}
	if s.Messages == nil {
		return nil, fmt.Errorf("inspect log %s: messages: missing: %w", where, ErrFormat)
	}
	if len(*s.Messages) == 0 {
		return nil, fmt.Errorf("inspect log %s: messages: empty (an episode needs at least one message): %w", where, ErrFormat)
	}
	for name, sc := range s.Scores {
		var score struct {
			Value json.RawMessage `json:"value"`
		}
		if json.Unmarshal(sc, &score) != nil {
			continue
		}
		addScoreLabels(ep.Labels, "score."+name, score.Value)
	}
	for _, ev := range s.Events {
		if ev.Event == "model" && len(ev.Tools) > 0 {
			for _, t := range ev.Tools {
				t = resolveAttachments(t, s.Attachments)
				var ti struct {
					Name        string          `json:"name"`
					Description string          `json:"description"`
					Parameters  json.RawMessage `json:"parameters"`
				}
				if json.Unmarshal(t, &ti) == nil && ti.Name != "" {
					ep.Tools = append(ep.Tools, openAITool(ti.Name, ti.Description, ti.Parameters))
				}
			}
			break
		}
	}
	for i, im := range *s.Messages {
		role := Role(im.Role)
		if !role.Valid() {
			return nil, fmt.Errorf("inspect log %s: messages[%d].role %q: %w", where, i, im.Role, ErrUnknownRole)
		}
		content, reasoning, redacted, err := inspectContent(resolveAttachments(im.Content, s.Attachments))
		if err != nil {
			return nil, fmt.Errorf("inspect log %s: messages[%d].content: %w", where, i, err)
		}
		m := Message{Role: role, Content: content, Reasoning: reasoning, RedactedReasoning: redacted, ToolCallID: im.ToolCallID, Name: im.Function}
		if im.Error != nil && role == RoleTool {
			// What the model was sent in place of the (empty) result.
			m.Content, m.ToolError = InspectToolErrorPrefix+im.Error.Message, true
		}
		for j, tc := range im.ToolCalls {
			args := compactRaw(tc.Arguments)
			if args == nil {
				args = json.RawMessage("{}")
			}
			if tc.Function == "" {
				return nil, fmt.Errorf("inspect log %s: messages[%d].tool_calls[%d].function: missing: %w", where, i, j, ErrFormat)
			}
			m.ToolCalls = append(m.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function, Arguments: args})
		}
		ep.Messages = append(ep.Messages, m)
	}
	if err := ep.Segment(); err != nil {
		return nil, fmt.Errorf("inspect log %w", err)
	}
	return ep, nil
}

// addScoreLabels adds a score value: scalars as one label, objects as one label per scalar field.
func addScoreLabels(labels map[string]string, key string, v json.RawMessage) {
	t := bytes.TrimSpace(v)
	if len(t) == 0 {
		return
	}
	switch t[0] {
	case '{':
		var m map[string]any
		if json.Unmarshal(t, &m) == nil {
			for k, s := range scalarLabels(m, key+".") {
				labels[k] = s
			}
		}
	case '"':
		var s string
		if json.Unmarshal(t, &s) == nil {
			labels[key] = s
		}
	case '[':
	default:
		labels[key] = string(t)
	}
}

// inspectContent flattens inspect content: a string, or parts of type text (joined with no separator) and
// reasoning (into the reasoning channel; a part with redacted set gives its summary, else
// RedactedPlaceholder, to the redacted channel); other parts (images, audio, server-side tool use) are
// skipped.
func inspectContent(raw json.RawMessage) (content, reasoning, redacted string, err error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return "", "", "", nil
	}
	if t[0] == '"' {
		if err := json.Unmarshal(t, &content); err != nil {
			return "", "", "", jsonError(err)
		}
		return content, "", "", nil
	}
	var parts []struct {
		Type      string  `json:"type"`
		Text      string  `json:"text"`
		Reasoning string  `json:"reasoning"`
		Summary   *string `json:"summary"`
		Redacted  bool    `json:"redacted"`
	}
	if err := json.Unmarshal(t, &parts); err != nil {
		return "", "", "", jsonError(err)
	}
	var c, r, d strings.Builder
	for _, p := range parts {
		switch {
		case p.Type == "text":
			c.WriteString(p.Text)
		case p.Type == "reasoning" && p.Redacted:
			if d.Len() > 0 {
				d.WriteString(AnthropicJoin)
			}
			if p.Summary != nil && *p.Summary != "" {
				d.WriteString(*p.Summary)
			} else {
				d.WriteString(RedactedPlaceholder)
			}
		case p.Type == "reasoning":
			if r.Len() > 0 {
				r.WriteString(AnthropicJoin)
			}
			r.WriteString(p.Reasoning)
		}
	}
	return c.String(), r.String(), d.String(), nil
}
