package tokenizer

import (
	"container/heap"
	"fmt"
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

	mu    sync.RWMutex
	cache map[string][]token
}

const cacheMax = 50000

func pairKey(a, b int) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

func (m *bpe) initBytes() {
	for b := 0; b < 256; b++ {
		id, ok := m.vocab[fmt.Sprintf("<0x%02X>", b)]
		if !ok {
			id = -1
		}
		m.byteTok[b] = id
	}
}

// symbol is a node of the word being merged.
type symbol struct {
	id         int
	a, b       int // byte range in the piece
	prev, next int
}

type cand struct {
	rank, pos int
	id        int
}

type candHeap []cand

func (h candHeap) Len() int { return len(h) }
func (h candHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h candHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)   { *h = append(*h, x.(cand)) }
func (h *candHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// tokenize runs BPE on one pre-tokenized piece.
func (m *bpe) tokenize(s string) []token {
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
		syms = append(syms, symbol{id: id, a: a, b: b, prev: len(syms) - 1, next: len(syms) + 1})
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
				syms[len(syms)-1].b = i + sz
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
	syms[len(syms)-1].next = -1
	// Relink, as unknown characters without an unk token were dropped.
	for i := range syms {
		syms[i].prev = i - 1
		syms[i].next = i + 1
	}
	syms[len(syms)-1].next = -1

	h := make(candHeap, 0, len(syms))
	for i := 0; i+1 < len(syms); i++ {
		if mv, ok := m.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			h = append(h, cand{int(mv.rank), i, int(mv.id)})
		}
	}
	heap.Init(&h)
	for h.Len() > 0 {
		c := heap.Pop(&h).(cand)
		l := &syms[c.pos]
		if l.b == l.a || l.next < 0 {
			continue
		}
		r := &syms[l.next]
		mv, ok := m.merges[pairKey(l.id, r.id)]
		if !ok || int(mv.id) != c.id {
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
				heap.Push(&h, cand{int(mv.rank), l.prev, int(mv.id)})
			}
		}
		if l.next >= 0 {
			if mv, ok := m.merges[pairKey(l.id, syms[l.next].id)]; ok {
				heap.Push(&h, cand{int(mv.rank), c.pos, int(mv.id)})
			}
		}
	}
	out := make([]token, 0, len(syms))
	for i := 0; i >= 0; i = syms[i].next {
		out = append(out, token{syms[i].id, syms[i].a, syms[i].b})
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
