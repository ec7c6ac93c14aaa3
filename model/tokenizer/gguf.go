package tokenizer

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dlclark/regexp2"
)

// GGUF token types (llama.cpp's llama_token_type).
const (
	ggufTypeControl     = 3
	ggufTypeUserDefined = 4
)

// ggufSplits maps tokenizer.ggml.pre to the split regex of the vocabulary, as Hugging Face transformers
// does when it converts a GGUF tokenizer; other byte-level vocabularies use the GPT-2 regex.
var ggufSplits = map[string]string{}

func init() {
	const llama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	const qwen2 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	for _, k := range []string{"llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral", "dbrx", "smaug-bpe"} {
		ggufSplits[k] = llama3
	}
	for _, k := range []string{"qwen2", "deepseek-r1-qwen"} {
		ggufSplits[k] = qwen2
	}
}

// FromGGUFMetadata builds a tokenizer from the tokenizer.* metadata of a GGUF file, given as native Go
// values: tokenizer.ggml.model (string, "gpt2" or "llama"), tokenizer.ggml.tokens ([]string),
// tokenizer.ggml.merges ([]string), tokenizer.ggml.scores ([]float32), tokenizer.ggml.token_type
// ([]int32), tokenizer.ggml.pre (string), tokenizer.ggml.bos_token_id, eos_token_id,
// unknown_token_id and padding_token_id (uint32), tokenizer.ggml.add_bos_token and add_space_prefix
// (bool), tokenizer.chat_template (string), and optionally general.architecture (string). Integer and
// float values of other Go types, and []any slices, are accepted too.
//
// The result matches the tokenizer Hugging Face transformers builds from the same file
// (AutoTokenizer.from_pretrained(dir, gguf_file=...)): "gpt2" is byte-level BPE with the split regex
// named by tokenizer.ggml.pre, "llama" is SentencePiece-style BPE with byte fallback, whose merges
// are rebuilt from the scores when the file has none.
func FromGGUFMetadata(meta map[string]any) (t *Tokenizer, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("tokenizer gguf: %w: %v", ErrMalformed, r)
		}
	}()
	const name = "gguf"
	bad := func(key, why string) error {
		return fmt.Errorf("tokenizer %s: %s: %s: %w", name, key, why, ErrMalformed)
	}
	model, err := metaString(meta, "tokenizer.ggml.model", true)
	if err != nil {
		return nil, err
	}
	tokens, err := metaStrings(meta, "tokenizer.ggml.tokens")
	if err != nil {
		return nil, err
	}
	if len(tokens) == 0 {
		return nil, bad("tokenizer.ggml.tokens", "missing or empty")
	}
	types, err := metaInts(meta, "tokenizer.ggml.token_type")
	if err != nil {
		return nil, err
	}
	if types != nil && len(types) != len(tokens) {
		return nil, bad("tokenizer.ggml.token_type", fmt.Sprintf("%d entries for %d tokens", len(types), len(tokens)))
	}
	merges, err := metaStrings(meta, "tokenizer.ggml.merges")
	if err != nil {
		return nil, err
	}
	pre, err := metaString(meta, "tokenizer.ggml.pre", false)
	if err != nil {
		return nil, err
	}
	arch, err := metaString(meta, "general.architecture", false)
	if err != nil {
		return nil, err
	}
	tokID := func(key string) (int, error) {
		v, ok := meta[key]
		if !ok {
			return -1, nil
		}
		id, ok := toInt(v)
		if !ok || id < 0 || id >= len(tokens) {
			return -1, bad(key, fmt.Sprintf("want a token id below %d, got %v", len(tokens), v))
		}
		return id, nil
	}
	t = &Tokenizer{name: name}
	if t.bos, err = tokID("tokenizer.ggml.bos_token_id"); err != nil {
		return nil, err
	}
	if t.eos, err = tokID("tokenizer.ggml.eos_token_id"); err != nil {
		return nil, err
	}
	if t.pad, err = tokID("tokenizer.ggml.padding_token_id"); err != nil {
		return nil, err
	}
	unk, err := tokID("tokenizer.ggml.unknown_token_id")
	if err != nil {
		return nil, err
	}
	if t.chatTemplate, err = metaString(meta, "tokenizer.chat_template", false); err != nil {
		return nil, err
	}
	addBOS, hasAddBOS, err := metaBool(meta, "tokenizer.ggml.add_bos_token")
	if err != nil {
		return nil, err
	}
	addSpace, hasAddSpace, err := metaBool(meta, "tokenizer.ggml.add_space_prefix")
	if err != nil {
		return nil, err
	}

	vocab := make(map[string]int, len(tokens))
	var added []AddedToken
	raw := tokens // as the file spells them; added tokens keep this spelling
	// userDefined adds the tokens marked user-defined (like <think>, or Gemma's runs of newlines) that
	// are in the vocabulary as plain added tokens, matched whole in the raw text as llama.cpp and
	// transformers do. It runs after the control tokens, as in transformers' add_gguf_special_tokens.
	userDefined := func() {
		for i, ty := range types {
			if ty == ggufTypeUserDefined {
				if _, ok := vocab[raw[i]]; ok {
					added = append(added, AddedToken{ID: i, Content: raw[i]})
				}
			}
		}
	}
	switch model {
	case "gpt2":
		for i, tok := range tokens {
			if !inByteAlphabet(tok) {
				var b strings.Builder
				for j := 0; j < len(tok); j++ {
					b.WriteString(byteChar[tok[j]])
				}
				tok = b.String()
			}
			vocab[tok] = i
		}
		for i, ty := range types {
			if ty == ggufTypeControl && inByteAlphabet(tokens[i]) {
				added = append(added, AddedToken{ID: i, Content: tokens[i], Special: true})
			}
		}
		userDefined()
		t.model = &bpe{vocab: vocab, unk: -1}
		if re, ok := ggufSplits[pre]; ok {
			t.pre = preSeq{preSplit{re: regexp2.MustCompile(re, regexp2.None), beh: behIsolated}, preByteLevel{}}
		} else {
			t.pre = preByteLevel{re: regexp2.MustCompile(gpt2Pattern, regexp2.None)}
		}
		t.dec = decByteLevel{}
		t.addBOS = hasAddBOS && addBOS
	case "llama":
		gemma := strings.HasPrefix(arch, "gemma")
		if gemma {
			// Gemma stores runs of spaces as spaces; its merges spell them with ▁.
			tokens = append([]string(nil), tokens...)
			for i, tok := range tokens {
				if strings.Contains(tok, " ") && strings.TrimSpace(tok) == "" {
					tokens[i] = strings.Repeat("\u2581", len(tok))
				}
			}
		}
		for i, tok := range tokens {
			vocab[tok] = i // a repeated token keeps its last id, as in transformers' {token: index}
		}
		for i, ty := range types {
			if ty == ggufTypeControl {
				added = append(added, AddedToken{ID: i, Content: raw[i], Special: true})
			}
		}
		userDefined()
		t.model = &bpe{vocab: vocab, unk: -1, fuseUnk: true, byteFallback: true}
		// transformers' LlamaTokenizer: Metaspace, ▁ prepended to the first piece only (unless
		// add_space_prefix is false), no normalizer, and no unk token in the model (byte fallback covers
		// every character; the unk token is an added special token below).
		t.pre = preMetaspace{repl: "\u2581", prepend: 1}
		if hasAddSpace && !addSpace {
			t.pre = preMetaspace{repl: "\u2581", prepend: 2}
		}
		if gemma {
			t.model.unk = unk
			t.norm = normReplace{old: " ", new: "\u2581"}
			t.pre = preSplit{str: " ", beh: behMergedWithPrevious}
		}
		t.dec = decSeq{decReplace{"\u2581", " "}, decByteFallback{}, decFuse{}}
		if !gemma {
			t.dec = append(t.dec.(decSeq), decStrip{" ", 1, 0})
		}
		t.addBOS = !hasAddBOS || addBOS
		if merges == nil {
			scores, err := metaFloats(meta, "tokenizer.ggml.scores")
			if err != nil {
				return nil, err
			}
			if gemma || scores == nil {
				scores = make([]float64, len(tokens))
				for i := range scores {
					scores[i] = -float64(i)
				}
			}
			if len(scores) != len(tokens) {
				return nil, bad("tokenizer.ggml.scores", fmt.Sprintf("%d entries for %d tokens", len(scores), len(tokens)))
			}
			merges = generateMerges(tokens, vocab, scores)
		}
	default:
		return nil, fmt.Errorf("tokenizer %s: tokenizer.ggml.model %q: %w", name, model, ErrUnsupported)
	}
	if model == "llama" {
		// The bos, eos, unk and pad tokens are special added tokens (transformers registers them with the
		// tokenizer whatever their token type).
		have := map[int]bool{}
		for _, a := range added {
			have[a.ID] = true
		}
		for _, id := range []int{t.bos, t.eos, unk, t.pad} {
			if id >= 0 && !have[id] {
				added = append(added, AddedToken{ID: id, Content: raw[id], Special: true})
				have[id] = true
			}
		}
	}
	pairs := make([][2]string, len(merges))
	for i, m := range merges {
		a, b, ok := strings.Cut(m, " ")
		if !ok {
			return nil, bad(fmt.Sprintf("tokenizer.ggml.merges[%d]", i), fmt.Sprintf("%q has no space", m))
		}
		pairs[i] = [2]string{a, b}
	}
	if err := t.model.setMerges(pairs, "tokenizer.ggml.merges"); err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", name, err)
	}
	t.setAdded(added)
	if t.addBOS && t.bos >= 0 {
		t.post = postTemplate{before: []int{t.bos}}
	}
	return t, nil
}

