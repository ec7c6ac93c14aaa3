package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"testing"
)

// decodeOne decodes stdout of a --json run into v and fails unless it holds exactly one JSON document
// and nothing else (no table before or after it).
func decodeOne(t *testing.T, stdout []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(stdout))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("--json output does not decode: %v\n%s", err, stdout)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		t.Fatalf("--json output holds more than one document (next: %v, %.80s)\n%s", err, extra, stdout)
	}
}

func TestVersionJSON(t *testing.T) {
	f, out, _ := testFactory(nil)
	if err := execute(f, newCmdVersion(f, nil), []string{"--json"}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Version   string `json:"version"`
		GoVersion string `json:"go_version"`
		OS        string `json:"os"`
		Arch      string `json:"arch"`
		Kernels   struct {
			CPU, Using, SGEMM, VMath string
		} `json:"kernels"`
	}
	decodeOne(t, out.Bytes(), &got)
	if got.Version != "v0.0.0-test" || got.GoVersion != runtime.Version() || got.OS != runtime.GOOS || got.Arch != runtime.GOARCH {
		t.Errorf("version --json = %+v, want v0.0.0-test on %s %s/%s", got, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
	// The table form prints the same kernels in one line.
	f2, text, _ := testFactory(nil)
	if err := execute(f2, newCmdVersion(f2, nil), nil); err != nil {
		t.Fatal(err)
	}
	k := got.Kernels
	if k.CPU == "" || k.Using == "" || k.SGEMM == "" || k.VMath == "" ||
		!bytes.Contains(text.Bytes(), []byte("cpu "+k.CPU+", using "+k.Using)) || !bytes.Contains(text.Bytes(), []byte("sgemm "+k.SGEMM+", vmath "+k.VMath)) {
		t.Errorf("kernels %+v do not match the text form %q", k, text)
	}
}
