package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"
)

// Encoding is the result of Encode.
type Encoding struct {
	// IDs are the token ids.
	IDs []int
	// Offsets are the byte spans [start, end) of the input that each token covers; special tokens added
	// by the post-processor have [0, 0].
	Offsets [][2]int
	// CharOffsets are the same spans counted in runes (Unicode code points), as Hugging Face reports
	// offsets in Python and JavaScript.
	CharOffsets [][2]int
}

// Tokenizer encodes text to token ids and decodes ids to text like a Hugging Face tokenizer.
type Tokenizer struct {
	name      string
	model     *bpe
	norm      normalizer
	pre       preTokenizer
	post      postProcessor
	dec       decoder
	added     []AddedToken
	rawTrie   *trie // added tokens matched in the raw text
	normTrie  *trie // added tokens matched in normalized text
	idToToken []string
	special   map[int]bool

	bos, eos, pad int // -1 when unknown
	addBOS        bool
	chatTemplate  string
}

// interface check: the trace package consumes a Tokenizer through this interface.
var _ interface {
	Encode(text string, addSpecial bool) Encoding
	Decode(ids []int, skipSpecial bool) string
} = (*Tokenizer)(nil)

// FromFile loads a tokenizer.json file (or a gzip-compressed tokenizer.json.gz) and, when present, the
// tokenizer_config.json (or .json.gz) next to it, and a chat_template.jinja there, which takes priority
// over the config's chat_template as it does in transformers (which writes its templates there since
// v4.50).
func FromFile(path string) (*Tokenizer, error) {
	data, err := readMaybeGz(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	t, err := FromJSON(data, path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	for _, name := range []string{"tokenizer_config.json", "tokenizer_config.json.gz"} {
		p := filepath.Join(dir, name)
		cfg, err := readMaybeGz(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("tokenizer %s: %w", p, err)
		}
		if err := t.applyConfig(cfg, p); err != nil {
			return nil, err
		}
		break
	}
	jinja := filepath.Join(dir, "chat_template.jinja")
	switch b, err := os.ReadFile(jinja); {
	case err == nil:
		t.chatTemplate = string(b)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("tokenizer %s: %w", jinja, err)
	}
	return t, nil
}

func readMaybeGz(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

type fileJSON struct {
	AddedTokens []struct {
		ID         *int   `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         *modelJSON      `json:"model"`
}

type modelJSON struct {
	Type                    string            `json:"type"`
	Vocab                   map[string]int    `json:"vocab"`
	Merges                  []json.RawMessage `json:"merges"`
	UnkToken                *string           `json:"unk_token"`
	FuseUnk                 bool              `json:"fuse_unk"`
	ByteFallback            bool              `json:"byte_fallback"`
	IgnoreMerges            bool              `json:"ignore_merges"`
	ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
}

// FromJSON builds a tokenizer from the contents of a tokenizer.json file; name (usually the file's
// path) appears in errors.
func FromJSON(data []byte, name string) (t *Tokenizer, err error) {
	// Errors name the file and the line of the field they are about (see where).
	fail := func(err error) error { return fmt.Errorf("tokenizer %s: %w", where(name, data, err), err) }
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("tokenizer %s: %w: %v", name, ErrMalformed, r)
		}
	}()
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fail(fmt.Errorf("%w: %w", ErrMalformed, err))
	}
	if f.Model == nil {
		return nil, fail(fmt.Errorf("model: missing: %w", ErrMalformed))
	}
	if f.Model.Type != "BPE" && !(f.Model.Type == "" && f.Model.Merges != nil) {
		return nil, fail(fmt.Errorf("model.type %q: only BPE models: %w", f.Model.Type, ErrUnsupported))
	}
	if f.Model.Vocab == nil {
		return nil, fail(fmt.Errorf("model.vocab: missing: %w", ErrMalformed))
	}
	m := &bpe{
		vocab:        f.Model.Vocab,
		unk:          -1,
		fuseUnk:      f.Model.FuseUnk,
		byteFallback: f.Model.ByteFallback,
		ignoreMerges: f.Model.IgnoreMerges,
	}
	if p := f.Model.ContinuingSubwordPrefix; p != nil {
		m.prefix = *p
	}
	if s := f.Model.EndOfWordSuffix; s != nil {
		m.suffix = *s
	}
	if f.Model.UnkToken != nil {
		id, ok := m.vocab[*f.Model.UnkToken]
		if !ok {
			return nil, fail(fmt.Errorf("model.unk_token %q: not in vocab: %w", *f.Model.UnkToken, ErrMalformed))
		}
		m.unk = id
	}
	pairs := make([][2]string, len(f.Model.Merges))
	for i, raw := range f.Model.Merges {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			a, b, ok := strings.Cut(s, " ")
			if !ok {
				return nil, fail(fmt.Errorf("model.merges[%d] %q: no space: %w", i, s, ErrMalformed))
			}
			pairs[i] = [2]string{a, b}
			continue
		}
		var ab []string
		if err := json.Unmarshal(raw, &ab); err != nil || len(ab) != 2 {
			return nil, fail(fmt.Errorf("model.merges[%d]: want \"a b\" or [a, b]: %w", i, ErrMalformed))
		}
		pairs[i] = [2]string{ab[0], ab[1]}
	}
	if err := m.setMerges(pairs, "model.merges"); err != nil {
		return nil, fail(err)
	}
	t = &Tokenizer{name: name, model: m, bos: -1, eos: -1, pad: -1}
	if t.norm, err = parseNormalizer(f.Normalizer, "normalizer"); err != nil {
		return nil, fail(err)
	}
	if t.pre, err = parsePreTokenizer(f.PreTokenizer, "pre_tokenizer"); err != nil {
		return nil, fail(err)
	}
	if t.dec, err = parseDecoder(f.Decoder, "decoder"); err != nil {
		return nil, fail(err)
	}
	var added []AddedToken
	for i, a := range f.AddedTokens {
		if a.ID == nil || *a.ID < 0 {
			return nil, fail(fmt.Errorf("added_tokens[%d].id: missing or negative: %w", i, ErrMalformed))
		}
		if a.Content == "" {
			return nil, fail(fmt.Errorf("added_tokens[%d].content: empty: %w", i, ErrMalformed))
		}
		added = append(added, AddedToken{ID: *a.ID, Content: a.Content, Special: a.Special, SingleWord: a.SingleWord,
			LStrip: a.LStrip, RStrip: a.RStrip, Normalized: a.Normalized})
	}
	t.setAdded(added)
	if t.post, err = parsePostProcessor(f.PostProcessor, "post_processor", t.ID); err != nil {
		return nil, fail(err)
	}
	if pt, ok := t.post.(postTemplate); ok && len(pt.before) == 1 {
		t.bos, t.addBOS = pt.before[0], true
	}
	return t, nil
}

// setMerges fills the merge table from merge pairs in priority order; key names the merge list in errors
// ("model.merges", "tokenizer.ggml.merges").
func (m *bpe) setMerges(pairs [][2]string, key string) error {
	m.merges = make(map[uint64]mergeVal, len(pairs))
	// wordSplit: no merge joins a left token that does not end in ▁ to a right one that starts with ▁,
	// and the model has no word prefix or suffix and looks whole pieces up only by merging.
	m.wordSplit = m.prefix == "" && m.suffix == "" && !m.ignoreMerges
	for i, p := range pairs {
		if strings.HasPrefix(p[1], metaspace) && !strings.HasSuffix(p[0], metaspace) {
			m.wordSplit = false
		}
		a, ok1 := m.vocab[p[0]]
		b, ok2 := m.vocab[p[1]]
		id, ok3 := m.vocab[p[0]+m.prefixTrim(p[1])]
		if !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("%s[%d] %q %q: token not in vocab: %w", key, i, p[0], p[1], ErrMalformed)
		}
		k := pairKey(a, b)
		if _, dup := m.merges[k]; !dup {
			m.merges[k] = mergeVal{int32(i), int32(id)}
		}
	}
	m.initBytes()
	m.cache = make(map[string][]token)
	return nil
}

// prefixTrim strips the continuing-subword prefix from the right side of a merge.
func (m *bpe) prefixTrim(s string) string {
	if m.prefix != "" {
		return strings.TrimPrefix(s, m.prefix)
	}
	return s
}

// setAdded installs the added tokens and the id → token table.
func (t *Tokenizer) setAdded(added []AddedToken) {
	t.added = added
	t.rawTrie, t.normTrie = newTrie(), newTrie()
	t.special = map[int]bool{}
	n := 0
	for _, id := range t.model.vocab {
		n = max(n, id+1)
	}
	for _, a := range added {
		n = max(n, a.ID+1)
	}
	t.idToToken = make([]string, n)
	for s, id := range t.model.vocab {
		if id >= 0 {
			t.idToToken[id] = s
		}
	}
	for i, a := range added {
		t.idToToken[a.ID] = a.Content
		if a.Special {
			t.special[a.ID] = true
		}
		if a.Normalized {
			t.normTrie.insert(a.Content, i)
		} else {
			t.rawTrie.insert(a.Content, i)
		}
	}
}

// applyConfig reads tokenizer_config.json: bos/eos/pad tokens, add_bos_token and chat_template.
func (t *Tokenizer) applyConfig(data []byte, path string) error {
	fail := func(err error) error { return fmt.Errorf("tokenizer config %s: %w", where(path, data, err), err) }
	var c map[string]json.RawMessage
	if err := json.Unmarshal(data, &c); err != nil {
		return fail(fmt.Errorf("%w: %w", ErrMalformed, err))
	}
	tokenField := func(key string, dst *int) error {
		raw, ok := c[key]
		if !ok || isNull(raw) {
			return nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			var obj struct {
				Content string `json:"content"`
			}
			if err := json.Unmarshal(raw, &obj); err != nil {
				return fail(fmt.Errorf("%s: want a string or {\"content\": ...}: %w", key, ErrMalformed))
			}
			s = obj.Content
		}
		id, ok := t.ID(s)
		if !ok {
			return fail(fmt.Errorf("%s %q: not in vocabulary: %w", key, s, ErrMalformed))
		}
		*dst = id
		return nil
	}
	for _, f := range []struct {
		key string
		dst *int
	}{{"bos_token", &t.bos}, {"eos_token", &t.eos}, {"pad_token", &t.pad}} {
		if err := tokenField(f.key, f.dst); err != nil {
			return err
		}
	}
	if raw, ok := c["add_bos_token"]; ok && !isNull(raw) {
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return fail(fmt.Errorf("add_bos_token: want a bool: %w", ErrMalformed))
			}
			b = strings.EqualFold(s, "true")
		}
		t.addBOS = b
	}
	if raw, ok := c["chat_template"]; ok && !isNull(raw) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			// A list of named templates: take "default", else the first.
			var named []struct {
				Name     string `json:"name"`
				Template string `json:"template"`
			}
			if err := json.Unmarshal(raw, &named); err != nil {
				return fail(fmt.Errorf("chat_template: want a string or [{name, template}]: %w", ErrMalformed))
			}
			for i, n := range named {
				if n.Name == "default" || i == 0 {
					s = n.Template
				}
			}
		}
		t.chatTemplate = s
	}
	return nil
}

// Encode tokenizes text. With addSpecial, the post-processor adds the special tokens Hugging Face adds
// with add_special_tokens=True (such as a BOS token).
func (t *Tokenizer) Encode(text string, addSpecial bool) Encoding {
	var e Encoding
	pos := 0
	for _, m := range t.rawTrie.find(text, t.added) {
		t.encodeText(&e, text[pos:m.a], pos)
		e.IDs = append(e.IDs, t.added[m.tok].ID)
		e.Offsets = append(e.Offsets, [2]int{m.a, m.b})
		pos = m.b
	}
	t.encodeText(&e, text[pos:], pos)
	if t.post != nil {
		t.post.process(&e, addSpecial, t.Token)
	}
	e.CharOffsets = charOffsets(text, e.Offsets)
	return e
}

// encodeText encodes a stretch of text without raw added tokens that starts at byte base.
func (t *Tokenizer) encodeText(e *Encoding, text string, base int) {
	if text == "" {
		return
	}
	n := newNstr(text, base)
	if t.norm != nil {
		n = t.norm.normalize(n)
	}
	pos := 0
	first := base == 0
	for _, m := range t.normTrie.find(n.s, t.added) {
		t.encodePiece(e, n.sub(pos, m.a), first)
		sp := n.origin(m.a, m.b)
		e.IDs = append(e.IDs, t.added[m.tok].ID)
		e.Offsets = append(e.Offsets, [2]int{sp.lo, sp.hi})
		pos = m.b
		first = false
	}
	t.encodePiece(e, n.sub(pos, len(n.s)), first)
}

func (t *Tokenizer) encodePiece(e *Encoding, n nstr, first bool) {
	if n.s == "" {
		return
	}
	pieces := []nstr{n}
	if t.pre != nil {
		pieces = t.pre.split(pieces, first)
	}
	for _, p := range pieces {
		for _, tok := range t.model.tokenize(p.s) {
			sp := p.origin(tok.a, tok.b)
			e.IDs = append(e.IDs, tok.id)
			e.Offsets = append(e.Offsets, [2]int{sp.lo, sp.hi})
		}
	}
}

// charOffsets converts byte offsets into text to rune offsets, snapping outwards to rune boundaries.
func charOffsets(text string, offs [][2]int) [][2]int {
	if len(offs) == 0 {
		return nil
	}
	// runeAt[b] is the number of runes that start before byte b.
	runeAt := make([]int32, len(text)+1)
	n := int32(0)
	for i := 0; i < len(text); {
		_, sz := utf8.DecodeRuneInString(text[i:])
		for j := 0; j < sz; j++ {
			runeAt[i+j] = n
		}
		n++
		i += sz
	}
	runeAt[len(text)] = n
	out := make([][2]int, len(offs))
	for i, o := range offs {
		a, b := o[0], o[1]
		a = min(max(a, 0), len(text))
		b = min(max(b, a), len(text))
		ra := int(runeAt[a])
		rb := int(runeAt[b])
		if b > 0 && b < len(text) && !utf8.RuneStart(text[b]) {
			rb++ // the span ends inside a rune: cover all of it
		}
		out[i] = [2]int{ra, rb}
	}
	return out
}

// Decode turns ids back into text; with skipSpecial, special tokens are dropped. Unknown ids are
// skipped.
func (t *Tokenizer) Decode(ids []int, skipSpecial bool) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		if id < 0 || id >= len(t.idToToken) || (skipSpecial && t.special[id]) {
			continue
		}
		toks = append(toks, t.idToToken[id])
	}
	if t.dec == nil {
		return strings.Join(toks, " ")
	}
	return strings.Join(t.dec.decode(toks), "")
}

// Token returns the string of token id in the vocabulary ("" when id is out of range).
func (t *Tokenizer) Token(id int) string {
	if id < 0 || id >= len(t.idToToken) {
		return ""
	}
	return t.idToToken[id]
}

// ID returns the id of a token string of the vocabulary or of the added tokens.
func (t *Tokenizer) ID(token string) (int, bool) {
	for i := len(t.added) - 1; i >= 0; i-- {
		if t.added[i].Content == token {
			return t.added[i].ID, true
		}
	}
	id, ok := t.model.vocab[token]
	return id, ok
}

// VocabSize returns the number of ids, added tokens included (one more than the largest id).
func (t *Tokenizer) VocabSize() int { return len(t.idToToken) }

// BOS returns the beginning-of-sequence token id, if the tokenizer has one.
func (t *Tokenizer) BOS() (int, bool) { return t.bos, t.bos >= 0 }

// EOS returns the end-of-sequence token id, if the tokenizer has one.
func (t *Tokenizer) EOS() (int, bool) { return t.eos, t.eos >= 0 }

// Pad returns the padding token id, if the tokenizer has one.
func (t *Tokenizer) Pad() (int, bool) { return t.pad, t.pad >= 0 }

// AddBOS reports whether the model expects a BOS token at the start of a sequence (add_bos_token, or
// a post-processor that adds one).
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// ChatTemplate returns the Jinja chat template of the tokenizer config or GGUF metadata, or "".
func (t *Tokenizer) ChatTemplate() string { return t.chatTemplate }

// SpecialTokens returns the added tokens marked special, sorted by id.
func (t *Tokenizer) SpecialTokens() []AddedToken {
	var out []AddedToken
	for _, a := range t.added {
		if a.Special {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// AddedTokens returns all added tokens, special or not, sorted by id.
func (t *Tokenizer) AddedTokens() []AddedToken {
	out := append([]AddedToken(nil), t.added...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Name returns the name the tokenizer was loaded under (a file path, or "gguf").
func (t *Tokenizer) Name() string { return t.name }
