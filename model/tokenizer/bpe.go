package tokenizer

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// byteChar[b] is the GPT-2 byte-level character of byte b; charByte is its inverse.
var byteChar, charByte = byteLevelTables()

func byteLevelTables() ([256]string, map[rune]byte) {
	var bc [256]string
	cb := make(map[rune]byte, 256)
	n := 0
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !(b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF) {
			r = rune(256 + n)
			n++
		}
		bc[b] = string(r)
		cb[r] = byte(b)
	}
	return bc, cb
}

// token is one model output: an id and the byte range [a, b) of the piece it covers.
type token struct {
	id   int
	a, b int
}

type mergeVal struct {
	rank, id int32
}

// bpe is the Hugging Face BPE model.
type bpe struct {
	vocab        map[string]int
	merges       map[uint64]mergeVal
	unk          int // -1 when there is no unk token
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	prefix       string // continuing_subword_prefix
	suffix       string // end_of_word_suffix
	byteTok      [256]int
	wordSplit    bool // long pieces may be split before word-start ▁ (see tokenizeWords)

	mu    sync.RWMutex
	cache map[string][]token
}

const cacheMax = 50000

func pairKey[T int | int32](a, b T) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

func (m *bpe) initBytes() {
	for b := 0; b < 256; b++ {
		id, ok := m.vocab[fmt.Sprintf("<0x%02X>", b)]
		if !ok {
			id = -1
		}
		m.byteTok[b] = id
	}
}

// symbol is a node of the word being merged (int32 fields: a long piece is one large array of them).
type symbol struct {
	id         int32
	a, b       int32 // byte range in the piece
	prev, next int32
}

type cand struct {
	rank, pos int32
	id        int32
}

// candHeap is a binary min-heap of merge candidates ordered by (rank, pos), as in Hugging Face's BPE.
// It is typed rather than container/heap, whose interface calls and boxing dominated long pieces
// (a Llama-2 transcript is one piece per stretch between special tokens).
type candHeap []cand

func (c cand) less(d cand) bool { return c.rank < d.rank || c.rank == d.rank && c.pos < d.pos }

func (h *candHeap) init() {
	for i := len(*h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *candHeap) push(c cand) {
	*h = append(*h, c)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s[i].less(s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *candHeap) pop() cand {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	*h = s[:n]
	h.down(0)
	return top
}

func (h candHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && h[r].less(h[l]) {
			j = r
		}
		if !h[j].less(h[i]) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

// metaspace is SentencePiece's word-start character.
const metaspace = "\u2581"

// tokenize runs BPE on one pre-tokenized piece.
func (m *bpe) tokenize(s string) []token {
	if m.wordSplit && len(s) >= 256 {
		return m.tokenizeWords(s)
	}
	return m.tokenizeCached(s)
}

// tokenizeWords runs BPE on a long piece word by word. A word starts at a ▁ that does not follow a ▁;
// wordSplit holds when no merge can join a token ending in something else to one starting with ▁, so
// no merge crosses a word start and the result is that of BPE on the whole piece. (Llama-2 and Mistral
// tokenizers have no pre-tokenizer, so without this a transcript is one 100 KB piece.)
func (m *bpe) tokenizeWords(s string) []token {
	var out []token
	add := func(a, b int) {
		for _, t := range m.tokenizeCached(s[a:b]) {
			out = append(out, token{t.id, t.a + a, t.b + a})
		}
	}
	start := 0
	for i := 1; i < len(s); {
		j := strings.Index(s[i:], metaspace)
		if j < 0 {
			break
		}
		p := i + j
		if !strings.HasSuffix(s[:p], metaspace) {
			add(start, p)
			start = p
		}
		i = p + len(metaspace)
	}
	add(start, len(s))
	return out
}

// tokenizeCached runs BPE on a piece through the cache of short pieces.
func (m *bpe) tokenizeCached(s string) []token {
	if len(s) == 0 {
		return nil
	}
	cacheable := len(s) < 256
	if cacheable {
		m.mu.RLock()
		t, ok := m.cache[s]
		m.mu.RUnlock()
		if ok {
			return t
		}
	}
	out := m.tokenizeUncached(s)
	if cacheable {
		m.mu.Lock()
		if len(m.cache) < cacheMax {
			m.cache[s] = out
		}
		m.mu.Unlock()
	}
	return out
}

func (m *bpe) tokenizeUncached(s string) []token {
	if m.ignoreMerges {
		if id, ok := m.vocab[s]; ok {
			return []token{{id, 0, len(s)}}
		}
	}
	syms := make([]symbol, 0, len(s))
	unkOpen := false // the last symbol is an unk that may be extended
	push := func(id, a, b int) {
		syms = append(syms, symbol{id: int32(id), a: int32(a), b: int32(b)})
	}
	for i := 0; i < len(s); {
		_, sz := utf8.DecodeRuneInString(s[i:])
		piece := s[i : i+sz]
		if i > 0 && m.prefix != "" {
			piece = m.prefix + piece
		}
		if i+sz == len(s) && m.suffix != "" {
			piece += m.suffix
		}
		if id, ok := m.vocab[piece]; ok {
			push(id, i, i+sz)
			unkOpen = false
		} else if m.byteFallback && m.allBytes(s[i:i+sz]) {
			for j := i; j < i+sz; j++ {
				push(m.byteTok[s[j]], j, j+1)
			}
			unkOpen = false
		} else if m.unk >= 0 {
			if unkOpen && m.fuseUnk {
				syms[len(syms)-1].b = int32(i + sz)
			} else {
				push(m.unk, i, i+sz)
				unkOpen = true
			}
		}
		i += sz
	}
	if len(syms) == 0 {
		return nil
	}
	for i := range syms {
		syms[i].prev = int32(i - 1)
		syms[i].next = int32(i + 1)
	}
	syms[len(syms)-1].next = -1

	h := make(candHeap, 0, len(syms))
	for i := 0; i+1 < len(syms); i++ {
		if mv, ok := m.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			h = append(h, cand{mv.rank, int32(i), mv.id})
		}
	}
	h.init()
	for len(h) > 0 {
		c := h.pop()
		l := &syms[c.pos]
		if l.b == l.a || l.next < 0 {
			continue
		}
		r := &syms[l.next]
		mv, ok := m.merges[pairKey(l.id, r.id)]
		if !ok || mv.id != c.id {
			continue
		}
		// Merge r into l.
		l.id = c.id
		l.b = r.b
		r.a, r.b = 0, 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = c.pos
		}
		if l.prev >= 0 {
			if mv, ok := m.merges[pairKey(syms[l.prev].id, l.id)]; ok {
				h.push(cand{mv.rank, l.prev, mv.id})
			}
		}
		if l.next >= 0 {
			if mv, ok := m.merges[pairKey(l.id, syms[l.next].id)]; ok {
				h.push(cand{mv.rank, c.pos, mv.id})
			}
		}
	}
	out := make([]token, 0, len(syms))
	for i := int32(0); i >= 0; i = syms[i].next {
		out = append(out, token{int(syms[i].id), int(syms[i].a), int(syms[i].b)})
	}
	return out
}

func (m *bpe) allBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if m.byteTok[s[i]] < 0 {
			return false
		}
	}
	return true
}
