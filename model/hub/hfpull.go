package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/agentlens/agentlens/internal/flock"
)

// PullOptions are the run-time knobs of HFCache.Pull. Fill Endpoint, Token and Offline from ReadHFEnv.
type PullOptions struct {
	Endpoint   string       // hub base URL; empty means DefaultEndpoint
	Token      string       // sent as "Authorization: Bearer <token>" to the hub; empty sends none
	Offline    bool         // resolve from the cache only (HF_HUB_OFFLINE); never touch the network
	HTTPClient *http.Client // nil means http.DefaultClient (which honours HTTPS_PROXY)
	// Progress receives carriage-return updated progress lines; Log one line per file downloaded and
	// per retry (for logs that are not terminals). nil means silent.
	Progress, Log io.Writer
	// Attempts is how many times a download that fails on the network or ends early is tried, each
	// try resuming where the last one stopped; 0 means 3. Checksum mismatches are never retried.
	Attempts int
}

func (o PullOptions) fetchOptions() Options {
	return Options{HTTPClient: o.HTTPClient, Progress: o.Progress, Log: o.Log, Attempts: o.Attempts}
}

func (o PullOptions) endpoint() string {
	if o.Endpoint == "" {
		return DefaultEndpoint
	}
	return strings.TrimRight(o.Endpoint, "/")
}

// PulledFile is one file of a pulled snapshot.
type PulledFile struct {
	Path   string `json:"path"`   // slash path in the repository
	Size   int64  `json:"bytes"`  // bytes
	Etag   string `json:"etag"`   // the blob's name: sha256 for LFS files, git blob sha1 otherwise
	Status string `json:"status"` // fetched, resumed (a partial download finished) or cached (already there)
}

// PullResult is what Pull found or downloaded.
type PullResult struct {
	Snapshot
	Files []PulledFile
}

// Pull makes sure the files ref needs are in the cache and returns the snapshot. Offline, it only
// resolves from the cache (ErrOffline wraps what is missing). Online, it asks the hub which commit the
// revision names and which files that commit has, downloads each missing file into blobs/<etag>
// through blobs/<etag>.incomplete (resuming a partial one with an HTTP Range request), checks its
// sha256 (LFS files) or git blob sha1 against the listing, renames it, links it from snapshots/<commit>/,
// and finally writes trees/<commit>.json and refs/<revision>. A file being downloaded by another process
// (agentlens or huggingface_hub, which take the same .locks/ lock) is waited for.
func (c HFCache) Pull(ctx context.Context, ref HFRef, opts PullOptions) (PullResult, error) {
	if opts.Offline {
		snap, err := c.Resolve(ref)
		if err != nil {
			return PullResult{}, fmt.Errorf("%w: %w", ErrOffline, err)
		}
		return PullResult{Snapshot: snap}, nil
	}
	h := hubClient{opts: opts, ref: ref}
	commit := ref.Revision
	if !commitPattern.MatchString(commit) {
		var err error
		if commit, err = h.resolveRevision(ctx); err != nil {
			return PullResult{}, err
		}
	}
	tree, err := h.listTree(ctx, commit)
	if err != nil {
		return PullResult{}, err
	}
	paths := make([]string, 0, len(tree.Files))
	for p := range tree.Files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	want, err := selectFiles(paths, ref)
	if err != nil {
		return PullResult{}, err
	}
	repoDir := c.RepoDir(ref.Repo)
	if err := c.tagCacheDir(); err != nil {
		return PullResult{}, fmt.Errorf("%s: %w", ref, err)
	}
	res := PullResult{Snapshot: Snapshot{Ref: ref, Commit: commit, Dir: filepath.Join(repoDir, "snapshots", commit)}}
	for _, p := range want {
		status, err := h.pullFile(ctx, c, repoDir, commit, p, tree.Files[p])
		if err != nil {
			return PullResult{}, err
		}
		e := tree.Files[p]
		res.Files = append(res.Files, PulledFile{Path: p, Size: e.size(), Etag: e.etag(), Status: status})
	}
	if err := writeTree(repoDir, commit, tree); err != nil {
		return PullResult{}, fmt.Errorf("%s: %w", ref, err)
	}
	if ref.Revision != commit {
		if err := writeFileAtomic(filepath.Join(repoDir, "refs", filepath.FromSlash(ref.Revision)), []byte(commit), 0o644); err != nil {
			return PullResult{}, fmt.Errorf("%s: %w", ref, err)
		}
	}
	res.Path = res.Dir
	if ref.File != "" {
		res.Path = filepath.Join(res.Dir, filepath.FromSlash(want[0]))
	}
	return res, nil
}

