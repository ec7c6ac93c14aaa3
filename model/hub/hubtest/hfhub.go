package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agentlens/agentlens/model/modeltest"
)

// HFRepo is one model repository served by an HFHub.
type HFRepo struct {
	ID    string            // "org/name"
	Files map[string][]byte // slash path → contents
	// Private repositories answer 401 RepoNotFound unless the request carries the hub's token.
	Private bool
	// Gated repositories answer 401 GatedRepo without a token and 403 GatedRepo with one the hub does
	// not list in Accepted.
	Gated bool
	// Tags are extra revisions ("v1.0") that point at the repository's one commit.
	Tags []string
}

// IsLFS reports whether the hub stores path in LFS (large and binary files, as the real hub does for
// *.safetensors and *.gguf): those have a sha256 etag, the others a git blob sha1.
func IsLFS(path string) bool {
	return strings.HasSuffix(path, ".safetensors") || strings.HasSuffix(path, ".gguf") || strings.HasSuffix(path, ".bin")
}

// GitBlobSHA1 is git's id of a blob with contents b: sha1("blob <len>\0" + b).
func GitBlobSHA1(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// Etag is the hub's etag for a file: the sha256 of an LFS file's contents, else its git blob sha1.
func Etag(path string, b []byte) string {
	if IsLFS(path) {
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	return GitBlobSHA1(b)
}

// Commit is the commit hash an HFHub gives repo: a sha1 of its sorted paths and etags, so that the same
// files always make the same commit.
func (r HFRepo) Commit() string {
	paths := r.paths()
	h := sha1.New()
	for _, p := range paths {
		fmt.Fprintf(h, "%s\x00%s\n", p, Etag(p, r.Files[p]))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (r HFRepo) paths() []string {
	var ps []string
	for p := range r.Files {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// HFHub is a fake Hugging Face hub on loopback speaking the part of the hub API that agentlens and
// huggingface_hub use to download a model: /api/models/<repo>/revision/<rev>, /api/models/<repo>/tree/<rev>
// (paged with Link headers) and /<repo>/resolve/<rev>/<path> (GET and HEAD, Range requests, the
// X-Repo-Commit, X-Linked-Etag and X-Linked-Size headers), with the hub's error codes (X-Error-Code
// RepoNotFound, GatedRepo, RevisionNotFound, EntryNotFound). Its knobs cut downloads short and corrupt
// files, to test resuming and checksums.
type HFHub struct {
	*httptest.Server
	// Token is the one token the hub accepts for private and gated repositories; Accepted lists the
	// tokens whose user accepted the gated repositories' conditions.
	Token    string
	Accepted []string
	// PageSize, when positive, splits tree listings into pages of that many entries.
	PageSize int
	// CutAfter, when positive, makes the first CutDownloads downloads (GET of resolve) of files longer
	// than CutAfter bytes send that many bytes of the body and then drop the connection.
	CutAfter     int64
	CutDownloads int
	// Corrupt names files whose downloads send different bytes than the listing's hash.
	Corrupt map[string]bool
	// IgnoreRange answers range requests with the whole file (200), as some mirrors do.
	IgnoreRange bool

	mu       sync.Mutex
	repos    map[string]HFRepo
	etags    map[string]string // repo id + "\x00" + path → etag, computed once
	commits  map[string]string // repo id → commit
	log      []string
	cuts     int
	requests int
}

// NewHFHub starts a fake hub serving repos. Close it when done.
func NewHFHub(repos ...HFRepo) *HFHub {
	h := &HFHub{repos: map[string]HFRepo{}, etags: map[string]string{}, commits: map[string]string{}}
	for _, r := range repos {
		h.repos[r.ID] = r
		h.commits[r.ID] = r.Commit()
		for p, b := range r.Files {
			h.etags[r.ID+"\x00"+p] = Etag(p, b)
		}
	}
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	return h
}

// Requests returns how many requests the hub has answered.
func (h *HFHub) Requests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests
}

// Log returns one line per request answered: "METHOD PATH [Range: …] [auth]".
func (h *HFHub) Log() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.log)
}

func (h *HFHub) serve(w http.ResponseWriter, r *http.Request) {
	line := r.Method + " " + r.URL.Path
	if rg := r.Header.Get("Range"); rg != "" {
		line += " Range: " + rg
	}
	if r.Header.Get("Authorization") != "" {
		line += " auth"
	}
	h.mu.Lock()
	h.requests++
	h.log = append(h.log, line)
	h.mu.Unlock()

	p := strings.Trim(r.URL.Path, "/")
	if rest, ok := strings.CutPrefix(p, "api/models/"); ok {
		for _, kind := range []string{"/revision/", "/tree/"} {
			if repo, rev, ok := strings.Cut(rest, kind); ok {
				rev, _ = url.PathUnescape(rev)
				h.serveAPI(w, r, repo, strings.Trim(kind, "/"), rev)
				return
			}
		}
	}
	if repo, rest, ok := strings.Cut(p, "/resolve/"); ok {
		rev, file, _ := strings.Cut(rest, "/")
		file, _ = url.PathUnescape(file)
		h.serveFile(w, r, repo, rev, file)
		return
	}
	http.NotFound(w, r)
}

// hubError answers an error the way the hub does: a status, X-Error-Code and a JSON body.
func hubError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Error-Code", code)
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// access finds the repository and checks the request may read it; it answers the error itself.
func (h *HFHub) access(w http.ResponseWriter, r *http.Request, id, rev string) (HFRepo, bool) {
	repo, ok := h.repos[id]
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case !ok || repo.Private && tok != h.Token:
		hubError(w, http.StatusUnauthorized, "RepoNotFound", "Repository Not Found for url: "+r.URL.String()+".")
		return HFRepo{}, false
	case repo.Gated && tok == "":
		hubError(w, http.StatusUnauthorized, "GatedRepo", "Access to model "+id+" is restricted. You must have access to it and be authenticated to access it. Please log in.")
		return HFRepo{}, false
	case repo.Gated && (tok != h.Token || !slices.Contains(h.Accepted, tok)):
		hubError(w, http.StatusForbidden, "GatedRepo", "Access to model "+id+" is restricted and you are not in the authorized list. Visit https://huggingface.co/"+id+" to ask for access.")
		return HFRepo{}, false
	}
	if rev != "main" && rev != h.commits[id] && !slices.Contains(repo.Tags, rev) {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return HFRepo{}, false
	}
	return repo, true
}

type treeLFS struct {
	OID         string `json:"oid"`
	Size        int    `json:"size"`
	PointerSize int    `json:"pointerSize"`
}

type treeItem struct {
	Type string   `json:"type"`
	OID  string   `json:"oid"`
	Size int      `json:"size"`
	Path string   `json:"path"`
	LFS  *treeLFS `json:"lfs,omitempty"`
}

func (h *HFHub) serveAPI(w http.ResponseWriter, r *http.Request, id, kind, rev string) {
	repo, ok := h.access(w, r, id, rev)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	paths := repo.paths()
	if kind == "revision" {
		var sib []map[string]string
		for _, p := range paths {
			sib = append(sib, map[string]string{"rfilename": p})
		}
		json.NewEncoder(w).Encode(map[string]any{
			"id": id, "modelId": id, "sha": h.commits[id], "private": repo.Private, "gated": repo.Gated,
			"lastModified": "2026-01-01T00:00:00.000Z", "siblings": sib,
		})
		return
	}
	var items []treeItem
	dirs := map[string]bool{}
	for _, p := range paths {
		for d := p; strings.Contains(d, "/"); {
			d = d[:strings.LastIndex(d, "/")]
			dirs[d] = true
		}
		b := repo.Files[p]
		etag := h.etags[id+"\x00"+p]
		it := treeItem{Type: "file", OID: etag, Size: len(b), Path: p}
		if IsLFS(p) {
			pointer := fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", etag, len(b))
			it.OID = GitBlobSHA1([]byte(pointer))
			it.LFS = &treeLFS{OID: etag, Size: len(b), PointerSize: len(pointer)}
		}
		items = append(items, it)
	}
	for d := range dirs {
		items = append(items, treeItem{Type: "directory", OID: GitBlobSHA1([]byte(d)), Path: d})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Path < items[j].Path })
	start := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		start, _ = strconv.Atoi(c)
	}
	end := len(items)
	if h.PageSize > 0 && start+h.PageSize < end {
		end = start + h.PageSize
		next := *r.URL
		q := next.Query()
		q.Set("cursor", strconv.Itoa(end))
		next.RawQuery = q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, h.URL, next.RequestURI()))
	}
	if start > end {
		start = end
	}
	json.NewEncoder(w).Encode(items[start:end])
}