// generateMerges rebuilds BPE merges from a SentencePiece vocabulary: every split of a token into two
// tokens, best score first (transformers' generate_merges with vocab_scores). Splits are at byte
// offsets where transformers splits at code points; a split inside a character yields an invalid
// half that is in no vocabulary, so the merges are the same.
func generateMerges(tokens []string, vocab map[string]int, scores []float64) []string {
	type mg struct {
		l, r  string
		score float64
	}
	var all []mg
	seen := make(map[string]bool, len(tokens))
	for _, tok := range tokens {
		// Python dict order: a repeated token comes at its first position, with the score of its last.
		if seen[tok] {
			continue
		}
		seen[tok] = true
		i := vocab[tok]
		var local []mg
		for j := 1; j < len(tok); j++ {
			l, r := tok[:j], tok[j:]
			if _, ok := vocab[l]; !ok {
				continue
			}
			if _, ok := vocab[r]; !ok {
				continue
			}
			local = append(local, mg{l, r, scores[i]})
		}
		sort.SliceStable(local, func(a, b int) bool {
			if vocab[local[a].l] != vocab[local[b].l] {
				return vocab[local[a].l] < vocab[local[b].l]
			}
			return vocab[local[a].r] < vocab[local[b].r]
		})
		all = append(all, local...)
	}
	sort.SliceStable(all, func(a, b int) bool {
		x, y := all[a], all[b]
		if x.score != y.score {
			return x.score > y.score
		}
		if len(x.l) != len(y.l) {
			return len(x.l) > len(y.l)
		}
		return len(x.r) > len(y.r)
	})
	out := make([]string, len(all))
	for i, m := range all {
		out[i] = m.l + " " + m.r
	}
	return out
}

