package bench

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestParseJobs(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Job
		wantErr bool
	}{
		{name: "one", in: "forward:512", want: []Job{{Forward, 512}}},
		{name: "k suffix and spaces", in: " forward:1k , gradient:4K ", want: []Job{{Forward, 1024}, {Gradient, 4096}}},
		{name: "slash list", in: "forward:512/1k/4k,gradient:1k", want: []Job{{Forward, 512}, {Forward, 1024}, {Forward, 4096}, {Gradient, 1024}}},
		{name: "duplicates dropped", in: "forward:1024,forward:1k", want: []Job{{Forward, 1024}}},
		{name: "upper-case kind", in: "ABLATE:1k", want: []Job{{Ablate, 1024}}},
		{name: "trailing comma", in: "gradient:64,", want: []Job{{Gradient, 64}}},
		{name: "unknown kind", in: "backward:512", wantErr: true},
		{name: "no length", in: "forward", wantErr: true},
		{name: "zero", in: "forward:0", wantErr: true},
		{name: "negative", in: "forward:-5", wantErr: true},
		{name: "garbage count", in: "forward:12x", wantErr: true},
		{name: "too short for gradient", in: "gradient:1", wantErr: true},
		{name: "too short for ablate", in: "ablate:19", wantErr: true},
		{name: "cross-turn jobs", in: "matrix:4k,atp:42,patch:1k", want: []Job{{Matrix, 4096}, {AtP, 42}, {Patch, 1024}}},
		{name: "too short for the matrix's segments", in: "matrix:41", wantErr: true},
		{name: "empty", in: " , ", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseJobs(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrBadJob) {
					t.Fatalf("ParseJobs(%q) = %v, %v, want an ErrBadJob error", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseJobs(%q): %v", tc.in, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ParseJobs(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestJobStringRoundTrip(t *testing.T) {
	for _, j := range append(DefaultJobs(), Job{Ablate, 1024}) {
		got, err := ParseJobs(j.String())
		if err != nil || len(got) != 1 || got[0] != j {
			t.Errorf("ParseJobs(%q) = %v, %v, want [%v]", j.String(), got, err, j)
		}
	}
}

func TestDefaultJobs(t *testing.T) {
	want := []Job{{Forward, 512}, {Forward, 1024}, {Forward, 4096}, {Gradient, 1024}, {Gradient, 4096}}
	if got := DefaultJobs(); !slices.Equal(got, want) {
		t.Errorf("DefaultJobs() = %v, want %v", got, want)
	}
}

func TestJobWork(t *testing.T) {
	tests := []struct {
		job  Job
		want int
	}{
		{Job{Forward, 512}, 512},
		{Job{Gradient, 1024}, 1024},
		{Job{Ablate, 1000}, 19000},
		{Job{Matrix, 1000}, 20000},
		{Job{AtP, 1000}, 2000},
		{Job{Patch, 1000}, 60000},
	}
	for _, tc := range tests {
		if got := tc.job.Work(); got != tc.want {
			t.Errorf("%v.Work() = %d, want %d", tc.job, got, tc.want)
		}
	}
}

func TestTokens(t *testing.T) {
	a := Tokens(1000, 300, 7)
	if len(a) != 1000 {
		t.Fatalf("len(Tokens(1000, ...)) = %d, want 1000", len(a))
	}
	if b := Tokens(1000, 300, 7); !slices.Equal(a, b) {
		t.Errorf("Tokens is not deterministic")
	}
	if p := Tokens(10, 300, 7); !slices.Equal(p, a[:10]) {
		t.Errorf("Tokens(10) = %v, want the prefix %v", p, a[:10])
	}
	if c := Tokens(1000, 300, 8); slices.Equal(a, c) {
		t.Errorf("Tokens with seeds 7 and 8 are equal")
	}
	seen := map[int]bool{}
	for _, id := range a {
		if id < 0 || id >= 300 {
			t.Fatalf("Tokens id %d outside [0, 300)", id)
		}
		seen[id] = true
	}
	// 1000 uniform draws from 300 ids miss each id with probability (299/300)^1000 ≈ 3.5%.
	if len(seen) < 250 {
		t.Errorf("Tokens drew %d distinct ids of 300, want at least 250", len(seen))
	}
	if got := Tokens(0, 300, 1); got != nil {
		t.Errorf("Tokens(0) = %v, want nil", got)
	}
}

func TestWithoutSegment(t *testing.T) {
	tokens := make([]int, 45)
	for i := range tokens {
		tokens[i] = i
	}
	total := 0
	for i := range AblateSegments {
		got := withoutSegment(tokens, i)
		total += len(got)
		b := segmentBounds(len(tokens))
		want := slices.Concat(tokens[:b[i]], tokens[b[i+1]:])
		if !slices.Equal(got, want) {
			t.Errorf("withoutSegment(%d) = %v, want %v", i, got, want)
		}
	}
	if w := (Job{Ablate, len(tokens)}).Work(); total != w {
		t.Errorf("ablate passes cover %d positions, Work() = %d", total, w)
	}
}

func TestSharedEpisode(t *testing.T) {
	tokens := make([]int, 21)
	for i := range tokens {
		tokens[i] = i
	}
	seen := map[string]bool{}
	for e := range 3 {
		got := sharedEpisode(tokens, e)
		if len(got) != len(tokens) || !slices.Equal(got[:10], tokens[:10]) {
			t.Fatalf("episode %d = %v: want the 10-token prompt then 11 own tokens", e, got)
		}
		own := slices.Clone(got[10:])
		if own[0] != 10+7*e%11 {
			t.Errorf("episode %d starts its own tokens at %d, want %d", e, own[0], 10+7*e%11)
		}
		slices.Sort(own)
		if !slices.Equal(own, tokens[10:]) {
			t.Errorf("episode %d's own tokens %v are not a rotation of the second half", e, got[10:])
		}
		seen[fmt.Sprint(got)] = true
	}
	if len(seen) != 3 {
		t.Errorf("3 episodes, %d distinct", len(seen))
	}
	if err := (Job{Shared, 3}).Validate(); err == nil {
		t.Error("shared:3 validated; want at least 4 tokens")
	}
}

func TestParseCount(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"1", 1, true}, {"4k", 4096, true}, {"2K", 2048, true}, {" 7 ", 7, true},
		{"", 0, false}, {"k", 0, false}, {"0", 0, false}, {"1.5k", 0, false}, {"99999999999", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseCount(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseCount(%q) = %d, %v, want %d (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
