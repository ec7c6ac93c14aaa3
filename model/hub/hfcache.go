package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// HFPrefix starts a model reference resolved through the Hugging Face cache and hub.
const HFPrefix = "hf:"

// DefaultRevision is the revision a reference without "@revision" names.
const DefaultRevision = "main"

// HFRef names a model repository on the Hugging Face hub, written "hf:org/name[@revision][:file]".
// File picks one file of a repository of GGUF files: a file name ("model-Q4_K_M.gguf") or, as ollama
// writes it, a quantisation tag ("Q4_K_M") matched without case against the repository's .gguf files.
type HFRef struct {
	Repo     string // "org/name" (or a bare legacy "name")
	Revision string // branch, tag or 40-hex commit; DefaultRevision when not given
	File     string // a GGUF file name or quantisation tag; empty for config.json + safetensors
}

// String writes the reference back in its "hf:" form, leaving out the default revision.
func (r HFRef) String() string {
	s := HFPrefix + r.Repo
	if r.Revision != "" && r.Revision != DefaultRevision {
		s += "@" + r.Revision
	}
	if r.File != "" {
		s += ":" + r.File
	}
	return s
}

// repoIDPattern is huggingface_hub's validate_repo_id rule: an optional namespace and a name made of
// word characters, '-' and '.', not starting or ending with '-' or '.'.
var repoIDPattern = regexp.MustCompile(`^(?:[\w.-]+/)?[\w.-]+$`)