// cacheDirTag marks a cache directory for backup tools (https://bford.info/cachedir/), as huggingface_hub
// marks its own.
const cacheDirTag = "Signature: 8a477f597d28d172789f06886806bc55\n" +
	"# This file is a cache directory tag created by agentlens (a Hugging Face hub cache).\n" +
	"# For information about cache directory tags, see:\n#\thttps://bford.info/cachedir/\n"

// tagCacheDir writes CACHEDIR.TAG into the cache directory unless one is there.
func (c HFCache) tagCacheDir() error {
	p := filepath.Join(c.Dir, "CACHEDIR.TAG")
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	return writeFileAtomic(p, []byte(cacheDirTag), 0o644)
}

// newHash returns the hash the file's etag is: sha256 of an LFS file, else git's blob sha1 (of the
// header "blob <size>\x00" and the contents), with the header written.
func (e treeEntry) newHash() hash.Hash {
	if e.LFSSHA256 != "" {
		return sha256.New()
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", e.size())
	return h
}

// size is the file's size: its LFS object's when it has one.
func (e treeEntry) size() int64 {
	if e.LFSSHA256 != "" {
		return e.LFSSize
	}
	return e.Size
}

// hubClient makes the hub requests of one Pull.
type hubClient struct {
	opts PullOptions
	ref  HFRef
}

func (h hubClient) get(ctx context.Context, u string, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if h.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+h.opts.Token)
	}
	req.Header.Set("User-Agent", "agentlens")
	return h.opts.fetchOptions().client().Do(req)
}

// hubError turns a hub error response into an error naming the repository and what to do.
func (h hubClient) hubError(resp *http.Response, what string) error {
	code := resp.Header.Get("X-Error-Code")
	msg := resp.Header.Get("X-Error-Message")
	if msg == "" {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		var body struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &body) == nil {
			msg = body.Error
		}
	}
	if msg != "" {
		msg = " (hub says: " + msg + ")"
	}
	repoURL := h.opts.endpoint() + "/" + h.ref.Repo
	switch {
	case code == "GatedRepo" || resp.StatusCode == http.StatusForbidden:
		hint := "set HF_TOKEN to a token of an account that has accepted them"
		if h.opts.Token != "" {
			hint = "the account of HF_TOKEN has not accepted them yet"
		}
		return fmt.Errorf("%s: %s: %w: accept its conditions at %s; %s%s", h.ref, what, ErrGated, repoURL, hint, msg)
	case code == "RepoNotFound" || resp.StatusCode == http.StatusUnauthorized:
		hint := "if it is private or gated, set HF_TOKEN (or run `hf auth login`)"
		if h.opts.Token != "" {
			hint = "check the name, and that the token in HF_TOKEN can read it"
		}
		return fmt.Errorf("%s: %s: %w: %s; %s%s", h.ref, what, ErrUnauthorized, repoURL, hint, msg)
	case code == "RevisionNotFound":
		return fmt.Errorf("%s: %w: revision %q%s", h.ref, ErrHubNotFound, h.ref.Revision, msg)
	case code == "EntryNotFound" || resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s: %w: %s%s", h.ref, ErrHubNotFound, what, msg)
	}
	return fmt.Errorf("%s: %s: %w", h.ref, what, &statusError{url: resp.Request.URL.String(), code: resp.StatusCode})
}

// getJSON fetches u and decodes its JSON body into v, returning the response's next-page link.
func (h hubClient) getJSON(ctx context.Context, u, what string, v any) (next string, err error) {
	resp, err := h.get(ctx, u, nil)
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", h.ref, what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", h.hubError(resp, what)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(v); err != nil {
		return "", fmt.Errorf("%s: %s: bad JSON from %s: %w", h.ref, what, u, err)
	}
	return nextLink(resp.Header.Get("Link"), resp.Request.URL), nil
}

// nextLink returns the rel="next" URL of an RFC 8288 Link header, resolved against base.
func nextLink(link string, base *url.URL) string {
	for _, part := range strings.Split(link, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok || !strings.Contains(strings.ReplaceAll(params, " ", ""), `rel="next"`) {
			continue
		}
		u, err := base.Parse(strings.Trim(strings.TrimSpace(target), "<>"))
		if err == nil {
			return u.String()
		}
	}
	return ""
}