func (h *HFHub) serveFile(w http.ResponseWriter, r *http.Request, id, rev, file string) {
	repo, ok := h.access(w, r, id, rev)
	if !ok {
		return
	}
	w.Header().Set("X-Repo-Commit", h.commits[id])
	b, ok := repo.Files[file]
	if !ok {
		hubError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
		return
	}
	etag := h.etags[id+"\x00"+file]
	if IsLFS(file) {
		w.Header().Set("X-Linked-Etag", `"`+etag+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(b)))
	}
	w.Header().Set("ETag", `"`+etag+`"`)
	if h.Corrupt[file] && r.Method == http.MethodGet {
		b = append([]byte{}, b...)
		b[len(b)/2] ^= 0xff
	}
	if h.IgnoreRange {
		r.Header.Del("Range")
	}
	var out http.ResponseWriter = w
	if r.Method == http.MethodGet && h.CutAfter > 0 && int64(len(b)) > h.CutAfter {
		h.mu.Lock()
		cut := h.cuts < h.CutDownloads
		if cut {
			h.cuts++
		}
		h.mu.Unlock()
		if cut {
			out = &cutWriter{ResponseWriter: w, left: h.CutAfter}
		}
	}
	http.ServeContent(out, r, file, time.Time{}, bytes.NewReader(b))
}

