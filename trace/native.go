package trace

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// NativeFormat is the value of the "format" field of every line of agentlens' native JSONL episode format.
const NativeFormat = "agentlens.episode.v1"

// Limits bound how much an importer reads. The zero value means DefaultLimits.
type Limits struct {
	MaxFileBytes  int64 // a whole JSON file, or one archive entry
	MaxLineBytes  int   // one JSONL line
	MaxArchiveLen int   // entries in one archive
}

// DefaultLimits are the limits used when none are given: 256 MiB per file or entry, 64 MiB per JSONL line,
// 100,000 archive entries.
var DefaultLimits = Limits{MaxFileBytes: 256 << 20, MaxLineBytes: 64 << 20, MaxArchiveLen: 100_000}

func (l Limits) orDefault() Limits {
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultLimits.MaxFileBytes
	}
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = DefaultLimits.MaxLineBytes
	}
	if l.MaxArchiveLen <= 0 {
		l.MaxArchiveLen = DefaultLimits.MaxArchiveLen
	}
	return l
}

type nativeLine struct {
	Format string `json:"format"`
	*Episode
}

// WriteNative writes episodes as native JSONL, one episode per line, with <, > and & left unescaped.
// Segments are not written: they are derived from the messages.
func WriteNative(w io.Writer, eps ...*Episode) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false) // keep <email> and <tool_use:…> readable
	for _, ep := range eps {
		if err := enc.Encode(nativeLine{Format: NativeFormat, Episode: ep}); err != nil {
			return fmt.Errorf("episode %s: %w", ep.ID, err)
		}
	}
	return bw.Flush()
}

// SaveNative writes episodes to path as native JSONL through a temporary file renamed into place.
func SaveNative(path string, eps ...*Episode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	tmp := f.Name()
	if err := WriteNative(f, eps...); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

// ReadNative reads native JSONL episodes from r (named name in errors), segmenting each. Episodes come
// back exactly as written (an empty Source stays empty), so that WriteNative then ReadNative is lossless.
// Blank lines are skipped; a line longer than the limit gives ErrTooLarge.
func ReadNative(r io.Reader, name string, lim Limits) ([]*Episode, error) {
	var out []*Episode
	err := eachLine(r, name, lim, func(n int, line []byte) error {
		ep, err := decodeNative(line)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if err := ep.Segment(); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
		out = append(out, ep)
		return nil
	})
	return out, err
}

func decodeNative(line []byte) (*Episode, error) {
	ep := &Episode{}
	nl := nativeLine{Episode: ep}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&nl); err != nil {
		return nil, jsonError(err)
	}
	if nl.Format != NativeFormat {
		return nil, fmt.Errorf("format %q (want %q): %w", nl.Format, NativeFormat, ErrFormat)
	}
	if ep.ID == "" {
		return nil, fmt.Errorf("id: empty: %w", ErrFormat)
	}
	if len(ep.Messages) == 0 {
		return nil, fmt.Errorf("episode %s: messages: empty (an episode needs at least one message): %w", ep.ID, ErrFormat)
	}
	// Raw JSON is kept compact and empty lists and maps are nil, as the importers store them and
	// WriteNative writes them, so that a hand-edited line reads to the same episode as its re-export.
	if len(ep.Labels) == 0 {
		ep.Labels = nil
	}
	if len(ep.Tools) == 0 {
		ep.Tools = nil
	}
	for i := range ep.Tools {
		ep.Tools[i] = compactRaw(ep.Tools[i])
	}
	for i, m := range ep.Messages {
		if !m.Role.Valid() {
			return nil, fmt.Errorf("messages[%d].role %q: %w", i, m.Role, ErrUnknownRole)
		}
		if len(m.ToolCalls) == 0 {
			ep.Messages[i].ToolCalls = nil
		}
		for j := range m.ToolCalls {
			m.ToolCalls[j].Arguments = compactRaw(m.ToolCalls[j].Arguments)
		}
	}
	return ep, nil
}

// eachLine calls f with every non-blank line of r (1-based line numbers), bounding line length.
func eachLine(r io.Reader, name string, lim Limits, f func(n int, line []byte) error) error {
	lim = lim.orDefault()
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	n := 0
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > lim.MaxLineBytes {
			return fmt.Errorf("%s:%d: line longer than %d bytes: %w", name, n+1, lim.MaxLineBytes, ErrTooLarge)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("%s: %w", name, err)
		}
		if len(buf) > 0 || err == nil {
			n++
			if n == 1 {
				buf = bytes.TrimPrefix(buf, utf8BOM)
			}
			if line := bytes.TrimSpace(buf); len(line) > 0 {
				if ferr := f(n, line); ferr != nil {
					return ferr
				}
			}
		}
		buf = buf[:0]
		if err == io.EOF {
			return nil
		}
	}
}

// compactRaw returns raw JSON compacted, so that stored tool definitions and arguments round-trip through
// encoding/json byte for byte.
func compactRaw(raw []byte) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		s, _ := json.Marshal(string(raw))
		return s
	}
	return b.Bytes()
}
