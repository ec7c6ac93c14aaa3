package chat

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/agentlens/agentlens/internal/testutil"
)

// ggufChatTemplate reads the tokenizer.chat_template metadata string of a GGUF file ("" when absent). It
// is a minimal metadata walker kept in the test so that trace stays independent of model packages.
func ggufChatTemplate(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var hdr struct {
		Magic   [4]byte
		Version uint32
		Tensors uint64
		KVs     uint64
	}
	if err := binary.Read(r, binary.LittleEndian, &hdr); err != nil {
		return "", err
	}
	if string(hdr.Magic[:]) != "GGUF" || hdr.Version < 2 {
		return "", fmt.Errorf("gguf %s: bad header", path)
	}
	u32 := func() uint32 { var v uint32; binary.Read(r, binary.LittleEndian, &v); return v }
	u64 := func() uint64 { var v uint64; binary.Read(r, binary.LittleEndian, &v); return v }
	str := func() (string, error) {
		n := u64()
		if n > 1<<26 {
			return "", errors.New("string too long")
		}
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return string(b), err
	}
	sizes := map[uint32]int{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
	var skip func(typ uint32) error
	skip = func(typ uint32) error {
		switch typ {
		case 8:
			_, err := str()
			return err
		case 9:
			et, n := u32(), u64()
			if sz, ok := sizes[et]; ok {
				_, err := r.Discard(int(n) * sz)
				return err
			}
			for range n {
				if err := skip(et); err != nil {
					return err
				}
			}
			return nil
		}
		sz, ok := sizes[typ]
		if !ok {
			return fmt.Errorf("unknown metadata type %d", typ)
		}
		_, err := r.Discard(sz)
		return err
	}
	for range hdr.KVs {
		key, err := str()
		if err != nil {
			return "", err
		}
		typ := u32()
		if key == "tokenizer.chat_template" && typ == 8 {
			return str()
		}
		if err := skip(typ); err != nil {
			return "", fmt.Errorf("gguf %s: key %s: %w", path, key, err)
		}
	}
	return "", nil
}

// TestGGUFTemplates checks the committed SmolLM2 template against the real GGUF's metadata, and that the
// Gemma-3 GGUF, which has no chat template, gives ErrNoTemplate unless a template file is given.
func TestGGUFTemplates(t *testing.T) {
	smol := testutil.ModelPath(t, testutil.SmolLM2GGUF)
	got, err := ggufChatTemplate(smol)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "templates", "smollm2.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s tokenizer.chat_template = %q, want testdata/templates/smollm2.jinja %q", smol, got, want)
	}
	if _, err := Select(testutil.SmolLM2GGUF, got, ""); err != nil {
		t.Errorf("Select(SmolLM2) = %v", err)
	}

	gemma := testutil.ModelPath(t, testutil.Gemma3GGUF)
	tmpl, err := ggufChatTemplate(gemma)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Select(testutil.Gemma3GGUF, tmpl, ""); !errors.Is(err, ErrNoTemplate) {
		t.Errorf("Select(Gemma-3 GGUF without template) error = %v, want ErrNoTemplate", err)
	}
	if _, err := Select(testutil.Gemma3GGUF, tmpl, filepath.Join("testdata", "templates", "gemma3.jinja")); err != nil {
		t.Errorf("Select(Gemma-3 with template file) = %v", err)
	}
}