func (h hubClient) resolveRevision(ctx context.Context) (string, error) {
	u := fmt.Sprintf("%s/api/models/%s/revision/%s", h.opts.endpoint(), h.ref.Repo, url.PathEscape(h.ref.Revision))
	var info struct {
		SHA string `json:"sha"`
	}
	if _, err := h.getJSON(ctx, u, "revision "+h.ref.Revision, &info); err != nil {
		return "", err
	}
	if !commitPattern.MatchString(info.SHA) {
		return "", fmt.Errorf("%s: %s answered sha %q, not a commit hash", h.ref, u, info.SHA)
	}
	return info.SHA, nil
}

// listTree lists every file of commit (the hub's /tree endpoint, recursive, following pages).
func (h hubClient) listTree(ctx context.Context, commit string) (treeFile, error) {
	tree := treeFile{FormatVersion: 1, Files: map[string]treeEntry{}}
	u := fmt.Sprintf("%s/api/models/%s/tree/%s?recursive=true", h.opts.endpoint(), h.ref.Repo, commit)
	for u != "" {
		var page []struct {
			Type string `json:"type"`
			Path string `json:"path"`
			Size int64  `json:"size"`
			OID  string `json:"oid"`
			LFS  *struct {
				OID  string `json:"oid"`
				Size int64  `json:"size"`
			} `json:"lfs"`
		}
		next, err := h.getJSON(ctx, u, "file list of "+commit, &page)
		if err != nil {
			return tree, err
		}
		for _, f := range page {
			if f.Type != "file" {
				continue
			}
			if !safeRelPath(f.Path) {
				return tree, fmt.Errorf("%s: the hub lists an unsafe path %q: %w", h.ref, f.Path, ErrUnsafeEntry)
			}
			e := treeEntry{Size: f.Size, BlobID: f.OID}
			if f.LFS != nil {
				e.LFSSHA256, e.LFSSize = f.LFS.OID, f.LFS.Size
			}
			if !validEtag(e) {
				return tree, fmt.Errorf("%s: the hub lists %s with oid %q and lfs %q, not hashes", h.ref, f.Path, e.BlobID, e.LFSSHA256)
			}
			tree.Files[f.Path] = e
		}
		u = next
	}
	return tree, nil
}

func validEtag(e treeEntry) bool {
	if e.LFSSHA256 != "" {
		return isHexSHA256(e.LFSSHA256)
	}
	return commitPattern.MatchString(e.BlobID) // a git blob id is a sha1, written like a commit
}

// pullFile makes sure file p of commit is in blobs/ and linked from the snapshot, and says whether it
// was fetched, resumed or already cached.
func (h hubClient) pullFile(ctx context.Context, c HFCache, repoDir, commit, p string, e treeEntry) (string, error) {
	blob := filepath.Join(repoDir, "blobs", e.etag())
	link := filepath.Join(repoDir, "snapshots", commit, filepath.FromSlash(p))
	status := "cached"
	if st, err := os.Stat(blob); err != nil || st.Size() != e.size() {
		lockPath := filepath.Join(c.Dir, ".locks", filepath.Base(repoDir), e.etag()+".lock")
		if err := os.MkdirAll(filepath.Dir(lockPath), 0o755); err != nil {
			return "", fmt.Errorf("%s: %w", h.ref, err)
		}
		lock, err := flock.Lock(lockPath)
		if err != nil {
			return "", fmt.Errorf("%s: lock %s: %w", h.ref, lockPath, err)
		}
		status, err = h.downloadBlob(ctx, commit, p, e, blob)
		lock.Close()
		if err != nil {
			return "", err
		}
	}
	if err := linkBlob(blob, link); err != nil {
		return "", fmt.Errorf("%s: %w", h.ref, err)
	}
	return status, nil
}