// cutWriter passes left bytes of the body through and then drops the connection.
type cutWriter struct {
	http.ResponseWriter
	left int64
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if int64(len(p)) <= c.left {
		c.left -= int64(len(p))
		return c.ResponseWriter.Write(p)
	}
	c.ResponseWriter.Write(p[:c.left])
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	panic(http.ErrAbortHandler)
}

// TinyRepo returns a repository holding modeltest's tiny random-weight model of family (config.json,
// tokenizer.json, tokenizer_config.json, model.safetensors) plus what real repositories also hold and a
// model does not need: a README.md and an ONNX export in a subfolder.
func TinyRepo(id, family string, seed uint64) (HFRepo, error) {
	dir, err := os.MkdirTemp("", "hubtest-tiny-*")
	if err != nil {
		return HFRepo{}, err
	}
	defer os.RemoveAll(dir)
	if _, err := modeltest.Write(dir, family, seed); err != nil {
		return HFRepo{}, err
	}
	r := HFRepo{ID: id, Files: map[string][]byte{
		"README.md":       []byte("---\nlicense: apache-2.0\n---\n# " + id + "\n\nA tiny random-weight " + family + " model for tests.\n"),
		"onnx/model.onnx": bytes.Repeat([]byte{0x08, 0x07}, 64),
	}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return HFRepo{}, err
	}
	for _, e := range ents {
		if r.Files[e.Name()], err = os.ReadFile(filepath.Join(dir, e.Name())); err != nil {
			return HFRepo{}, err
		}
	}
	return r, nil
}
