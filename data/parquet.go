package data

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"
)

// Row is the set of table row types this package reads and writes.
type Row interface {
	TokenAttribution | SegmentAttribution | EpisodeLabel | Activation | Probe | ProbeMetric | DirectionEffect | ProbeScore |
		ProbeSegmentScore | SegmentMatrixEntry | PatchEntry | AttentionEntry | OrganismScore | RolloutRow | RolloutEpisode | PropensityRow
}

// Write writes rows to a Parquet file at path, replacing it. It writes a temporary file in the same
// directory and renames it into place, so an interrupted write never leaves a valid-looking file.
// Every row's SchemaVersion is set to SchemaVersion.
func Write[T Row](path string, rows []T) error {
	w, err := NewWriter[T](path)
	if err != nil {
		return err
	}
	if err := w.Write(rows...); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// Writer streams rows into a Parquet file: into a temporary file next to it, renamed into place by
// Close (Abort removes it), so a reader never sees a half-written file.
type Writer[T Row] struct {
	path string
	tmp  *os.File
	w    *parquet.GenericWriter[T]
	buf  []T
	sum  digest // of every byte written to tmp
}

// digest is an io.Writer that keeps the sha256 and the count of what passes through it.
type digest struct {
	h hash.Hash
	n int64
}

func (d *digest) Write(p []byte) (int, error) {
	d.h.Write(p)
	d.n += int64(len(p))
	return len(p), nil
}

// writerBatch is the number of rows a Writer hands parquet-go at once.
const writerBatch = 4096

// NewWriter starts a Parquet file at path.
func NewWriter[T Row](path string) (*Writer[T], error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	w := &Writer[T]{path: path, tmp: tmp, buf: make([]T, 0, writerBatch), sum: digest{h: sha256.New()}}
	w.w = parquet.NewGenericWriter[T](io.MultiWriter(tmp, &w.sum), parquet.Compression(&parquet.Snappy))
	return w, nil
}

// Digest returns the file's checksum as FileSHA256 gives it ("sha256:<hex>") and its size, computed
// while it was written; valid after Close.
func (w *Writer[T]) Digest() (string, int64) {
	return "sha256:" + hex.EncodeToString(w.sum.h.Sum(nil)), w.sum.n
}

// Write adds rows, setting each one's SchemaVersion.
func (w *Writer[T]) Write(rows ...T) error {
	for _, r := range rows {
		setVersion(&r)
		w.buf = append(w.buf, r)
		if len(w.buf) == writerBatch {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *Writer[T]) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if _, err := w.w.Write(w.buf); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	w.buf = w.buf[:0]
	return nil
}

// Close finishes the file and renames it into place.
func (w *Writer[T]) Close() (err error) {
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	if err := w.flush(); err != nil {
		return err
	}
	if err := w.w.Close(); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	if err := w.tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	if err := w.tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	if err := os.Chmod(w.tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	if err := os.Rename(w.tmp.Name(), w.path); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	return nil
}

// Abort drops the temporary file; the target path is left as it was.
func (w *Writer[T]) Abort() {
	w.tmp.Close()
	os.Remove(w.tmp.Name())
}

// setVersion sets the SchemaVersion field of a row.
func setVersion[T Row](r *T) { *versionField(r) = SchemaVersion }

// version returns the SchemaVersion field of a row.
func version[T Row](r *T) int32 { return *versionField(r) }

// versionField returns the address of a row's SchemaVersion field.
func versionField[T Row](r *T) *int32 {
	switch v := any(r).(type) {
	case *TokenAttribution:
		return &v.SchemaVersion
	case *SegmentAttribution:
		return &v.SchemaVersion
	case *EpisodeLabel:
		return &v.SchemaVersion
	case *Activation:
		return &v.SchemaVersion
	case *Probe:
		return &v.SchemaVersion
	case *ProbeMetric:
		return &v.SchemaVersion
	case *DirectionEffect:
		return &v.SchemaVersion
	case *ProbeScore:
		return &v.SchemaVersion
	case *ProbeSegmentScore:
		return &v.SchemaVersion
	case *SegmentMatrixEntry:
		return &v.SchemaVersion
	case *PatchEntry:
		return &v.SchemaVersion
	case *AttentionEntry:
		return &v.SchemaVersion
	case *OrganismScore:
		return &v.SchemaVersion
	case *RolloutRow:
		return &v.SchemaVersion
	case *RolloutEpisode:
		return &v.SchemaVersion
	case *PropensityRow:
		return &v.SchemaVersion
	}
	panic("data: row type without a schema version")
}

// Read streams the rows of a Parquet file written by Write (or by any tool writing the same columns).
// It fails with ErrSchema when a column of T is missing or has another type, and with ErrSchemaVersion
// at the first row whose schema_version is not SchemaVersion. Stop iterating to close the file early.
func Read[T Row](path string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		f, err := os.Open(path)
		if err != nil {
			yield(zero, fmt.Errorf("read %s: %w", path, err))
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			yield(zero, fmt.Errorf("read %s: %w", path, err))
			return
		}
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			yield(zero, fmt.Errorf("read %s: not a parquet file: %w", path, err))
			return
		}
		if err := checkSchema(parquet.SchemaOf(zero), pf.Schema()); err != nil {
			yield(zero, fmt.Errorf("read %s: %w", path, err))
			return
		}
		r := parquet.NewGenericReader[T](pf)
		defer r.Close()
		buf := make([]T, 1024)
		row := 0
		for {
			n, err := r.Read(buf)
			for i := 0; i < n; i++ {
				if v := version(&buf[i]); v != SchemaVersion {
					yield(zero, fmt.Errorf("read %s: row %d: schema_version %d: %w (this build reads %d)", path, row, v, ErrSchemaVersion, SchemaVersion))
					return
				}
				if !yield(buf[i], nil) {
					return
				}
				row++
			}
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(zero, fmt.Errorf("read %s: row %d: %w", path, row, err))
				return
			}
		}
	}
}

