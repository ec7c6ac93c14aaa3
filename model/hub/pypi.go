package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxJSONBytes bounds the size of a project document read from the index.
const maxJSONBytes = 64 << 20

// wheelFile is one distribution file of a release as the index's JSON API describes it.
type wheelFile struct {
	Project  string // project as named in the Part
	Version  string // resolved version
	Filename string
	URL      string // absolute
	Size     int64
	SHA256   string
}

// releaseFile is one entry of "urls" or "releases[v]" in the JSON API.
type releaseFile struct {
	Filename    string `json:"filename"`
	URL         string `json:"url"`
	PackageType string `json:"packagetype"`
	Size        int64  `json:"size"`
	Digests     struct {
		SHA256 string `json:"sha256"`
	} `json:"digests"`
	Yanked bool `json:"yanked"`
}

// projectDoc is the subset of the JSON API's project and release documents that Fetch reads.
type projectDoc struct {
	Info struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"info"`
	URLs     []releaseFile            `json:"urls"`
	Releases map[string][]releaseFile `json:"releases"`
}

// resolveWheel finds the wheel of p for the platform in opts. It asks for the release document
// <index>/pypi/<project>/<version>/json and, when that is missing (some mirrors serve only project
// documents), the project document <index>/pypi/<project>/json and its releases[version]. An empty
// version takes the project document's latest release.
func resolveWheel(ctx context.Context, client *http.Client, index string, p Part, opts Options) (wheelFile, error) {
	project := url.PathEscape(p.Project)
	var (
		doc     projectDoc
		docURL  string
		files   []releaseFile
		version = p.Version
	)
	if version != "" {
		docURL = index + "/pypi/" + project + "/" + url.PathEscape(version) + "/json"
		err := getJSON(ctx, client, docURL, &doc)
		switch {
		case err == nil:
			files = doc.URLs
		case isNotFound(err):
			docURL = index + "/pypi/" + project + "/json"
			if err := getJSON(ctx, client, docURL, &doc); err != nil {
				return wheelFile{}, fmt.Errorf("project %s: %w", p.Project, err)
			}
			rel, ok := doc.Releases[version]
			if !ok {
				return wheelFile{}, fmt.Errorf("project %s: version %s: %w", p.Project, version, ErrNotFound)
			}
			files = rel
		default:
			return wheelFile{}, fmt.Errorf("project %s %s: %w", p.Project, version, err)
		}
	} else {
		docURL = index + "/pypi/" + project + "/json"
		if err := getJSON(ctx, client, docURL, &doc); err != nil {
			return wheelFile{}, fmt.Errorf("project %s: %w", p.Project, err)
		}
		version = doc.Info.Version
		files = doc.URLs
	}
	f, ok := pickWheel(files, opts.goos(), opts.goarch())
	if !ok {
		return wheelFile{}, fmt.Errorf("project %s %s: no wheel for %s/%s among %d files: %w",
			p.Project, version, opts.goos(), opts.goarch(), len(files), ErrNoWheel)
	}
	base, err := url.Parse(docURL)
	if err != nil {
		return wheelFile{}, fmt.Errorf("project %s: index url %q: %w", p.Project, docURL, err)
	}
	ref, err := url.Parse(f.URL)
	if err != nil || f.URL == "" {
		return wheelFile{}, fmt.Errorf("project %s %s: wheel %s: bad url %q", p.Project, version, f.Filename, f.URL)
	}
	sum := strings.ToLower(f.Digests.SHA256)
	if !isHexSHA256(sum) {
		return wheelFile{}, fmt.Errorf("project %s %s: wheel %s: index publishes no valid sha256 (%q): %w",
			p.Project, version, f.Filename, f.Digests.SHA256, ErrDigestMismatch)
	}
	if f.Size <= 0 {
		return wheelFile{}, fmt.Errorf("project %s %s: wheel %s: index publishes no size: %w",
			p.Project, version, f.Filename, ErrSizeMismatch)
	}
	return wheelFile{
		Project:  p.Project,
		Version:  version,
		Filename: f.Filename,
		URL:      base.ResolveReference(ref).String(),
		Size:     f.Size,
		SHA256:   sum,
	}, nil
}

// statusError is an HTTP response other than 200 OK.
type statusError struct {
	url  string
	code int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("GET %s: %d %s", e.url, e.code, http.StatusText(e.code))
}

// Unwrap maps 404 and 410 to ErrNotFound.
func (e *statusError) Unwrap() error {
	if e.code == http.StatusNotFound || e.code == http.StatusGone {
		return ErrNotFound
	}
	return nil
}

func isNotFound(err error) bool {
	se, ok := err.(*statusError)
	return ok && (se.code == http.StatusNotFound || se.code == http.StatusGone)
}

func getJSON(ctx context.Context, client *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &statusError{url: u, code: resp.StatusCode}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBytes+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if len(data) > maxJSONBytes {
		return fmt.Errorf("GET %s: document over %d bytes: %w", u, maxJSONBytes, ErrTooLarge)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("GET %s: decode json: %w", u, err)
	}
	return nil
}

// pickWheel chooses the best non-yanked wheel for goos/goarch: a platform-specific wheel (glibc
// manylinux before musllinux on Linux) before a pure "any" wheel.
func pickWheel(files []releaseFile, goos, goarch string) (releaseFile, bool) {
	best, bestRank := releaseFile{}, 0
	for _, f := range files {
		if f.PackageType != "bdist_wheel" || f.Yanked || !strings.HasSuffix(f.Filename, ".whl") {
			continue
		}
		r := wheelRank(f.Filename, goos, goarch)
		if r > bestRank {
			best, bestRank = f, r
		}
	}
	return best, bestRank > 0
}

// wheelRank scores how well a wheel file name's platform tag fits goos/goarch: 0 does not fit, 1 is a
// pure wheel ("any"), higher is platform-specific.
func wheelRank(filename, goos, goarch string) int {
	// {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl; the platform tag may be compressed
	// ("manylinux_2_17_x86_64.manylinux2014_x86_64").
	parts := strings.Split(strings.TrimSuffix(filename, ".whl"), "-")
	if len(parts) < 5 {
		return 0
	}
	best := 0
	for _, tag := range strings.Split(parts[len(parts)-1], ".") {
		if r := platformRank(tag, goos, goarch); r > best {
			best = r
		}
	}
	return best
}

func platformRank(tag, goos, goarch string) int {
	if tag == "any" {
		return 1
	}
	var archs []string
	switch goarch {
	case "amd64":
		archs = []string{"x86_64", "amd64"}
	case "arm64":
		archs = []string{"aarch64", "arm64"}
	case "386":
		archs = []string{"i686", "win32"}
	default:
		archs = []string{goarch}
	}
	archOK := false
	for _, a := range archs {
		if strings.HasSuffix(tag, "_"+a) || tag == a {
			archOK = true
		}
	}
	if goos == "darwin" && strings.HasPrefix(tag, "macosx_") && strings.HasSuffix(tag, "_universal2") {
		archOK = true
	}
	if !archOK {
		return 0
	}
	switch goos {
	case "linux":
		switch {
		case strings.HasPrefix(tag, "manylinux"):
			return 4
		case strings.HasPrefix(tag, "linux_"):
			return 3
		case strings.HasPrefix(tag, "musllinux"):
			return 2
		}
	case "darwin":
		if strings.HasPrefix(tag, "macosx_") {
			return 3
		}
	case "windows":
		if strings.HasPrefix(tag, "win") {
			return 3
		}
	}
	return 0
}
