package hook

import (
	"errors"
	"testing"
)

func TestNameString(t *testing.T) {
	tests := []struct {
		name Name
		want string
	}{
		{HookEmbed(), "hook_embed"},
		{ResidPreAt(0), "blocks.0.hook_resid_pre"},
		{ResidPostAt(3), "blocks.3.hook_resid_post"},
		{PatternAt(11), "blocks.11.attn.hook_pattern"},
		{At(MLPPost, 2), "blocks.2.mlp.hook_post"},
		{MLPOutAt(5), "blocks.5.hook_mlp_out"},
		{LnFinalNormalized(), "ln_final.hook_normalized"},
	}
	for _, tt := range tests {
		if got := tt.name.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseRoundTrip(t *testing.T) {
	names := []Name{HookEmbed(), LnFinalNormalized()}
	for _, s := range BlockSites {
		names = append(names, At(s, 0), At(s, 17))
	}
	for _, n := range names {
		got, err := Parse(n.String())
		if err != nil || got != n {
			t.Errorf("Parse(%q) = %v, %v, want %v", n.String(), got, err, n)
		}
	}
}

func TestParseAliases(t *testing.T) {
	tests := []struct {
		in   string
		want Name
	}{
		{"model.layers.3", ResidPostAt(3)},
		{"model.layers.3.output", ResidPostAt(3)},
		{"model.layers.0.self_attn", AttnOutAt(0)},
		{"model.layers.2.mlp", MLPOutAt(2)},
		{"model.layers.2.mlp.act_fn", At(MLPPost, 2)},
		{"model.embed_tokens", HookEmbed()},
		{"model.norm", LnFinalNormalized()},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"", "blocks", "blocks.x.hook_resid_pre", "blocks.-1.hook_resid_pre",
		"blocks.1.hook_nothing", "model.layers.1.self_attn.rotary", "resid_post"} {
		if _, err := Parse(s); !errors.Is(err, ErrUnknownHook) {
			t.Errorf("Parse(%q) error = %v, want ErrUnknownHook", s, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("blocks.3.hook_resid_post")
	f.Add("model.layers.2.mlp")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			return
		}
		back, err := Parse(n.String())
		if err != nil || back != n {
			t.Fatalf("Parse(%q) = %v; reparse of %q = %v, %v", s, n, n.String(), back, err)
		}
	})
}

// TestAliasesParseBack checks that every alias Aliases lists parses back to its name, and that every
// site has axes.
func TestAliasesParseBack(t *testing.T) {
	names := []Name{HookEmbed(), LnFinalNormalized()}
	for _, s := range BlockSites {
		names = append(names, At(s, 7))
	}
	n := 0
	for _, name := range names {
		if len(name.Site.Axes()) < 3 {
			t.Errorf("%s.Axes() = %v", name, name.Site.Axes())
		}
		for _, a := range name.Aliases() {
			n++
			got, err := Parse(a)
			if err != nil || got != name {
				t.Errorf("Parse(%q) = %v, %v, want %v", a, got, err, name)
			}
		}
	}
	if n != len(aliases)+2 {
		t.Errorf("listed %d aliases, want %d", n, len(aliases)+2)
	}
}