// ReadAll reads every row of a file with Read.
func ReadAll[T Row](path string) ([]T, error) {
	var rows []T
	for r, err := range Read[T](path) {
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// checkSchema reports the first column of want that got lacks or holds with another physical type.
func checkSchema(want, got *parquet.Schema) error {
	for _, col := range want.Fields() {
		g := fieldByName(got, col.Name())
		if g == nil {
			return fmt.Errorf("%w: column %s missing", ErrSchema, col.Name())
		}
		if !g.Leaf() || !col.Leaf() {
			continue
		}
		if wk, gk := col.Type().Kind(), g.Type().Kind(); wk != gk {
			return fmt.Errorf("%w: column %s is %v, want %v", ErrSchema, col.Name(), gk, wk)
		}
	}
	return nil
}

// fieldByName returns the top-level field of s with the given name, or nil.
func fieldByName(s *parquet.Schema, name string) parquet.Field {
	for _, f := range s.Fields() {
		if f.Name() == name {
			return f
		}
	}
	return nil
}

// Columns returns the column names of row type T in schema order, for documentation and notebooks.
func Columns[T Row]() []string {
	var zero T
	var names []string
	for _, f := range parquet.SchemaOf(zero).Fields() {
		names = append(names, f.Name())
	}
	return names
}

// ReadColumns reads the named columns of any Parquet file as text, one slice per column in row order
// (numbers and booleans formatted as Parquet prints them, nulls as ""): for sidecar label files written
// by other tools, keyed by an episode_id column. A missing column, or one that is not a top-level leaf,
// is an error naming the file, the column and the columns it has.
func ReadColumns(path string, cols ...string) (map[string][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("read %s: not a parquet file: %w", path, err)
	}
	out := map[string][]string{}
	for _, c := range cols {
		leaf, ok := pf.Schema().Lookup(c)
		if !ok || leaf.MaxRepetitionLevel > 0 {
			var have []string
			for _, fl := range pf.Schema().Fields() {
				have = append(have, fl.Name())
			}
			return nil, fmt.Errorf("read %s: %w: column %s missing or not a plain column (have %v)", path, ErrSchema, c, have)
		}
		var vals []string
		for _, rg := range pf.RowGroups() {
			pages := rg.ColumnChunks()[leaf.ColumnIndex].Pages()
			for {
				p, err := pages.ReadPage()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					pages.Close()
					return nil, fmt.Errorf("read %s: column %s: %w", path, c, err)
				}
				buf := make([]parquet.Value, p.NumValues())
				n, err := p.Values().ReadValues(buf)
				if err != nil && !errors.Is(err, io.EOF) {
					pages.Close()
					return nil, fmt.Errorf("read %s: column %s: %w", path, c, err)
				}
				for _, v := range buf[:n] {
					if v.IsNull() {
						vals = append(vals, "")
					} else if v.Kind() == parquet.ByteArray {
						vals = append(vals, string(v.ByteArray()))
					} else {
						vals = append(vals, v.String())
					}
				}
			}
			pages.Close()
		}
		out[c] = vals
	}
	return out, nil
}