// linkBlob points link at blob with a relative symlink, as huggingface_hub does, replacing whatever
// link was there.
func linkBlob(blob, link string) error {
	rel, err := filepath.Rel(filepath.Dir(link), blob)
	if err != nil {
		return err
	}
	if cur, err := os.Readlink(link); err == nil && cur == rel {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	tmp := link + ".tmp-link"
	os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// downloadBlob downloads file p into blob through blob+".incomplete", resuming and retrying.
func (h hubClient) downloadBlob(ctx context.Context, commit, p string, e treeEntry, blob string) (string, error) {
	if st, err := os.Stat(blob); err == nil && st.Size() == e.size() {
		return "cached", nil // another process finished it while we waited for the lock
	}
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return "", fmt.Errorf("%s: %w", h.ref, err)
	}
	fo := h.opts.fetchOptions()
	incomplete := blob + ".incomplete"
	resumed := false
	var lastErr error
	for attempt := 1; attempt <= fo.attempts(); attempt++ {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		have, err := h.downloadOnce(ctx, commit, p, e, incomplete)
		resumed = resumed || have > 0
		if err == nil {
			if err := os.Rename(incomplete, blob); err != nil {
				return "", fmt.Errorf("%s: %w", h.ref, err)
			}
			if resumed {
				return "resumed", nil
			}
			return "fetched", nil
		}
		lastErr = err
		if errors.Is(err, ErrChecksum) || !retryable(ctx, err) {
			break
		}
		if attempt < fo.attempts() {
			fo.logf("retrying %s after: %v", p, err)
		}
	}
	return "", lastErr
}

// downloadOnce continues incomplete from its current size to e.size() bytes and verifies the whole
// file's hash. It returns how many bytes were already there. A checksum mismatch removes the file.
func (h hubClient) downloadOnce(ctx context.Context, commit, p string, e treeEntry, incomplete string) (int64, error) {
	f, err := os.OpenFile(incomplete, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", h.ref, err)
	}
	defer f.Close()
	sum := e.newHash()
	have, err := io.Copy(sum, f)
	if err != nil {
		return 0, fmt.Errorf("%s: read %s: %w", h.ref, incomplete, err)
	}
	if have > e.size() {
		if err := f.Truncate(0); err != nil {
			return 0, fmt.Errorf("%s: %w", h.ref, err)
		}
		return h.downloadOnce(ctx, commit, p, e, incomplete)
	}
	fo := h.opts.fetchOptions()
	if have < e.size() {
		escaped := make([]string, 0, 4)
		for _, seg := range strings.Split(p, "/") {
			escaped = append(escaped, url.PathEscape(seg))
		}
		u := fmt.Sprintf("%s/%s/resolve/%s/%s", h.opts.endpoint(), h.ref.Repo, commit, strings.Join(escaped, "/"))
		header := http.Header{"Accept-Encoding": {"identity"}}
		if have > 0 {
			header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
			fo.logf("resuming %s %s at %d of %d bytes", h.ref.Repo, p, have, e.size())
		} else {
			fo.logf("downloading %s %s (%s)", h.ref.Repo, p, mib(e.size()))
		}
		resp, err := h.get(ctx, u, header)
		if err != nil {
			return have, fmt.Errorf("%s: %s: %w", h.ref, p, err)
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusPartialContent && have > 0:
			var start int64 = -1
			fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-", &start)
			if start != have {
				return have, fmt.Errorf("%s: %s: asked for bytes from %d, got Content-Range %q", h.ref, p, have, resp.Header.Get("Content-Range"))
			}
		case resp.StatusCode == http.StatusOK:
			if have > 0 {
				fo.logf("%s ignored the range request: downloading %s again from the start", resp.Request.URL.Host, p)
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					return have, err
				}
				if err := f.Truncate(0); err != nil {
					return have, err
				}
				sum, have = e.newHash(), 0
			}
		default:
			return have, h.hubError(resp, "file "+p)
		}
		pw := newProgress(h.opts.Progress, "download "+p, e.size())
		pw.n = have
		n, err := io.Copy(io.MultiWriter(f, sum, pw), io.LimitReader(resp.Body, e.size()-have+1))
		pw.finish(err == nil && have+n == e.size())
		switch {
		case err != nil:
			return have, fmt.Errorf("%s: %s: after %d of %d bytes: %w", h.ref, p, have+n, e.size(), err)
		case have+n < e.size():
			return have, fmt.Errorf("%s: %s: got %d of %d bytes: %w", h.ref, p, have+n, e.size(), ErrTruncated)
		case have+n > e.size():
			f.Close()
			os.Remove(incomplete)
			return have, fmt.Errorf("%s: %s: more than the %d bytes the hub lists: %w", h.ref, p, e.size(), ErrSizeMismatch)
		}
	}
	if err := f.Sync(); err != nil {
		return have, fmt.Errorf("%s: %w", h.ref, err)
	}
	got := hex.EncodeToString(sum.Sum(nil))
	if got != e.etag() {
		f.Close()
		os.Remove(incomplete)
		kind := "git blob sha1"
		if e.LFSSHA256 != "" {
			kind = "sha256"
		}
		return have, fmt.Errorf("%s: %s: %s %s, the hub lists %s: %w", h.ref, p, kind, got, e.etag(), ErrChecksum)
	}
	return have, f.Close()
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
