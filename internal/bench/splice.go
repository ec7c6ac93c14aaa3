package bench

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// markerRE matches a line that is a whole bench marker: "<!-- bench:begin KEY -->" or
// "<!-- bench:end KEY -->", KEY optional so that legacy unkeyed markers are recognised (and refused).
var markerRE = regexp.MustCompile(`^\s*<!--\s*bench:(begin|end)(?:\s+(\S+?))?\s*-->\s*$`)

// keyRE is what a table key may look like.
var keyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// tableBlock is one keyed block of a readme: the bytes of its contents (between the begin marker's line
// and the end marker's line) are readme[start:end]; after is the offset just past the end marker's line.
type tableBlock struct {
	key               string
	line              int // the begin marker's line, 1-based
	start, end, after int
}

// beginMarker and endMarker are the marker lines for key.
func beginMarker(key string) string { return "<!-- bench:begin " + key + " -->" }
func endMarker(key string) string   { return "<!-- bench:end " + key + " -->" }

// parseTableBlocks finds the keyed bench blocks of readme, in order. Markers must stand on lines of
// their own; a line that starts like a marker but is not one, an unkeyed marker, a begin without its
// end, an end without its begin, a begin inside another block and a key used twice are errors.
func parseTableBlocks(readme []byte) ([]tableBlock, error) {
	var blocks []tableBlock
	var open *tableBlock
	seen := map[string]int{}
	lineNo := 0
	for off := 0; off < len(readme); {
		lineNo++
		next := len(readme)
		if i := bytes.IndexByte(readme[off:], '\n'); i >= 0 {
			next = off + i + 1
		}
		line := string(readme[off:next])
		lineStart := off
		off = next
		m := markerRE.FindStringSubmatch(line)
		if m == nil {
			if strings.HasPrefix(strings.TrimSpace(line), "<!-- bench:") {
				return nil, fmt.Errorf("%w: line %d: %q is not a marker (want %s or %s)",
					ErrMarkers, lineNo, strings.TrimSpace(line), beginMarker("KEY"), endMarker("KEY"))
			}
			continue
		}
		kind, key := m[1], m[2]
		if key == "" {
			return nil, fmt.Errorf("%w: line %d: unkeyed <!-- bench:%s -->: convert the block to %s … %s (KEY a CPU kind such as amd-avx2)",
				ErrMarkers, lineNo, kind, beginMarker("KEY"), endMarker("KEY"))
		}
		if !keyRE.MatchString(key) {
			return nil, fmt.Errorf("%w: line %d: bad key %q", ErrMarkers, lineNo, key)
		}
		switch kind {
		case "begin":
			if open != nil {
				return nil, fmt.Errorf("%w: line %d: %s nested inside %s (line %d)",
					ErrMarkers, lineNo, beginMarker(key), beginMarker(open.key), open.line)
			}
			if first, ok := seen[key]; ok {
				return nil, fmt.Errorf("%w: line %d: second %s (the first is at line %d)",
					ErrMarkers, lineNo, beginMarker(key), first)
			}
			seen[key] = lineNo
			open = &tableBlock{key: key, line: lineNo, start: next}
		case "end":
			if open == nil {
				return nil, fmt.Errorf("%w: line %d: %s without %s", ErrMarkers, lineNo, endMarker(key), beginMarker(key))
			}
			if key != open.key {
				return nil, fmt.Errorf("%w: line %d: %s inside %s (line %d), which has no %s before it",
					ErrMarkers, lineNo, endMarker(key), beginMarker(open.key), open.line, endMarker(open.key))
			}
			open.end, open.after = lineStart, next
			blocks = append(blocks, *open)
			open = nil
		}
	}
	if open != nil {
		return nil, fmt.Errorf("%w: line %d: %s has no %s", ErrMarkers, open.line, beginMarker(open.key), endMarker(open.key))
	}
	return blocks, nil
}

// tableContent is what SpliceTables writes between a block's markers: the label in bold, a blank line
// and body, ending in exactly one newline.
func tableContent(label string, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString("**" + label + "**\n\n")
	b.Write(bytes.TrimRight(body, "\n"))
	b.WriteString("\n")
	return b.Bytes()
}

// SpliceTables returns readme with the block between "<!-- bench:begin KEY -->" and
// "<!-- bench:end KEY -->" (markers on lines of their own) replaced by a heading line "**label**", a
// blank line and body; everything outside that block is kept byte for byte. When readme has blocks but
// none for key, a new block is inserted, after a blank line, right after the last block's end marker.
// A readme with no block, an unkeyed (legacy) marker, a begin without its end, a key used twice or
// nested blocks is an error wrapping ErrMarkers.
func SpliceTables(readme []byte, key, label string, body []byte) ([]byte, error) {
	if !keyRE.MatchString(key) {
		return nil, fmt.Errorf("%w: bad key %q (want lowercase letters, digits and dashes, like amd-avx2)", ErrMarkers, key)
	}
	if label == "" || strings.ContainsAny(label, "\r\n") {
		return nil, fmt.Errorf("%w: label %q must be one non-empty line", ErrMarkers, label)
	}
	blocks, err := parseTableBlocks(readme)
	if err != nil {
		return nil, err
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("%w: no %s … %s block found", ErrMarkers, beginMarker("KEY"), endMarker("KEY"))
	}
	content := tableContent(label, body)
	var out bytes.Buffer
	for _, b := range blocks {
		if b.key == key {
			out.Write(readme[:b.start])
			out.Write(content)
			out.Write(readme[b.end:])
			return out.Bytes(), nil
		}
	}
	last := blocks[len(blocks)-1]
	out.Write(readme[:last.after])
	if last.after > 0 && readme[last.after-1] != '\n' {
		out.WriteString("\n")
	}
	out.WriteString("\n" + beginMarker(key) + "\n")
	out.Write(content)
	out.WriteString(endMarker(key) + "\n")
	out.Write(readme[last.after:])
	return out.Bytes(), nil
}

// SpliceTablesFile applies SpliceTables to the file at path and writes the result back through a
// temporary file in the same directory and a rename, keeping the file's permissions.
func SpliceTablesFile(path, key, label string, body []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("splice %s: %w", path, err)
	}
	readme, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("splice %s: %w", path, err)
	}
	out, err := SpliceTables(readme, key, label, body)
	if err != nil {
		return fmt.Errorf("splice %s: %w", path, err)
	}
	return writeFileAtomicMode(path, out, fi.Mode().Perm())
}
