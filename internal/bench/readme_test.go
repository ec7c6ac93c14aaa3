package bench

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestReadmeTables checks that the README as committed splices cleanly: it holds one amd-avx2 and one
// intel-avx512 block, re-splicing the AMD block's own table reproduces the file, and a new AMD table
// changes that block only.
func TestReadmeTables(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseTableBlocks(readme)
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	byKey := map[string]tableBlock{}
	for _, b := range blocks {
		byKey[b.key] = b
	}
	for _, key := range []string{"amd-avx2", "intel-avx512"} {
		for _, m := range []string{beginMarker(key), endMarker(key)} {
			if n := bytes.Count(readme, []byte(m+"\n")); n != 1 {
				t.Errorf("README.md holds %d lines %s, want 1", n, m)
			}
		}
		if _, ok := byKey[key]; !ok {
			t.Errorf("README.md has no %s block; it has %d blocks", key, len(blocks))
		}
	}
	amd, ok := byKey["amd-avx2"]
	if !ok {
		t.FailNow()
	}

	// The block is what SpliceTables writes: a bold label, a blank line, the tables.
	const label = "AMD EPYC, AVX2 (no AVX-512)"
	content := string(readme[amd.start:amd.end])
	heading := "**" + label + "**\n\n"
	if !strings.HasPrefix(content, heading) {
		t.Fatalf("amd-avx2 block starts %q, want %q", content[:min(len(content), 60)], heading)
	}
	same, err := SpliceTables(readme, "amd-avx2", label, []byte(strings.TrimPrefix(content, heading)))
	if err != nil {
		t.Fatalf("SpliceTables(README.md, amd-avx2, its own table): %v", err)
	}
	if !bytes.Equal(same, readme) {
		t.Errorf("SpliceTables(README.md, amd-avx2, its own table) changed the file")
	}

	body := []byte("| job | tokens |\n| --- | --: |\n| forward | 1024 |\n")
	got, err := SpliceTables(readme, "amd-avx2", "AMD EPYC 7B13, AVX2 (no AVX-512)", body)
	if err != nil {
		t.Fatalf("SpliceTables(README.md, amd-avx2): %v", err)
	}
	want := string(readme[:amd.start]) + "**AMD EPYC 7B13, AVX2 (no AVX-512)**\n\n" + string(body) + string(readme[amd.end:])
	if string(got) != want {
		t.Errorf("SpliceTables(README.md, amd-avx2) changed more than the amd-avx2 block")
	}
	// Independently of parseTableBlocks: everything up to the begin marker's line and from the end
	// marker's line on is byte-identical.
	begin, end := beginMarker("amd-avx2")+"\n", endMarker("amd-avx2")+"\n"
	pre := readme[:bytes.Index(readme, []byte(begin))+len(begin)]
	post := readme[bytes.Index(readme, []byte(end)):]
	if !bytes.HasPrefix(got, pre) || !bytes.HasSuffix(got, post) {
		t.Errorf("SpliceTables(README.md, amd-avx2) changed bytes outside the amd-avx2 block")
	}
	if mid := got[len(pre) : len(got)-len(post)]; !bytes.HasSuffix(mid, body) {
		t.Errorf("amd-avx2 block after SpliceTables = %q, want it to end in the new table", mid)
	}
	if !bytes.Contains(got, readme[byKey["intel-avx512"].start:byKey["intel-avx512"].end]) {
		t.Errorf("SpliceTables(README.md, amd-avx2) lost the intel-avx512 table")
	}
}
