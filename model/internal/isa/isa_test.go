package isa

import (
	"errors"
	"strings"
	"testing"
)

func TestChoose(t *testing.T) {
	cases := []struct {
		name     string
		cpu      Level
		env      string
		want     Choice
		wantWarn string
	}{
		{"unset", AVX512, "", Choice{Max: AVX512}, ""},
		{"blank", AVX2, "  ", Choice{Max: AVX2}, ""},
		{"force_generic", AVX512, "generic", Choice{Max: Generic, Forced: true}, ""},
		{"force_avx2_upper_case", AVX512, "AVX2", Choice{Max: AVX2, Forced: true}, ""},
		{"force_same", AVX2, "avx2", Choice{Max: AVX2, Forced: true}, ""},
		{"above_cpu", AVX2, "avx512", Choice{Max: AVX2}, "AGENTLENS_KERNEL=avx512: this CPU runs at most avx2"},
		{"unknown", AVX512, "sse9", Choice{Max: AVX512}, `AGENTLENS_KERNEL="sse9": want generic, avx2 or avx512; ignored`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, warnings := Choose(tc.cpu, tc.env)
			if got != tc.want {
				t.Errorf("Choose(%s, %q) = %+v, want %+v", tc.cpu, tc.env, got, tc.want)
			}
			joined := strings.Join(warnings, "\n")
			if (tc.wantWarn == "") != (joined == "") || !strings.Contains(joined, tc.wantWarn) {
				t.Errorf("Choose(%s, %q) warnings = %q, want %q", tc.cpu, tc.env, warnings, tc.wantWarn)
			}
		})
	}
}

// TestSelect checks the fallback order: levels above the choice are skipped without a word, a failing
// candidate is reported and the next one taken, a forced choice keeps its first candidate.
func TestSelect(t *testing.T) {
	cands := []Candidate[string]{{"wide", AVX512, "wide"}, {"narrow", AVX2, "narrow"}, {"go", Generic, "go"}}
	failing := func(bad ...string) func(string) error {
		return func(k string) error {
			for _, b := range bad {
				if k == b {
					return errors.New("C[0,0] = 1, want 2")
				}
			}
			return nil
		}
	}
	cases := []struct {
		name   string
		choice Choice
		bad    []string
		want   string
		warns  []string
	}{
		{"best_passes", Choice{Max: AVX512}, nil, "wide", nil},
		{"capped", Choice{Max: AVX2}, []string{"wide"}, "narrow", nil},
		{"falls_back_once", Choice{Max: AVX512}, []string{"wide"}, "narrow",
			[]string{"k wide failed its self-check (C[0,0] = 1, want 2); falling back to narrow"}},
		{"falls_back_twice", Choice{Max: AVX512}, []string{"wide", "narrow"}, "go",
			[]string{"falling back to narrow", "k narrow failed its self-check (C[0,0] = 1, want 2); falling back to go"}},
		{"last_fails_too", Choice{Max: AVX2}, []string{"narrow", "go"}, "go",
			[]string{"falling back to go", "k go (the last one) failed its self-check"}},
		{"forced", Choice{Max: AVX2, Forced: true}, []string{"narrow"}, "narrow",
			[]string{"k narrow failed its self-check (C[0,0] = 1, want 2); using it anyway, as AGENTLENS_KERNEL=avx2 asks"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, warnings := Select("k", tc.choice, cands, failing(tc.bad...))
			if got.Name != tc.want {
				t.Errorf("Select = %s, want %s", got.Name, tc.want)
			}
			if len(warnings) != len(tc.warns) {
				t.Fatalf("warnings = %q, want %d", warnings, len(tc.warns))
			}
			for i, w := range tc.warns {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, warnings[i], w)
				}
			}
		})
	}
}

func TestParseLevelRoundTrip(t *testing.T) {
	for _, l := range []Level{Generic, AVX2, AVX512} {
		got, err := ParseLevel(l.String())
		if err != nil || got != l {
			t.Errorf("ParseLevel(%q) = %v, %v, want %v", l.String(), got, err, l)
		}
	}
}
