package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ardanlabs/jinja"
)

// env holds an Input converted to engine values, ready to be rendered several times.
type env struct {
	in     Input
	args   [][]jinja.Value // per message, per tool call: decoded arguments (shared, read-only)
	tools  jinja.Value
	extra  map[string]jinja.Value
	now    time.Time
	marked bool // whether sentinel markers can be used for this input
	// override replaces the marked content of one message (refining a partially printed content).
	override map[int]string
}

const (
	contentMarkBase = 0xF0000  // plane 15 private use: content start 2i, end 2i+1
	callMarkBase    = 0x100000 // plane 16 private use: tool-call name start 2k, end 2k+1
	maxMarks        = 0x7FFE   // pairs per plane
)

func isMarker(r rune) bool { return r >= contentMarkBase }

func newEnv(in Input) (*env, error) {
	e := &env{in: in, now: in.Now}
	if e.now.IsZero() {
		e.now = time.Now()
	}
	e.args = make([][]jinja.Value, len(in.Messages))
	calls := 0
	e.marked = len(in.Messages) <= maxMarks
	for i, m := range in.Messages {
		if hasMarkerRune(m.Content) {
			e.marked = false
		}
		for j, tc := range m.ToolCalls {
			v, err := decodeArgs(tc.Arguments)
			if err != nil {
				return nil, fmt.Errorf("message %d: tool call %d (%s): arguments: %w", i, j, tc.Name, err)
			}
			e.args[i] = append(e.args[i], v)
			if hasMarkerRune(tc.Name) || hasMarkerRune(string(tc.Arguments)) {
				e.marked = false
			}
			calls++
		}
	}
	if calls > maxMarks {
		e.marked = false
	}
	if len(in.Tools) > 0 {
		items := make([]jinja.Value, len(in.Tools))
		for i, t := range in.Tools {
			v, err := decodeJSON(t)
			if err != nil {
				return nil, fmt.Errorf("tool %d: %w", i, err)
			}
			items[i] = v
		}
		e.tools = jinja.NewList(items)
	} else {
		e.tools = jinja.None()
	}
	e.extra = make(map[string]jinja.Value, len(in.Extra))
	for k, v := range in.Extra {
		switch x := v.(type) {
		case json.RawMessage:
			dv, err := decodeJSON(x)
			if err != nil {
				return nil, fmt.Errorf("extra %s: %w", k, err)
			}
			e.extra[k] = dv
		case jinja.Value:
			e.extra[k] = x
		default:
			e.extra[k] = jinja.FromGoValue(v)
		}
	}
	return e, nil
}

// splitSpace splits s into its leading whitespace, the rest and its trailing whitespace, as Jinja's trim
// (Python's str.strip) sees whitespace. An all-whitespace s is all core.
func splitSpace(s string) (lead, core, trail string) {
	core = strings.TrimFunc(s, unicode.IsSpace)
	if core == "" {
		return "", s, ""
	}
	i := strings.Index(s, core)
	return s[:i], core, s[i+len(core):]
}

func hasMarkerRune(s string) bool {
	for _, r := range s {
		if isMarker(r) {
			return true
		}
	}
	return false
}

func decodeArgs(raw json.RawMessage) (jinja.Value, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return jinja.NewDict(), nil
	}
	return decodeJSON(raw)
}

// build makes the template variables for messages[:n]; marked wraps contents and tool-call names in
// sentinel runes. Values are rebuilt on every call so a template that mutates them cannot leak state
// between renders.
func (e *env) build(marked bool, agp bool, n int) map[string]jinja.Value {
	d := make(map[string]jinja.Value, len(e.extra)+8)
	for k, v := range e.extra {
		d[k] = v
	}
	msgs := make([]jinja.Value, n)
	k := 0
	for i := 0; i < n; i++ {
		m := e.in.Messages[i]
		md := jinja.NewDict()
		dd := md.AsDict()
		if m.Reasoning != "" {
			dd.Set("thinking", jinja.NewString(m.Reasoning))
		}
		dd.Set("role", jinja.NewString(m.Role))
		content := m.Content
		if marked && content != "" {
			if o, ok := e.override[i]; ok {
				content = o
			} else {
				// The sentinels go inside the content's outer whitespace, so a template that trims the
				// content (Gemma's "| trim") prints them around what it keeps.
				lead, core, trail := splitSpace(content)
				content = lead + string(rune(contentMarkBase+2*i)) + core + string(rune(contentMarkBase+2*i+1)) + trail
			}
		}
		dd.Set("content", jinja.NewString(content))
		if m.Reasoning != "" {
			dd.Set("reasoning_content", jinja.NewString(m.Reasoning))
		}
		if len(m.ToolCalls) > 0 {
			calls := make([]jinja.Value, len(m.ToolCalls))
			for j, tc := range m.ToolCalls {
				name := tc.Name
				if marked {
					name = string(rune(callMarkBase+2*k)) + name + string(rune(callMarkBase+2*k+1))
				}
				k++
				fn := jinja.NewDict()
				fn.AsDict().Set("name", jinja.NewString(name))
				fn.AsDict().Set("arguments", copyValue(e.args[i][j]))
				c := jinja.NewDict()
				if tc.ID != "" {
					c.AsDict().Set("id", jinja.NewString(tc.ID))
				}
				c.AsDict().Set("type", jinja.NewString("function"))
				c.AsDict().Set("function", fn)
				calls[j] = c
			}
			dd.Set("tool_calls", jinja.NewList(calls))
		}
		if m.ToolCallID != "" {
			dd.Set("tool_call_id", jinja.NewString(m.ToolCallID))
		}
		if m.Name != "" {
			dd.Set("name", jinja.NewString(m.Name))
		}
		msgs[i] = md
	}
	d["messages"] = jinja.NewList(msgs)
	d["tools"] = copyValue(e.tools)
	d["documents"] = jinja.None()
	d["add_generation_prompt"] = jinja.NewBool(agp)
	d["bos_token"] = jinja.NewString(e.in.BOS)
	d["eos_token"] = jinja.NewString(e.in.EOS)
	d["raise_exception"] = jinja.NewCallable("raise_exception", raiseException)
	now := e.now
	d["strftime_now"] = jinja.NewCallable("strftime_now", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		if len(args) == 0 || !args[0].IsString() {
			return jinja.Undefined(), errors.New("strftime_now: missing format string")
		}
		return jinja.NewString(strftime(now, args[0].AsString())), nil
	})
	return d
}

