package hub

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// recordEntry is one line of a wheel's .dist-info/RECORD: the member's sha256 (raw bytes) and size,
// either of which may be absent.
type recordEntry struct {
	sha256 []byte
	size   int64 // -1 when not listed
}

// extract copies member of the wheel at path into w and returns the number of bytes written. It rejects
// the whole wheel if any entry name is unsafe, checks the member's size against the zip header, the
// RECORD and opts.MaxBytes, and checks its sha256 against the RECORD when listed there.
func extract(ctx context.Context, path, wheel, member string, w io.Writer, opts Options) (int64, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return 0, fmt.Errorf("wheel %s: open zip: %w", wheel, err)
	}
	defer zr.Close()
	var (
		target *zip.File
		record *zip.File
	)
	for _, f := range zr.File {
		if !safeEntryName(f.Name) {
			return 0, fmt.Errorf("wheel %s: entry %q: %w", wheel, f.Name, ErrUnsafeEntry)
		}
		if f.Name == member {
			if target != nil {
				return 0, fmt.Errorf("wheel %s: member %s listed twice: %w", wheel, member, ErrUnsafeEntry)
			}
			target = f
		}
		if dir, file, ok := strings.Cut(f.Name, "/"); ok && file == "RECORD" && strings.HasSuffix(dir, ".dist-info") {
			record = f
		}
	}
	if target == nil || target.FileInfo().IsDir() {
		return 0, fmt.Errorf("wheel %s: %s: %w", wheel, member, ErrMissingMember)
	}
	size := target.UncompressedSize64
	if size > uint64(opts.maxBytes()) {
		return 0, fmt.Errorf("wheel %s: member %s: %d bytes over limit %d: %w", wheel, member, size, opts.maxBytes(), ErrTooLarge)
	}
	var rec recordEntry
	rec.size = -1
	if record != nil {
		rec, err = readRecord(record, member)
		if err != nil {
			return 0, fmt.Errorf("wheel %s: %s: %w", wheel, record.Name, err)
		}
	}
	if rec.size >= 0 && uint64(rec.size) != size {
		return 0, fmt.Errorf("wheel %s: member %s: zip header says %d bytes, RECORD says %d: %w",
			wheel, member, size, rec.size, ErrSizeMismatch)
	}
	rc, err := target.Open()
	if err != nil {
		return 0, fmt.Errorf("wheel %s: member %s: %w", wheel, member, err)
	}
	defer rc.Close()
	h := sha256.New()
	pw := newProgress(opts.Progress, "extract "+member, int64(size))
	n, err := io.Copy(io.MultiWriter(w, h, pw), io.LimitReader(ctxReader{ctx, rc}, int64(size)+1))
	pw.finish(err == nil)
	if err != nil {
		if errors.Is(err, zip.ErrChecksum) || errors.Is(err, io.ErrUnexpectedEOF) {
			return n, fmt.Errorf("wheel %s: member %s: after %d of %d bytes: %w (%w)", wheel, member, n, size, ErrSizeMismatch, err)
		}
		return n, fmt.Errorf("wheel %s: member %s: %w", wheel, member, err)
	}
	if uint64(n) != size {
		return n, fmt.Errorf("wheel %s: member %s: got %d bytes, zip header says %d: %w", wheel, member, n, size, ErrSizeMismatch)
	}
	if rec.sha256 != nil && string(h.Sum(nil)) != string(rec.sha256) {
		return n, fmt.Errorf("wheel %s: member %s: sha256 differs from RECORD: %w", wheel, member, ErrDigestMismatch)
	}
	return n, nil
}

// maxRecordBytes bounds the RECORD file read into memory.
const maxRecordBytes = 16 << 20

// readRecord returns the RECORD line for member; a member that RECORD does not list yields an empty
// entry (size -1), since RECORD is a cross-check, not the source of truth.
func readRecord(f *zip.File, member string) (recordEntry, error) {
	rec := recordEntry{size: -1}
	if f.UncompressedSize64 > maxRecordBytes {
		return rec, fmt.Errorf("%d bytes: %w", f.UncompressedSize64, ErrTooLarge)
	}
	rc, err := f.Open()
	if err != nil {
		return rec, err
	}
	defer rc.Close()
	cr := csv.NewReader(io.LimitReader(rc, maxRecordBytes))
	cr.FieldsPerRecord = -1
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return rec, nil
		}
		if err != nil {
			return rec, err
		}
		if len(row) == 0 || row[0] != member {
			continue
		}
		if len(row) > 1 && row[1] != "" {
			algo, digest, ok := strings.Cut(row[1], "=")
			if !ok {
				return rec, fmt.Errorf("member %s: hash field %q", member, row[1])
			}
			if algo == "sha256" {
				sum, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(digest, "="))
				if err != nil || len(sum) != sha256.Size {
					return rec, fmt.Errorf("member %s: sha256 field %q", member, digest)
				}
				rec.sha256 = sum
			}
		}
		if len(row) > 2 && row[2] != "" {
			n, err := strconv.ParseInt(row[2], 10, 64)
			if err != nil || n < 0 {
				return rec, fmt.Errorf("member %s: size field %q", member, row[2])
			}
			rec.size = n
		}
		return rec, nil
	}
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
