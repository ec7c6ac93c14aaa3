package data

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/agentlens/agentlens/trace"
)

// LabelsFile and ManifestFile are the names of a dataset directory's index and manifest; the episodes
// are in <split>.jsonl.
const (
	LabelsFile   = "labels.parquet"
	ManifestFile = "MANIFEST.sha256"
)

// Write writes the dataset into dir (created if needed): one native JSONL file per split, labels.parquet,
// and MANIFEST.sha256, each through a temporary file renamed into place. Label rows get their file and
// line. It returns the manifest's text.
func (d *Dataset) Write(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("write dataset: %w", err)
	}
	bySplit := map[string][]*trace.Episode{}
	for i, ep := range d.Episodes {
		s := d.Labels[i].Split
		bySplit[s] = append(bySplit[s], ep)
		d.Labels[i].File = s + ".jsonl"
		d.Labels[i].Line = int32(len(bySplit[s]))
	}
	files := map[string][]byte{}
	var names []string
	for _, s := range Splits {
		var buf bytes.Buffer
		if err := trace.WriteNative(&buf, bySplit[s]...); err != nil {
			return "", fmt.Errorf("write dataset: %w", err)
		}
		name := s + ".jsonl"
		if err := writeAtomic(filepath.Join(dir, name), buf.Bytes()); err != nil {
			return "", err
		}
		files[name] = buf.Bytes()
		names = append(names, name)
	}
	lp := filepath.Join(dir, LabelsFile)
	if err := Write(lp, d.Labels); err != nil {
		return "", err
	}
	b, err := os.ReadFile(lp)
	if err != nil {
		return "", fmt.Errorf("write dataset: %w", err)
	}
	files[LabelsFile] = b
	names = append(names, LabelsFile)
	m := Manifest(names, files)
	if err := writeAtomic(filepath.Join(dir, ManifestFile), []byte(m)); err != nil {
		return "", err
	}
	return m, nil
}

// Manifest returns the sha256sum-style manifest of the named files (in the order given) and a last line
// "<sha256 of the lines above>  TOTAL". `sha256sum -c` checks every line but the last.
func Manifest(names []string, files map[string][]byte) string {
	var b strings.Builder
	for _, n := range names {
		h := sha256.Sum256(files[n])
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(h[:]), n)
	}
	t := sha256.Sum256([]byte(b.String()))
	fmt.Fprintf(&b, "%s  TOTAL\n", hex.EncodeToString(t[:]))
	return b.String()
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = f.Close()
	} else {
		f.Close()
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