func raiseException(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), &raiseError{msg: "raise_exception called without a message"}
	}
	v := args[0]
	if v.IsString() {
		return jinja.Undefined(), &raiseError{msg: v.AsString()}
	}
	return jinja.Undefined(), &raiseError{msg: v.String()}
}

// copyValue deep-copies lists and dicts so templates cannot mutate shared state.
func copyValue(v jinja.Value) jinja.Value {
	switch {
	case v.IsList():
		src := v.AsList().Items
		items := make([]jinja.Value, len(src))
		for i, x := range src {
			items[i] = copyValue(x)
		}
		return jinja.NewList(items)
	case v.IsDict():
		d := jinja.NewDict()
		src := v.AsDict()
		for _, k := range src.OrderedKeys() {
			x, _ := src.Get(k)
			d.AsDict().Set(k, copyValue(x))
		}
		return d
	}
	return v
}

// decodeJSON decodes JSON text into engine values, keeping object key order (so tojson prints keys in
// insertion order, as Python's json.dumps does) and integer-ness of numbers.
func decodeJSON(b []byte) (jinja.Value, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return jinja.Undefined(), err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("trailing data after JSON value")
		}
		return jinja.Undefined(), err
	}
	return v, nil
}

const maxJSONDepth = 512

func decodeValue(dec *json.Decoder, depth int) (jinja.Value, error) {
	if depth > maxJSONDepth {
		return jinja.Undefined(), errors.New("JSON nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return jinja.Undefined(), err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			d := jinja.NewDict()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return jinja.Undefined(), err
				}
				key, ok := kt.(string)
				if !ok {
					return jinja.Undefined(), fmt.Errorf("object key %v is not a string", kt)
				}
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return jinja.Undefined(), err
				}
				d.AsDict().Set(key, v)
			}
			if _, err := dec.Token(); err != nil {
				return jinja.Undefined(), err
			}
			return d, nil
		case '[':
			var items []jinja.Value
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return jinja.Undefined(), err
				}
				items = append(items, v)
			}
			if _, err := dec.Token(); err != nil {
				return jinja.Undefined(), err
			}
			if items == nil {
				items = []jinja.Value{}
			}
			return jinja.NewList(items), nil
		}
		return jinja.Undefined(), fmt.Errorf("unexpected delimiter %v", t)
	case json.Number:
		s := string(t)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return jinja.NewInt(i), nil
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return jinja.NewString(s), nil
		}
		return jinja.NewFloat(f), nil
	case string:
		return jinja.NewString(t), nil
	case bool:
		return jinja.NewBool(t), nil
	case nil:
		return jinja.None(), nil
	}
	return jinja.Undefined(), fmt.Errorf("unexpected JSON token %v", tok)
}

// strftime formats t with Python's strftime directives (glibc's "%-d" no-padding form included).
func strftime(t time.Time, format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		noPad := false
		if format[i] == '-' && i+1 < len(format) {
			noPad = true
			i++
		}
		num := func(v, width int) {
			if noPad {
				b.WriteString(strconv.Itoa(v))
			} else {
				fmt.Fprintf(&b, "%0*d", width, v)
			}
		}
		switch format[i] {
		case 'Y':
			b.WriteString(strconv.Itoa(t.Year()))
		case 'y':
			num(t.Year()%100, 2)
		case 'm':
			num(int(t.Month()), 2)
		case 'd':
			num(t.Day(), 2)
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'H':
			num(t.Hour(), 2)
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			num(h, 2)
		case 'M':
			num(t.Minute(), 2)
		case 'S':
			num(t.Second(), 2)
		case 'j':
			num(t.YearDay(), 3)
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'B':
			b.WriteString(t.Month().String())
		case 'b', 'h':
			b.WriteString(t.Month().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'Z':
			name, _ := t.Zone()
			b.WriteString(name)
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			if noPad {
				b.WriteByte('-')
			}
			b.WriteByte(format[i])
		}
	}
	return b.String()
}
