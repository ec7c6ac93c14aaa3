package modeltest

import (
	"sort"
	"strconv"
	"strings"

	"github.com/agentlens/agentlens/model/gguf"
)

// WriteGGUF writes the tiny llama model as a GGUF file the way llama.cpp's converter does: llama.*
// metadata, a gpt2 tokenizer in tokenizer.ggml.*, GGUF tensor names, and Q/K rows permuted for
// llama.cpp's interleaved RoPE. With quant set, the projection matrices are stored in that type
// (embeddings and norms stay F32); with gguf.TypeF32 the file holds exactly the safetensors values.
func WriteGGUF(path string, seed uint64, quant gguf.GGMLType) error {
	ts, err := Tensors("llama", seed)
	if err != nil {
		return err
	}
	tok := TokenizerJSON()
	m := tok["model"].(map[string]any)
	vocab := m["vocab"].(map[string]int)
	tokens := make([]string, DVocab)
	types := make([]int32, DVocab)
	for i := range tokens {
		tokens[i] = "<unused" + strconv.Itoa(i) + ">"
		types[i] = 5 // unused
	}
	for s, id := range vocab {
		tokens[id], types[id] = s, 1
	}
	tokens[256], types[256] = "<|im_start|>", 3
	tokens[257], types[257] = "<|im_end|>", 3
	kvs := []gguf.KV{
		{Key: "general.architecture", Value: "llama"},
		{Key: "general.name", Value: "agentlens tiny llama"},
		{Key: "llama.context_length", Value: uint32(4096)},
		{Key: "llama.embedding_length", Value: uint32(DModel)},
		{Key: "llama.feed_forward_length", Value: uint32(DMLP)},
		{Key: "llama.block_count", Value: uint32(NLayers)},
		{Key: "llama.attention.head_count", Value: uint32(NHeads)},
		{Key: "llama.attention.head_count_kv", Value: uint32(NKVHeads)},
		{Key: "llama.attention.layer_norm_rms_epsilon", Value: float32(1e-6)},
		{Key: "llama.rope.freq_base", Value: float32(10000)},
		{Key: "llama.vocab_size", Value: uint32(DVocab)},
		{Key: "tokenizer.ggml.model", Value: "gpt2"},
		{Key: "tokenizer.ggml.pre", Value: "smollm"},
		{Key: "tokenizer.ggml.tokens", Value: tokens},
		{Key: "tokenizer.ggml.token_type", Value: types},
		{Key: "tokenizer.ggml.merges", Value: m["merges"].([]string)},
		{Key: "tokenizer.ggml.bos_token_id", Value: uint32(256)},
		{Key: "tokenizer.ggml.eos_token_id", Value: uint32(257)},
		{Key: "tokenizer.chat_template", Value: ChatMLTemplate},
	}
	var out []gguf.WriteTensor
	for _, t := range ts {
		name, heads := ggufName(t.Name)
		data := t.Data
		if heads > 0 {
			data = permuteQK(data, t.Shape, heads)
		}
		typ := gguf.TypeF32
		if len(t.Shape) == 2 && name != "token_embd.weight" {
			typ = quant
		}
		out = append(out, gguf.WriteTensor{Name: name, Type: typ, Shape: t.Shape, Data: data})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return gguf.Write(path, kvs, out)
}

// ggufName maps a Hugging Face llama tensor name to llama.cpp's, and says how many heads its rows are
// permuted over (0: not permuted).
func ggufName(hf string) (string, int) {
	switch hf {
	case "model.embed_tokens.weight":
		return "token_embd.weight", 0
	case "model.norm.weight":
		return "output_norm.weight", 0
	case "lm_head.weight":
		return "output.weight", 0
	}
	rest := strings.TrimPrefix(hf, "model.layers.")
	layer, suffix, _ := strings.Cut(rest, ".")
	table := map[string]string{
		"input_layernorm.weight":          "attn_norm.weight",
		"self_attn.q_proj.weight":         "attn_q.weight",
		"self_attn.k_proj.weight":         "attn_k.weight",
		"self_attn.v_proj.weight":         "attn_v.weight",
		"self_attn.o_proj.weight":         "attn_output.weight",
		"post_attention_layernorm.weight": "ffn_norm.weight",
		"mlp.gate_proj.weight":            "ffn_gate.weight",
		"mlp.up_proj.weight":              "ffn_up.weight",
		"mlp.down_proj.weight":            "ffn_down.weight",
	}
	heads := 0
	switch suffix {
	case "self_attn.q_proj.weight":
		heads = NHeads
	case "self_attn.k_proj.weight":
		heads = NKVHeads
	}
	return "blk." + layer + "." + table[suffix], heads
}

// permuteQK applies llama.cpp's permutation: rows [heads, 2, half] → [heads, half, 2].
func permuteQK(data []float32, shape []int, heads int) []float32 {
	rows, cols := shape[0], shape[1]
	half := rows / heads / 2
	out := make([]float32, len(data))
	for h := 0; h < heads; h++ {
		for j := 0; j < 2; j++ {
			for i := 0; i < half; i++ {
				src := (h*2+j)*half + i
				dst := (h*half+i)*2 + j
				copy(out[dst*cols:(dst+1)*cols], data[src*cols:(src+1)*cols])
			}
		}
	}
	return out
}
