package trace_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/agentlens/agentlens/trace"
)

// zipOf builds an archive of name/content pairs.
func zipOf(t testing.TB, entries ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(entries); i += 2 {
		w, err := zw.Create(entries[i])
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, entries[i+1])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const okHeader = `{"version":2,"eval":{"task":"t","model":"m"}}`

// checkErr fails unless err wraps want and its message contains every one of wantIn.
func checkErr(t *testing.T, err, want error, wantIn ...string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
	for _, s := range wantIn {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

func TestBadInspectEval(t *testing.T) {
	full, err := os.ReadFile(evalFixture)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    []byte
		lim     trace.Limits
		wantErr error
		wantIn  []string
	}{
		{"not a zip", []byte("this is not an archive"), trace.Limits{}, trace.ErrFormat, []string{"bad.eval"}},
		{"truncated", full[:len(full)/2], trace.Limits{}, trace.ErrFormat, []string{"bad.eval"}},
		{"dot dot", zipOf(t, "header.json", okHeader, "samples/../../etc/passwd.json", "{}"), trace.Limits{}, trace.ErrUnsafePath, []string{"bad.eval", `"samples/../../etc/passwd.json"`}},
		{"leading dot dot", zipOf(t, "../header.json", okHeader), trace.Limits{}, trace.ErrUnsafePath, []string{`"../header.json"`}},
		{"absolute", zipOf(t, "header.json", okHeader, "/samples/1_epoch_1.json", "{}"), trace.Limits{}, trace.ErrUnsafePath, []string{`"/samples/1_epoch_1.json"`}},
		{"windows drive", zipOf(t, `C:\samples\1_epoch_1.json`, "{}"), trace.Limits{}, trace.ErrUnsafePath, []string{`C:`}},
		{"backslash dot dot", zipOf(t, `samples\..\..\x.json`, "{}"), trace.Limits{}, trace.ErrUnsafePath, []string{`x.json`}},
		{"no header", zipOf(t, "samples/1_epoch_1.json", `{"id":1,"epoch":1,"messages":[]}`), trace.Limits{}, trace.ErrMissingFile, []string{"bad.eval", "header.json"}},
		{"bad header json", zipOf(t, "header.json", "{"), trace.Limits{}, trace.ErrFormat, []string{"bad.eval", "entry header.json"}},
		{"bad sample json", zipOf(t, "header.json", okHeader, "samples/1_epoch_1.json", `{"id":1,"messages":[`), trace.Limits{}, trace.ErrFormat, []string{"entry samples/1_epoch_1.json"}},
		{"sample without id", zipOf(t, "header.json", okHeader, "samples/x_epoch_1.json", `{"epoch":1,"messages":[]}`), trace.Limits{}, trace.ErrFormat, []string{"samples/x_epoch_1.json", "id: missing"}},
		{"sample without messages", zipOf(t, "header.json", okHeader, "samples/1_epoch_1.json", `{"id":1,"epoch":1,"messages":[]}`), trace.Limits{}, trace.ErrFormat, []string{"bad.eval!samples/1_epoch_1.json", "messages: empty"}},
		{"messages not an array", zipOf(t, "header.json", okHeader, "samples/1_epoch_1.json", `{"id":1,"epoch":1,"messages":"hi"}`), trace.Limits{}, trace.ErrFormat, []string{"bad.eval!samples/1_epoch_1.json", "messages: expected an array, got a string"}},
		{"unsupported compression", rawMethodZip(t, "header.json", okHeader, 14), trace.Limits{}, trace.ErrFormat, []string{"bad.eval", "entry header.json", "compression method 14 (want store, deflate or zstd)"}},
		{"unknown role", zipOf(t, "header.json", okHeader, "samples/1_epoch_1.json", `{"id":1,"epoch":1,"messages":[{"role":"user","content":"hi"},{"role":"robot","content":"beep"}]}`),
			trace.Limits{}, trace.ErrUnknownRole, []string{"samples/1_epoch_1.json", `messages[1].role "robot"`}},
		{"bad content", zipOf(t, "header.json", okHeader, "samples/1_epoch_1.json", `{"id":1,"epoch":1,"messages":[{"role":"user","content":7}]}`),
			trace.Limits{}, trace.ErrFormat, []string{"samples/1_epoch_1.json", "messages[0].content"}},
		{"tool call without function", zipOf(t, "header.json", okHeader, "samples/1_epoch_1.json", `{"id":1,"epoch":1,"messages":[{"role":"assistant","content":"","tool_calls":[{"id":"a","arguments":{}}]}]}`),
			trace.Limits{}, trace.ErrFormat, []string{"messages[0].tool_calls[0].function: missing"}},
		{"malformed tool tag", zipOf(t, "header.json", okHeader, "samples/1_epoch_1.json", `{"id":1,"epoch":1,"messages":[{"role":"assistant","content":"<tool_use:email>\nto: \"x\""}]}`),
			trace.Limits{}, trace.ErrMalformedTag, []string{"samples/1_epoch_1.json", "assistant[0]", "not closed", "</tool_use:email>"}},
		{"entry too large", zipOf(t, "header.json", okHeader, "samples/1_epoch_1.json", `{"id":1,"epoch":1,"messages":[{"role":"user","content":"`+strings.Repeat("x", 5000)+`"}]}`),
			trace.Limits{MaxFileBytes: 1000}, trace.ErrTooLarge, []string{"entry samples/1_epoch_1.json", "limit 1000"}},
		{"too many entries", zipOf(t, "header.json", okHeader, "a", "", "b", ""), trace.Limits{MaxArchiveLen: 2}, trace.ErrTooLarge, []string{"3 entries", "limit 2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "bad.eval", tc.data)
			_, err := trace.Load(p, trace.LoadOptions{Limits: tc.lim})
			checkErr(t, err, tc.wantErr, tc.wantIn...)
			// The same through an already opened archive.
			if _, err := trace.ReadInspectEvalFrom(bytes.NewReader(tc.data), int64(len(tc.data)), "bad.eval", tc.lim); !errors.Is(err, tc.wantErr) {
				t.Errorf("ReadInspectEvalFrom error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// TestBadInspectEvalInsecurePathGODEBUG: with GODEBUG=zipinsecurepath=0 archive/zip reports unsafe
// names itself; Load still says which entry.
func TestBadInspectEvalInsecurePathGODEBUG(t *testing.T) {
	t.Setenv("GODEBUG", "zipinsecurepath=0")
	p := writeFile(t, t.TempDir(), "bad.eval", zipOf(t, "header.json", okHeader, "../up.json", "{}"))
	_, err := trace.Load(p, trace.LoadOptions{})
	checkErr(t, err, trace.ErrUnsafePath, `"../up.json"`)
}

func TestBadMisalignment(t *testing.T) {
	const cond = "blackmail_explicit-america_replacement"
	good := map[string]string{
		"prompts/" + cond + "/system_prompt.txt":         "sys",
		"prompts/" + cond + "/user_prompt.txt":           "user",
		"prompts/" + cond + "/email_content.txt":         "<email>\nFrom: a\nBody: b\n</email>",
		"prompts/" + cond + "/metadata.json":             `{"scenario":"blackmail"}`,
		"models/m/" + cond + "/sample_001/response.json": `{"raw_response":"ok","classification":{"harmful_behavior":false}}`,
	}
	tests := []struct {
		name    string
		change  map[string]string // "" deletes
		wantErr error
		wantIn  []string
	}{
		{"no models dir", map[string]string{"models/m/" + cond + "/sample_001/response.json": ""}, trace.ErrUnknownFormat, []string{"looked for an agentic-misalignment models/ directory or inspect_ai logs"}},
		{"missing email content", map[string]string{"prompts/" + cond + "/email_content.txt": ""}, trace.ErrMissingFile, []string{filepath.Join("prompts", cond, "email_content.txt")}},
		{"missing system prompt", map[string]string{"prompts/" + cond + "/system_prompt.txt": ""}, trace.ErrMissingFile, []string{"system_prompt.txt"}},
		{"bad response json", map[string]string{"models/m/" + cond + "/sample_001/response.json": "{"}, trace.ErrFormat, []string{"sample_001", "response.json"}},
		{"no raw_response", map[string]string{"models/m/" + cond + "/sample_001/response.json": `{"classification":{}}`}, trace.ErrFormat, []string{"response.json", "raw_response: missing"}},
		{"bad harmful_behavior", map[string]string{"models/m/" + cond + "/sample_001/response.json": `{"raw_response":"x","classification":{"harmful_behavior":"yes"}}`},
			trace.ErrFormat, []string{"response.json", "classification.harmful_behavior"}},
		{"bad metadata", map[string]string{"prompts/" + cond + "/metadata.json": "[1,"}, trace.ErrFormat, []string{"metadata.json"}},
		{"malformed tag in response", map[string]string{"models/m/" + cond + "/sample_001/response.json": `{"raw_response":"<SCRATCHPAD_REASONING>never closed"}`},
			trace.ErrMalformedTag, []string{"response.json", "assistant[0]", "<SCRATCHPAD_REASONING> not closed"}},
		{"stray close in emails", map[string]string{"prompts/" + cond + "/email_content.txt": "hi </email>"}, trace.ErrMalformedTag, []string{"user[0]", "</email> without opening tag"}},
		{"sample outside a condition", map[string]string{"models/sample_001/response.json": `{"raw_response":"x"}`}, trace.ErrFormat, []string{"models/<model>/<condition>/sample_NNN/response.json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{}
			for k, v := range good {
				files[k] = v
			}
			for k, v := range tc.change {
				files[k] = v
			}
			for k, v := range files {
				if v != "" {
					writeFile(t, dir, k, []byte(v))
				}
			}
			_, err := trace.Load(dir, trace.LoadOptions{})
			checkErr(t, err, tc.wantErr, tc.wantIn...)
		})
	}
}

func TestBadJSONFormats(t *testing.T) {
	tests := []struct {
		name    string
		format  trace.Format
		data    string
		wantErr error
		wantIn  []string
	}{
		{"openai unknown role", trace.FormatOpenAI, `{"messages":[{"role":"user","content":"a"},{"role":"robot","content":"b"}]}`, trace.ErrUnknownRole, []string{"in.json", `messages[1].role "robot"`}},
		{"openai no messages", trace.FormatOpenAI, `{"id":"x"}`, trace.ErrFormat, []string{"in.json", "messages: missing"}},
		{"openai bad content", trace.FormatOpenAI, `{"messages":[{"role":"user","content":{"a":1}}]}`, trace.ErrFormat, []string{"messages[0].content"}},
		{"openai tool_calls not a list", trace.FormatOpenAI, `{"messages":[{"role":"assistant","tool_calls":{}}]}`, trace.ErrFormat, []string{"in.json", "tool_calls"}},
		{"openai jsonl bad line", trace.FormatOpenAI, "{\"role\":\"user\",\"content\":\"a\"}\n{\"role\":\n", trace.ErrFormat, []string{"in.json:2"}},
		{"openai jsonl mixed", trace.FormatOpenAI, "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}\n{\"role\":\"user\",\"content\":\"a\"}\n", trace.ErrFormat, []string{"mixes conversation lines and message lines"}},
		{"openai jsonl not a message", trace.FormatOpenAI, "{\"a\":1}\n{\"b\":2}\n", trace.ErrFormat, []string{"in.json:1", "neither a message nor a conversation"}},
		{"openai empty", trace.FormatOpenAI, "  \n", trace.ErrFormat, []string{"in.json: empty"}},
		{"openai malformed tool tag", trace.FormatOpenAI, `[{"role":"assistant","content":"<tool_use:email>to: x</tool_use:forward>"}]`, trace.ErrMalformedTag, []string{"in.json", "assistant[0]", "closed by </tool_use:forward>"}},
		{"openai bad tool tag name", trace.FormatOpenAI, `[{"role":"assistant","content":"<tool_use:e mail>"}]`, trace.ErrMalformedTag, []string{"assistant[0]", "bad tool tag"}},
		{"openai nested email", trace.FormatOpenAI, `[{"role":"user","content":"<email>a<email>b</email></email>"}]`, trace.ErrMalformedTag, []string{"user[0]", "opened again"}},
		{"anthropic unknown block", trace.FormatAnthropic, `{"system":"s","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"video"}]}]}`, trace.ErrFormat, []string{"in.json", "messages[0].content", `[1].type "video"`}},
		{"anthropic server tool", trace.FormatAnthropic, `{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}},{"type":"web_search_tool_result","tool_use_id":"s","content":[]}]}]}`,
			trace.ErrFormat, []string{"in.json", "messages[1].content", `[0].type "server_tool_use": server-side tool blocks are not supported yet`}},
		{"anthropic system role in messages", trace.FormatAnthropic, `{"messages":[{"role":"system","content":"s"}]}`, trace.ErrUnknownRole, []string{`messages[0].role "system"`}},
		{"anthropic tool_use in system", trace.FormatAnthropic, `{"system":[{"type":"tool_use","name":"f"}],"messages":[{"role":"user","content":"hi"}]}`, trace.ErrFormat, []string{"system", "tool_use block not allowed"}},
		{"anthropic no messages", trace.FormatAnthropic, `{"system":"s"}`, trace.ErrFormat, []string{"messages: missing"}},
		{"anthropic bad tool_result", trace.FormatAnthropic, `{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":5}]}]}`, trace.ErrFormat, []string{"messages[0].content[0].content"}},
		{"anthropic jsonl bad line", trace.FormatAnthropic, "{\"messages\":[]}\nnot json\n", trace.ErrFormat, []string{"in.json:2"}},
		{"inspect json no samples", trace.FormatInspectJSON, `{"version":2,"eval":{}}`, trace.ErrFormat, []string{"in.json", "samples: missing"}},
		{"inspect json unknown role", trace.FormatInspectJSON, `{"eval":{},"samples":[{"id":"a","messages":[{"role":"narrator","content":""}]}]}`, trace.ErrUnknownRole, []string{"in.json: samples[0]", `messages[0].role "narrator"`}},
		{"native wrong format", trace.FormatNative, `{"format":"other.v9","id":"a","messages":[]}`, trace.ErrFormat, []string{"in.json:1", `format "other.v9"`}},
		{"native unknown field", trace.FormatNative, `{"format":"agentlens.episode.v1","id":"a","messages":[],"extra":1}`, trace.ErrFormat, []string{"in.json:1", "extra"}},
		{"native empty id", trace.FormatNative, `{"format":"agentlens.episode.v1","messages":[]}`, trace.ErrFormat, []string{"in.json:1", "id: empty"}},
		{"native unknown role", trace.FormatNative, "\n" + `{"format":"agentlens.episode.v1","id":"a","messages":[{"role":"ghost","content":""}]}`, trace.ErrUnknownRole, []string{"in.json:2", `messages[0].role "ghost"`}},
		// Errors speak of the input's fields and JSON kinds, not Go types.
		{"openai message not an object", trace.FormatOpenAI, `[1]`, trace.ErrFormat, []string{"in.json: [0]: expected an object, got a number"}},
		{"openai role not a string", trace.FormatOpenAI, `{"messages":[{"role":"user","content":"a"},{"role":5}]}`, trace.ErrFormat, []string{"in.json: messages[1].role: expected a string, got a number"}},
		{"openai messages not an array", trace.FormatOpenAI, `{"messages":{}}`, trace.ErrFormat, []string{"in.json: messages: expected an array, got an object"}},
		{"openai tool call id not a string", trace.FormatOpenAI, `{"messages":[{"role":"assistant","tool_calls":[{"id":7}]}]}`, trace.ErrFormat, []string{"messages[0].tool_calls[0].id: expected a string, got a number"}},
		{"openai truncated", trace.FormatOpenAI, `{"messages":[{"role":"user"`, trace.ErrFormat, []string{"in.json:1: invalid JSON: unexpected end of input"}},
		{"anthropic block not an object", trace.FormatAnthropic, `{"system":"s","messages":[{"role":"user","content":["hi"]}]}`, trace.ErrFormat, []string{"messages[0].content: [0]: expected an object, got a string"}},
		{"inspect json epoch not a number", trace.FormatInspectJSON, `{"eval":{},"samples":[{"id":"a","epoch":"one","messages":[{"role":"user","content":"x"}]}]}`, trace.ErrFormat, []string{"in.json: samples[0]: epoch: expected an integer, got a string"}},
		{"misalignment-style metadata wrong", trace.FormatOpenAI, `{"messages":[{"role":"user","content":"a"}],"metadata":[1]}`, trace.ErrFormat, []string{"metadata: expected an object, got an array"}},
		// An episode needs messages.
		{"openai empty messages", trace.FormatOpenAI, `{"messages": []}`, trace.ErrFormat, []string{"in.json", "messages: empty"}},
		{"openai empty array", trace.FormatOpenAI, `[]`, trace.ErrFormat, []string{"in.json", "messages: empty"}},
		{"anthropic empty messages", trace.FormatAnthropic, `{"system":"s","messages":[]}`, trace.ErrFormat, []string{"in.json", "messages: empty"}},
		{"inspect json empty messages", trace.FormatInspectJSON, `{"eval":{},"samples":[{"id":"a","epoch":1,"messages":[]}]}`, trace.ErrFormat, []string{"in.json: samples[0]", "messages: empty"}},
		{"inspect json no messages", trace.FormatInspectJSON, `{"eval":{},"samples":[{"id":"a","epoch":1}]}`, trace.ErrFormat, []string{"in.json: samples[0]", "messages: missing"}},
		{"native empty messages", trace.FormatNative, `{"format":"agentlens.episode.v1","id":"a","messages":[]}`, trace.ErrFormat, []string{"in.json:1", "episode a: messages: empty"}},
		{"native malformed tag", trace.FormatNative, `{"format":"agentlens.episode.v1","id":"a","messages":[{"role":"assistant","content":"ok </SCRATCHPAD_REASONING>"}]}`, trace.ErrMalformedTag, []string{"in.json:1", "episode a", "assistant[0]", "offset 3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "in.json", []byte(tc.data))
			_, err := trace.Load(p, trace.LoadOptions{Format: tc.format})
			checkErr(t, err, tc.wantErr, tc.wantIn...)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := trace.Load(filepath.Join(dir, "absent.jsonl"), trace.LoadOptions{})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "absent.jsonl") {
		t.Errorf("Load(absent) error = %v, want ErrNotExist naming the file", err)
	}
	p := writeFile(t, dir, "notes.txt", []byte("just some notes"))
	checkErr(t, func() error { _, err := trace.Load(p, trace.LoadOptions{}); return err }(), trace.ErrUnknownFormat, "notes.txt")
	checkErr(t, func() error { _, err := trace.Load(dir, trace.LoadOptions{Format: trace.FormatOpenAI}); return err }(), trace.ErrFormat, "directory")
	checkErr(t, func() error { _, err := trace.Read(strings.NewReader("{}"), "x", "yaml", trace.Limits{}); return err }(), trace.ErrUnknownFormat, `"yaml"`)
}

// endless is a reader of n bytes of pattern that counts what was read from it.
type endless struct {
	pattern []byte
	left    int64
	read    int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && int64(n) < e.left {
		p[n] = e.pattern[(e.read+int64(n))%int64(len(e.pattern))]
		n++
	}
	e.left -= int64(n)
	e.read += int64(n)
	return n, nil
}

// TestHugeInputs feeds 1 GiB streams to every reader with small limits: each stops with ErrTooLarge after
// reading little more than its limit, allocating a bounded amount of memory.
func TestHugeInputs(t *testing.T) {
	const limit = 1 << 20
	lim := trace.Limits{MaxFileBytes: limit, MaxLineBytes: limit}
	tests := []struct {
		name    string
		read    func(io.Reader) error
		pattern string
		wantIn  string
	}{
		{"native one endless line", func(r io.Reader) error { _, err := trace.ReadNative(r, "big.jsonl", lim); return err }, "x", "big.jsonl:1: line longer than"},
		{"openai", func(r io.Reader) error { _, err := trace.ReadOpenAI(r, "big.json", lim); return err }, `{"role":"user","content":"aaaa"}` + "\n", "big.json: larger than"},
		{"anthropic", func(r io.Reader) error { _, err := trace.ReadAnthropic(r, "big.json", lim); return err }, "[", "big.json: larger than"},
		{"inspect json", func(r io.Reader) error { _, err := trace.ReadInspectJSON(r, "big.json", lim); return err }, " ", "big.json: larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &endless{pattern: []byte(tc.pattern), left: 1 << 30}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := tc.read(src)
			runtime.ReadMemStats(&after)
			checkErr(t, err, trace.ErrTooLarge, tc.wantIn)
			if src.read > 2*limit {
				t.Errorf("read %d bytes of the stream, want at most %d", src.read, 2*limit)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16*limit {
				t.Errorf("allocated %d bytes, want at most %d", alloc, 16*limit)
			}
		})
	}
	// A native file of many small lines streams: memory grows with the episodes kept, not the file.
	line := `{"format":"agentlens.episode.v1","id":"e","messages":[{"role":"user","content":"hi"}]}` + "\n"
	eps, err := trace.ReadNative(&endless{pattern: []byte(line), left: int64(len(line)) * 2000}, "many.jsonl", lim)
	if err != nil || len(eps) != 2000 {
		t.Errorf("ReadNative(2000 lines) = %d episodes, %v", len(eps), err)
	}
	// Load checks the size of a file before parsing it (a sparse 300 MiB file costs no disk).
	p := filepath.Join(t.TempDir(), "sparse.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"messages":[`)
	if err := f.Truncate(300 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = trace.Load(p, trace.LoadOptions{Format: trace.FormatOpenAI, Limits: lim})
	checkErr(t, err, trace.ErrTooLarge, "sparse.json")
}

// TestOpenAIBrokenArguments: arguments a model wrote as broken JSON are data, not bad input; they are kept
// as the JSON string they were.
func TestOpenAIBrokenArguments(t *testing.T) {
	eps, err := trace.ReadOpenAI(strings.NewReader(`[{"role":"assistant","tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\"to\": "}}]}]`), "in.json", trace.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(eps[0].Messages[0].ToolCalls[0].Arguments), `"{\"to\": "`; got != want {
		t.Errorf("Arguments = %s, want %s", got, want)
	}
}

// TestRenderInvalidUTF8: templates print invalid UTF-8 changed, so Render refuses it and says where.
func TestRenderInvalidUTF8(t *testing.T) {
	ep := &trace.Episode{ID: "bad-utf8", Messages: []trace.Message{
		{Role: trace.RoleUser, Content: "ok"}, {Role: trace.RoleAssistant, Content: "caf\xe9"}}}
	_, err := trace.Render(ep, committedTemplate(t, "smollm2.jinja"), nil, trace.RenderOptions{})
	checkErr(t, err, trace.ErrFormat, "episode bad-utf8", "message assistant[0]", "content", "invalid UTF-8 at byte 3")
	ep.Messages[1].Content = "x\U000F0001"
	_, err = trace.Render(ep, committedTemplate(t, "smollm2.jinja"), nil, trace.RenderOptions{})
	checkErr(t, err, trace.ErrFormat, "message assistant[0]", "private-use rune U+F0001 at byte 1")
	ep.Messages[1].Content = "caf\u00e9 \uFFFD" // valid, including a real replacement character
	if _, err := trace.Render(ep, committedTemplate(t, "smollm2.jinja"), nil, trace.RenderOptions{}); err != nil {
		t.Errorf("Render(valid UTF-8) = %v", err)
	}
}

// TestMisalignmentInvalidUTF8: prompt files are text; invalid bytes become U+FFFD as in JSON inputs, so
// that the episode exports to native JSONL losslessly.
func TestMisalignmentInvalidUTF8(t *testing.T) {
	dir := t.TempDir()
	const cond = "leaking_none-none_none"
	writeFile(t, dir, "prompts/"+cond+"/system_prompt.txt", []byte("sys\xff"))
	writeFile(t, dir, "prompts/"+cond+"/user_prompt.txt", []byte("u"))
	writeFile(t, dir, "prompts/"+cond+"/email_content.txt", []byte("e"))
	writeFile(t, dir, "models/m/"+cond+"/sample_001/response.json", []byte(`{"raw_response":"r"}`))
	eps, err := trace.Load(dir, trace.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := eps[0].Messages[0].Content; got != "sys\uFFFD" {
		t.Errorf("system = %q, want %q", got, "sys\uFFFD")
	}
	checkImported(t, eps)
}

// rawMethodZip builds an archive of one entry stored under another compression method's number.
func rawMethodZip(t testing.TB, name, data string, method uint16) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: method, CRC32: crc32.ChecksumIEEE([]byte(data)),
		CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestLoadDirectory: a directory that is not an agentic-misalignment experiment is read as inspect_ai's log
// directory, every log in it; one with no logs says what was looked for.
func TestLoadDirectory(t *testing.T) {
	eps, err := trace.Load("testdata/inspect/real", trace.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ep := range eps {
		got = append(got, ep.Source[:strings.IndexAny(ep.Source, "!:")]+" "+ep.ID)
	}
	// log.eval's samples by id and epoch, then log.json's in the order the log holds them.
	want := []string{
		realEval + " blackmail_epoch_1", realEval + " blackmail_epoch_2", realEval + " crash_epoch_1", realEval + " crash_epoch_2", realEval + " leak_epoch_1", realEval + " leak_epoch_2",
		realJSON + " blackmail_epoch_1", realJSON + " crash_epoch_1", realJSON + " leak_epoch_1", realJSON + " blackmail_epoch_2", realJSON + " crash_epoch_2", realJSON + " leak_epoch_2",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Load(testdata/inspect/real) =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, tc := range []struct {
		format trace.Format
		want   int
	}{{trace.FormatInspectEval, 6}, {trace.FormatInspectJSON, 6}} {
		eps, err := trace.Load("testdata/inspect/real", trace.LoadOptions{Format: tc.format})
		if err != nil || len(eps) != tc.want {
			t.Errorf("Load(testdata/inspect/real, %s) = %d episodes, %v; want %d", tc.format, len(eps), err, tc.want)
		}
	}

	empty := t.TempDir()
	_, err = trace.Load(empty, trace.LoadOptions{})
	checkErr(t, err, trace.ErrUnknownFormat, empty, `looked for an agentic-misalignment models/ directory or inspect_ai logs (*.eval, or *.json with "eval" and "samples"), found none`)
	other := t.TempDir()
	writeFile(t, other, "logs.json", []byte(`{"2025-06-11_task.eval": {"eval": {}}}`))
	writeFile(t, other, "notes.txt", []byte("hi"))
	_, err = trace.Load(other, trace.LoadOptions{})
	checkErr(t, err, trace.ErrUnknownFormat, "found none (1 other .json files)")
	_, err = trace.Load(other, trace.LoadOptions{Format: trace.FormatInspectEval})
	checkErr(t, err, trace.ErrUnknownFormat, "looked for inspect_ai .eval logs")
	// A log that fails names itself.
	writeFile(t, other, "sub/bad.eval", []byte("not a zip"))
	_, err = trace.Load(other, trace.LoadOptions{})
	checkErr(t, err, trace.ErrFormat, filepath.Join(other, "sub", "bad.eval"))
}

// TestNewerInputs covers what today's producers write that older fixtures did not: a UTF-8 byte order
// mark, OpenAI refusals (field and content part) and the legacy function_call.
func TestNewerInputs(t *testing.T) {
	dir := t.TempDir()
	bom := "\xef\xbb\xbf"
	tests := []struct {
		name string
		file string
		data string
		want []trace.Message
	}{
		{"bom openai", "bom.json", bom + `{"messages":[{"role":"user","content":"hi"}]}`, []trace.Message{{Role: trace.RoleUser, Content: "hi"}}},
		{"bom native", "bom.jsonl", bom + `{"format":"agentlens.episode.v1","id":"a","messages":[{"role":"user","content":"hi"}]}` + "\n", []trace.Message{{Role: trace.RoleUser, Content: "hi"}}},
		{"openai refusal", "refusal.json", `{"messages":[{"role":"user","content":"Blackmail Kyle."},{"role":"assistant","content":null,"refusal":"I can't help with that."},` +
			`{"role":"assistant","content":[{"type":"refusal","refusal":"No."}]}]}`,
			[]trace.Message{{Role: trace.RoleUser, Content: "Blackmail Kyle."}, {Role: trace.RoleAssistant, Content: "I can't help with that."}, {Role: trace.RoleAssistant, Content: "No."}}},
		{"openai function_call", "fc.json", `[{"role":"user","content":"mail"},{"role":"assistant","content":null,"function_call":{"name":"send_email","arguments":"{\"to\": \"kyle@x.com\"}"}},{"role":"function","name":"send_email","content":"sent"}]`,
			[]trace.Message{{Role: trace.RoleUser, Content: "mail"}, {Role: trace.RoleAssistant, ToolCalls: []trace.ToolCall{{Name: "send_email", Arguments: json.RawMessage(`{"to":"kyle@x.com"}`)}}},
				{Role: trace.RoleTool, Content: "sent", Name: "send_email"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, dir, tc.file, []byte(tc.data))
			eps, err := trace.Load(p, trace.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := stripSegments(eps)[0].Messages
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("messages =\n%s\nwant\n%s", jsonText(got), jsonText(tc.want))
			}
		})
	}
	// Prompt files of an agentic-misalignment experiment saved with a byte order mark.
	const cond = "leaking_none-none_none"
	writeFile(t, dir, "am/prompts/"+cond+"/system_prompt.txt", []byte(bom+"sys"))
	writeFile(t, dir, "am/prompts/"+cond+"/user_prompt.txt", []byte("u"))
	writeFile(t, dir, "am/prompts/"+cond+"/email_content.txt", []byte("e"))
	writeFile(t, dir, "am/models/m/"+cond+"/sample_001/response.json", []byte(bom+`{"raw_response":"r"}`))
	eps, err := trace.Load(filepath.Join(dir, "am"), trace.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := eps[0].Messages[0].Content, "sys"; got != want {
		t.Errorf("system = %q, want %q", got, want)
	}
}

// zstdZip builds an archive whose entries are Zstandard-compressed (zip method 93, as inspect_ai writes
// them), each with the uncompressed size its header declares: -1 for the true size.
func zstdZip(t testing.TB, entries ...zstdEntry) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		comp := enc.EncodeAll(e.data, nil)
		if e.stream { // a streamed frame does not declare its content size
			var cb bytes.Buffer
			sw, err := zstd.NewWriter(&cb, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<16))
			if err != nil {
				t.Fatal(err)
			}
			for at := 0; at < len(e.data); at += 1 << 16 {
				sw.Write(e.data[at:min(at+1<<16, len(e.data))])
			}
			if err := sw.Close(); err != nil {
				t.Fatal(err)
			}
			comp = cb.Bytes()
		}
		size := uint64(len(e.data))
		if e.declared >= 0 {
			size = uint64(e.declared)
		}
		w, err := zw.CreateRaw(&zip.FileHeader{Name: e.name, Method: 93, CRC32: crc32.ChecksumIEEE(e.data),
			CompressedSize64: uint64(len(comp)), UncompressedSize64: size})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(comp)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zstdEntry struct {
	name     string
	data     []byte
	declared int64
	stream   bool // compress as a stream, whose frame header has no content size
}

// TestInspectEvalZstd: Zstandard entries read like deflated ones, under the same per-entry bound: a small
// entry that inflates past the limit (declaring its true size, or lying about it) is refused, naming the
// file and the entry, after reading little more than the limit.
func TestInspectEvalZstd(t *testing.T) {
	const limit = 1 << 20
	sample := []byte(`{"id":1,"epoch":1,"messages":[{"role":"user","content":"hi"}]}`)
	// 64 MiB of JSON whitespace inside a valid sample: compresses to a few KiB.
	bomb := append(append([]byte(`{"id":1,"epoch":1,"messages":[{"role":"user","content":"hi"}]`), bytes.Repeat([]byte(" "), 64<<20)...), '}')
	ok := zstdZip(t, zstdEntry{"header.json", []byte(okHeader), -1, false}, zstdEntry{"samples/1_epoch_1.json", sample, -1, true})
	eps, err := trace.ReadInspectEvalFrom(bytes.NewReader(ok), int64(len(ok)), "ok.eval", trace.Limits{})
	if err != nil {
		t.Fatalf("ReadInspectEvalFrom(zstd archive) = %v", err)
	}
	if got, want := len(eps), 1; got != want {
		t.Fatalf("ReadInspectEvalFrom(zstd archive) = %d episodes, want %d", got, want)
	}
	if got, want := eps[0].Messages[0].Content, "hi"; got != want {
		t.Errorf("content = %q, want %q", got, want)
	}
	tests := []struct {
		name     string
		declared int64
		stream   bool
		wantIn   []string
	}{
		{"true size declared", -1, false, []string{"bomb.eval", "entry samples/1_epoch_1.json", "67108926 bytes (limit 1048576)"}},
		{"small size declared, frame has its size", 100, false, []string{"bomb.eval", "entry samples/1_epoch_1.json", "zstd frame larger than the limit of 1048576 bytes"}},
		{"small size declared, streamed frame", 100, true, []string{"bomb.eval", "entry samples/1_epoch_1.json", "inflates past its declared 100 bytes"}},
		{"size within the limit declared, streamed frame", limit - 10, true, []string{"bomb.eval", "entry samples/1_epoch_1.json", "inflates past its declared 1048566 bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := zstdZip(t, zstdEntry{"header.json", []byte(okHeader), -1, false}, zstdEntry{"samples/1_epoch_1.json", bomb, tc.declared, tc.stream})
			if len(data) > 64<<10 {
				t.Fatalf("bomb archive is %d bytes, want a small one", len(data))
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := trace.ReadInspectEvalFrom(bytes.NewReader(data), int64(len(data)), "bomb.eval", trace.Limits{MaxFileBytes: limit})
			runtime.ReadMemStats(&after)
			checkErr(t, err, trace.ErrTooLarge, tc.wantIn...)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16*limit {
				t.Errorf("allocated %d bytes, want at most %d", alloc, 16*limit)
			}
			p := writeFile(t, t.TempDir(), "bomb.eval", data)
			_, err = trace.Load(p, trace.LoadOptions{Limits: trace.Limits{MaxFileBytes: limit}})
			checkErr(t, err, trace.ErrTooLarge, tc.wantIn[1:]...)
		})
	}
}