// commitPattern matches a full commit hash.
var commitPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// ParseHFRef parses "hf:org/name[@revision][:file]"; the "hf:" prefix is optional.
func ParseHFRef(s string) (HFRef, error) {
	orig := s
	s = strings.TrimPrefix(s, HFPrefix)
	var r HFRef
	if i := strings.LastIndex(s, ":"); i >= 0 {
		s, r.File = s[:i], s[i+1:]
		if r.File == "" || strings.ContainsAny(r.File, `\`) || !safeRelPath(r.File) {
			return HFRef{}, fmt.Errorf("%w: %q: bad file %q after ':'", ErrBadRef, orig, r.File)
		}
	}
	r.Repo, r.Revision, _ = strings.Cut(s, "@")
	if r.Revision == "" {
		if strings.Contains(s, "@") {
			return HFRef{}, fmt.Errorf("%w: %q: empty revision after '@'", ErrBadRef, orig)
		}
		r.Revision = DefaultRevision
	}
	if err := validRepoID(r.Repo); err != nil {
		return HFRef{}, fmt.Errorf("%w: %q: %v", ErrBadRef, orig, err)
	}
	if !safeRelPath(r.Revision) {
		return HFRef{}, fmt.Errorf("%w: %q: bad revision %q", ErrBadRef, orig, r.Revision)
	}
	return r, nil
}

func validRepoID(id string) error {
	switch {
	case id == "":
		return errors.New("empty repository id (want org/name)")
	case len(id) > 96:
		return fmt.Errorf("repository id %q is longer than 96 characters", id)
	case !repoIDPattern.MatchString(id), strings.Contains(id, "--"), strings.Contains(id, ".."):
		return fmt.Errorf("repository id %q: want org/name made of letters, digits, '-', '_' and '.'", id)
	}
	for _, part := range strings.Split(id, "/") {
		if strings.HasPrefix(part, "-") || strings.HasPrefix(part, ".") || strings.HasSuffix(part, "-") || strings.HasSuffix(part, ".") {
			return fmt.Errorf("repository id %q: a part starts or ends with '-' or '.'", id)
		}
	}
	return nil
}

// HFCache is a Hugging Face hub cache directory, laid out as huggingface_hub lays it out, so that a model
// downloaded by Python is used as is and one downloaded here is visible to Python:
//
//	models--org--name/
//	  blobs/<sha256 or git blob sha1>        file contents, named by their hub etag
//	  refs/<revision>                        the commit a branch or tag points to
//	  snapshots/<commit>/<path>              relative symlinks into blobs/
//	  trees/<commit>.json                    the commit's file listing (huggingface_hub ≥ 1.x)
type HFCache struct{ Dir string }

// RepoDir returns the directory of repository repo ("models--org--name").
func (c HFCache) RepoDir(repo string) string {
	return filepath.Join(c.Dir, "models--"+strings.ReplaceAll(repo, "/", "--"))
}

// repoFromDir is RepoDir's inverse on a directory name; ok is false for other entries.
func repoFromDir(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "models--")
	if !ok || rest == "" {
		return "", false
	}
	return strings.ReplaceAll(rest, "--", "/"), true
}

// Snapshot is one resolved revision of a cached repository.
type Snapshot struct {
	Ref    HFRef
	Commit string // the 40-hex commit the revision points to
	Dir    string // snapshots/<commit>
	// Path is what a loader opens: Dir for config.json + safetensors, the chosen file for a GGUF ref.
	Path string
}

// Resolve finds ref in the cache without touching the network: the revision through refs/ (or as a
// commit), the snapshot directory, and ref.File among its GGUF files. When the commit's tree listing is
// cached, the files a model needs must all be there. ErrNotCached says what is missing.
func (c HFCache) Resolve(ref HFRef) (Snapshot, error) {
	repoDir := c.RepoDir(ref.Repo)
	commit := ref.Revision
	if !commitPattern.MatchString(commit) {
		b, err := os.ReadFile(filepath.Join(repoDir, "refs", filepath.FromSlash(ref.Revision)))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return Snapshot{}, fmt.Errorf("%s: %w: no %s", ref, ErrNotCached, filepath.Join(repoDir, "refs", ref.Revision))
			}
			return Snapshot{}, fmt.Errorf("%s: %w", ref, err)
		}
		commit = strings.TrimSpace(string(b))
		if !commitPattern.MatchString(commit) {
			return Snapshot{}, fmt.Errorf("%s: %s holds %q, not a commit hash: %w", ref, filepath.Join(repoDir, "refs", ref.Revision), commit, ErrNotCached)
		}
	}
	snap := Snapshot{Ref: ref, Commit: commit, Dir: filepath.Join(repoDir, "snapshots", commit)}
	present, err := snapshotFiles(snap.Dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Snapshot{}, fmt.Errorf("%s: %w: no snapshot %s", ref, ErrNotCached, snap.Dir)
		}
		return Snapshot{}, fmt.Errorf("%s: %w", ref, err)
	}
	listed := present
	if tree, err := readTree(repoDir, commit); err == nil {
		listed = make([]string, 0, len(tree.Files))
		for p := range tree.Files {
			listed = append(listed, p)
		}
		sort.Strings(listed)
	}
	want, err := selectFiles(listed, ref)
	if err != nil {
		return Snapshot{}, err
	}
	var missing []string
	for _, p := range want {
		if !slices.Contains(present, p) {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return Snapshot{}, fmt.Errorf("%s: %w: snapshot %s lacks %s", ref, ErrNotCached, snap.Dir, strings.Join(missing, ", "))
	}
	snap.Path = snap.Dir
	if ref.File != "" {
		snap.Path = filepath.Join(snap.Dir, filepath.FromSlash(want[0]))
	}
	return snap, nil
}

// snapshotFiles lists the regular files (followed through their symlinks) under dir, as slash paths
// relative to dir, sorted. A dangling symlink is left out.
func snapshotFiles(dir string) ([]string, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, err
	}
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(out)
	return out, err
}

// modelFile reports whether a repository file is one agentlens needs for a config.json + safetensors
// model: the config, the tokenizer and chat template, and the weights.
func modelFile(p string) bool {
	if strings.Contains(p, "/") {
		return false // weights and configs of a model live at the top; subfolders hold other variants
	}
	switch p {
	case "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
		"special_tokens_map.json", "chat_template.jinja", "chat_template.json", "model.safetensors.index.json":
		return true
	}
	return strings.HasSuffix(p, ".safetensors")
}

// selectFiles picks, from a repository's files, the ones ref needs: the model files of a safetensors
// repository, or the one GGUF file ref.File names. It explains what is there when nothing fits.
func selectFiles(files []string, ref HFRef) ([]string, error) {
	var ggufs []string
	for _, f := range files {
		if strings.HasSuffix(strings.ToLower(f), ".gguf") {
			ggufs = append(ggufs, f)
		}
	}
	if ref.File != "" {
		var match []string
		for _, g := range ggufs {
			if ggufMatches(g, ref.File) {
				match = append(match, g)
			}
		}
		switch {
		case len(match) == 1:
			return match, nil
		case len(match) > 1 && slices.Contains(match, ref.File):
			return []string{ref.File}, nil
		case len(match) > 1:
			return nil, fmt.Errorf("%s: %w: %q matches %s; name one file", ref, ErrNoModelFiles, ref.File, strings.Join(match, ", "))
		case len(ggufs) == 0:
			return nil, fmt.Errorf("%s: %w: %q asks for a GGUF file and the repository has none", ref, ErrNoModelFiles, ref.File)
		default:
			return nil, fmt.Errorf("%s: %w: no GGUF file matches %q (there are %s)", ref, ErrNoModelFiles, ref.File, strings.Join(ggufs, ", "))
		}
	}
	var out []string
	hasConfig, hasWeights := false, false
	for _, f := range files {
		if modelFile(f) {
			out = append(out, f)
			hasConfig = hasConfig || f == "config.json"
			hasWeights = hasWeights || strings.HasSuffix(f, ".safetensors")
		}
	}
	if hasConfig && hasWeights {
		return out, nil
	}
	if len(ggufs) > 0 {
		return nil, fmt.Errorf("%s: %w: a repository of GGUF files; pick one with %s:<file or quantisation> (there are %s)",
			ref, ErrNoModelFiles, ref, strings.Join(ggufs, ", "))
	}
	return nil, fmt.Errorf("%s: %w: no config.json with *.safetensors and no .gguf file", ref, ErrNoModelFiles)
}

// ggufMatches reports whether the GGUF file p is the one file names: the same path or base name, or a
// base name ending in "-" (or "." or "_") and file as a quantisation tag ("Q4_K_M"), without case.
func ggufMatches(p, file string) bool {
	if p == file {
		return true
	}
	base, want := strings.ToLower(path.Base(p)), strings.ToLower(file)
	if base == want {
		return true
	}
	stem := strings.TrimSuffix(base, ".gguf")
	for _, sep := range []string{"-", ".", "_"} {
		if strings.HasSuffix(stem, sep+want) {
			return true
		}
	}
	return false
}

// treeFile is huggingface_hub's cached tree listing, trees/<commit>.json (format_version 1).
type treeFile struct {
	FormatVersion int                  `json:"format_version"`
	Files         map[string]treeEntry `json:"files"`
}

// treeEntry is one file of a treeFile.
type treeEntry struct {
	Size      int64  `json:"size"`
	BlobID    string `json:"blob_id"` // git blob sha1
	LFSSHA256 string `json:"lfs_sha256,omitempty"`
	LFSSize   int64  `json:"lfs_size,omitempty"`
}

// etag is the name of the file's blob: its sha256 when it is stored in LFS, else its git blob sha1.
func (e treeEntry) etag() string {
	if e.LFSSHA256 != "" {
		return e.LFSSHA256
	}
	return e.BlobID
}

func treePath(repoDir, commit string) string {
	return filepath.Join(repoDir, "trees", commit+".json")
}

func readTree(repoDir, commit string) (treeFile, error) {
	var t treeFile
	b, err := os.ReadFile(treePath(repoDir, commit))
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("%s: %w", treePath(repoDir, commit), err)
	}
	if t.FormatVersion != 1 {
		return t, fmt.Errorf("%s: format_version %d, want 1", treePath(repoDir, commit), t.FormatVersion)
	}
	return t, nil
}

func writeTree(repoDir, commit string, t treeFile) error {
	b, err := json.MarshalIndent(t, "", " ")
	if err != nil {
		return err
	}
	return writeFileAtomic(treePath(repoDir, commit), b, 0o644)
}

// CachedRepo is one repository found in an HF cache by Scan.
type CachedRepo struct {
	Repo      string
	Dir       string
	Refs      map[string]string // revision → commit
	Snapshots []CachedSnapshot
}

// CachedSnapshot is one snapshot of a CachedRepo.
type CachedSnapshot struct {
	Commit string
	Dir    string
	Files  []string // slash paths relative to Dir, sorted; dangling links left out
	Size   int64    // bytes of the files' blobs
}

// Scan lists the model repositories in the cache with their refs and snapshots, sorted by repository.
// A cache directory that does not exist holds nothing.
func (c HFCache) Scan() ([]CachedRepo, error) {
	ents, err := os.ReadDir(c.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []CachedRepo
	for _, e := range ents {
		repo, ok := repoFromDir(e.Name())
		if !ok || !e.IsDir() {
			continue
		}
		r := CachedRepo{Repo: repo, Dir: filepath.Join(c.Dir, e.Name()), Refs: map[string]string{}}
		refsDir := filepath.Join(r.Dir, "refs")
		_ = filepath.WalkDir(refsDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(refsDir, p)
			r.Refs[filepath.ToSlash(rel)] = strings.TrimSpace(string(b))
			return nil
		})
		snaps, _ := os.ReadDir(filepath.Join(r.Dir, "snapshots"))
		for _, s := range snaps {
			if !s.IsDir() {
				continue
			}
			cs := CachedSnapshot{Commit: s.Name(), Dir: filepath.Join(r.Dir, "snapshots", s.Name())}
			cs.Files, _ = snapshotFiles(cs.Dir)
			for _, f := range cs.Files {
				if st, err := os.Stat(filepath.Join(cs.Dir, filepath.FromSlash(f))); err == nil {
					cs.Size += st.Size()
				}
			}
			r.Snapshots = append(r.Snapshots, cs)
		}
		out = append(out, r)
	}
	return out, nil
}

// writeFileAtomic writes data to path through a temporary file in the same directory and a rename,
// creating the directory.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(mode)
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
	}
	return werr
}