func inByteAlphabet(s string) bool {
	for _, r := range s {
		if _, ok := charByte[r]; !ok {
			return false
		}
	}
	return true
}

func metaString(meta map[string]any, key string, required bool) (string, error) {
	v, ok := meta[key]
	if !ok {
		if required {
			return "", fmt.Errorf("tokenizer gguf: %s: missing: %w", key, ErrMalformed)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("tokenizer gguf: %s: want a string, got %T: %w", key, v, ErrMalformed)
	}
	return s, nil
}

func metaBool(meta map[string]any, key string) (val, present bool, err error) {
	v, ok := meta[key]
	if !ok {
		return false, false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, false, fmt.Errorf("tokenizer gguf: %s: want a bool, got %T: %w", key, v, ErrMalformed)
	}
	return b, true, nil
}

func metaStrings(meta map[string]any, key string) ([]string, error) {
	v, ok := meta[key]
	if !ok {
		return nil, nil
	}
	switch x := v.(type) {
	case []string:
		return x, nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("tokenizer gguf: %s[%d]: want a string, got %T: %w", key, i, e, ErrMalformed)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("tokenizer gguf: %s: want []string, got %T: %w", key, v, ErrMalformed)
}

func metaInts(meta map[string]any, key string) ([]int, error) {
	v, ok := meta[key]
	if !ok {
		return nil, nil
	}
	var out []int
	switch x := v.(type) {
	case []int32:
		for _, e := range x {
			out = append(out, int(e))
		}
	case []int:
		out = append(out, x...)
	case []any:
		for i, e := range x {
			n, ok := toInt(e)
			if !ok {
				return nil, fmt.Errorf("tokenizer gguf: %s[%d]: want an integer, got %T: %w", key, i, e, ErrMalformed)
			}
			out = append(out, n)
		}
	default:
		return nil, fmt.Errorf("tokenizer gguf: %s: want []int32, got %T: %w", key, v, ErrMalformed)
	}
	return out, nil
}

func metaFloats(meta map[string]any, key string) ([]float64, error) {
	v, ok := meta[key]
	if !ok {
		return nil, nil
	}
	var out []float64
	switch x := v.(type) {
	case []float32:
		for _, e := range x {
			out = append(out, float64(e))
		}
	case []float64:
		out = append(out, x...)
	case []any:
		for i, e := range x {
			switch f := e.(type) {
			case float64:
				out = append(out, f)
			case float32:
				out = append(out, float64(f))
			default:
				return nil, fmt.Errorf("tokenizer gguf: %s[%d]: want a number, got %T: %w", key, i, e, ErrMalformed)
			}
		}
	default:
		return nil, fmt.Errorf("tokenizer gguf: %s: want []float32, got %T: %w", key, v, ErrMalformed)
	}
	return out, nil
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case uint32:
		return int(x), true
	case int32:
		return int(x), true
	case int:
		return x, true
	case int64:
		return int(x), true
	case uint64:
		return int(x), true
	case uint8:
		return int(x), true
	case uint16:
		return int(x), true
	case int8:
		return int(x), true
	case int16:
		return int(x), true
	case float64:
		if x == float64(int(x)) {
			return int(x), true
		}
	}
	return 0, false
}
