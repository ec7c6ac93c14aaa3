// Package modeltest writes tiny random-weight decoders of every supported family as real Hugging Face
// model directories (config.json, model.safetensors, tokenizer.json), for fast tests everywhere, like
// net/http/httptest does for servers. Weights are deterministic functions of the family and seed, so
// golden outputs computed once by Hugging Face transformers stay valid.
package modeltest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/agentlens/agentlens/model/safetensors"
)

// Families lists the tiny model kinds Write accepts.
var Families = []string{"llama", "qwen2", "gemma3", "qwen3", "mistral", "olmo2", "gemma2", "phi3"}

// Sizes of every tiny model.
const (
	DModel   = 64
	NHeads   = 4
	NKVHeads = 2
	DHead    = 16 // all but Qwen3
	DMLP     = 96
	NLayers  = 2
	DVocab   = 300
	// Qwen3DHead is the tiny Qwen3's head_dim, which differs from d_model/n_heads as it may in Qwen3.
	Qwen3DHead = 32
	// Window is the sliding window of the tiny Mistral (every layer) and Qwen3 (layer 1), shorter than the
	// golden sequences so they exercise it.
	Window = 16
)

// Config returns the config.json content of a tiny model.
func Config(family string) (map[string]any, error) {
	base := map[string]any{
		"hidden_size":             DModel,
		"intermediate_size":       DMLP,
		"num_attention_heads":     NHeads,
		"num_key_value_heads":     NKVHeads,
		"num_hidden_layers":       NLayers,
		"vocab_size":              DVocab,
		"rms_norm_eps":            1e-6,
		"max_position_embeddings": 4096,
		"bos_token_id":            256,
		"eos_token_id":            257,
		"torch_dtype":             "float32",
	}
	switch family {
	case "llama":
		base["architectures"] = []string{"LlamaForCausalLM"}
		base["model_type"] = "llama"
		base["rope_theta"] = 10000.0
		base["tie_word_embeddings"] = true
		base["hidden_act"] = "silu"
	case "qwen2":
		base["architectures"] = []string{"Qwen2ForCausalLM"}
		base["model_type"] = "qwen2"
		base["rope_theta"] = 1000000.0
		base["tie_word_embeddings"] = false
		base["hidden_act"] = "silu"
		base["use_sliding_window"] = false
	case "gemma3":
		base["architectures"] = []string{"Gemma3ForCausalLM"}
		base["model_type"] = "gemma3_text"
		base["head_dim"] = DHead
		base["query_pre_attn_scalar"] = DHead
		base["rope_theta"] = 1000000.0
		base["rope_local_base_freq"] = 10000.0
		base["sliding_window"] = 4
		base["layer_types"] = []string{"sliding_attention", "full_attention"}
		base["hidden_activation"] = "gelu_pytorch_tanh"
		base["tie_word_embeddings"] = true
		base["final_logit_softcapping"] = nil
		base["attn_logit_softcapping"] = nil
		base["pad_token_id"] = 0
	case "qwen3":
		base["architectures"] = []string{"Qwen3ForCausalLM"}
		base["model_type"] = "qwen3"
		base["head_dim"] = Qwen3DHead
		base["rope_theta"] = 1000000.0
		base["tie_word_embeddings"] = false
		base["hidden_act"] = "silu"
		base["attention_bias"] = false
		base["use_sliding_window"] = true
		base["sliding_window"] = Window
		base["max_window_layers"] = 1
	case "mistral":
		base["architectures"] = []string{"MistralForCausalLM"}
		base["model_type"] = "mistral"
		base["rope_theta"] = 10000.0
		base["tie_word_embeddings"] = false
		base["hidden_act"] = "silu"
		base["sliding_window"] = Window
	case "olmo2":
		base["architectures"] = []string{"Olmo2ForCausalLM"}
		base["model_type"] = "olmo2"
		base["rope_theta"] = 500000.0
		base["tie_word_embeddings"] = false
		base["hidden_act"] = "silu"
		base["attention_bias"] = false
	case "gemma2":
		// The window (layer 0 slides) is shorter than the parity goldens' sequences, and the soft caps
		// bite without saturating: uncapped, the tiny model's scaled attention scores reach about ±7
		// and its logits −18..40 (|logit| median 2.8, 90th percentile 6.8), measured with transformers.
		base["architectures"] = []string{"Gemma2ForCausalLM"}
		base["model_type"] = "gemma2"
		base["query_pre_attn_scalar"] = DHead
		base["rope_theta"] = 10000.0
		base["sliding_window"] = 16
		base["layer_types"] = []string{"sliding_attention", "full_attention"}
		base["hidden_activation"] = "gelu_pytorch_tanh"
		base["tie_word_embeddings"] = true
		base["attn_logit_softcapping"] = 4.5
		base["final_logit_softcapping"] = 8.5
		base["pad_token_id"] = 0
	case "phi3":
		// Every layer slides, with a window shorter than the parity goldens' sequences.
		base["architectures"] = []string{"Phi3ForCausalLM"}
		base["model_type"] = "phi3"
		base["rope_theta"] = 10000.0
		base["rope_scaling"] = nil
		base["sliding_window"] = 16
		base["original_max_position_embeddings"] = 4096
		base["tie_word_embeddings"] = false
		base["hidden_act"] = "silu"
		base["pad_token_id"] = 0
	default:
		return nil, fmt.Errorf("modeltest: unknown family %q (have %v)", family, Families)
	}
	if _, ok := base["head_dim"]; !ok && family != "gemma3" {
		base["head_dim"] = DHead
	}
	return base, nil
}

// Tensors returns the tiny model's weights with Hugging Face names (Phi-3's fused qkv_proj and
// gate_up_proj as its checkpoints store them). Values are N(0, 0.02²)-ish for
// projections, and 1 ± 0.1 for norms (Gemma: ±0.1 around 0, as it scales by 1 + w), from a PCG seeded by
// seed. OLMo-2 has no input_layernorm and normalises q and k over the whole projection.
func Tensors(family string, seed uint64) ([]safetensors.Tensor, error) {
	cfg, err := Config(family)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, uint64(len(family))))
	var out []safetensors.Tensor
	add := func(name string, scale float32, center float32, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = center + scale*float32(r.NormFloat64())
		}
		out = append(out, safetensors.Tensor{Name: name, DType: "F32", Shape: shape, Data: data})
	}
	normCenter := float32(1)
	if family == "gemma3" || family == "gemma2" {
		normCenter = 0
	}
	dh := DHead
	if family == "qwen3" {
		dh = Qwen3DHead
	}
	add("model.embed_tokens.weight", 0.5, 0, DVocab, DModel)
	for l := 0; l < NLayers; l++ {
		p := "model.layers." + strconv.Itoa(l) + "."
		if family != "olmo2" {
			add(p+"input_layernorm.weight", 0.1, normCenter, DModel)
		}
		if family == "phi3" { // fused [q; k; v]
			add(p+"self_attn.qkv_proj.weight", 0.15, 0, (NHeads+2*NKVHeads)*dh, DModel)
		} else {
			add(p+"self_attn.q_proj.weight", 0.15, 0, NHeads*dh, DModel)
			add(p+"self_attn.k_proj.weight", 0.15, 0, NKVHeads*dh, DModel)
			add(p+"self_attn.v_proj.weight", 0.15, 0, NKVHeads*dh, DModel)
		}
		add(p+"self_attn.o_proj.weight", 0.15, 0, DModel, NHeads*dh)
		switch family {
		case "qwen2":
			add(p+"self_attn.q_proj.bias", 0.1, 0, NHeads*DHead)
			add(p+"self_attn.k_proj.bias", 0.1, 0, NKVHeads*DHead)
			add(p+"self_attn.v_proj.bias", 0.1, 0, NKVHeads*DHead)
		case "gemma3":
			add(p+"self_attn.q_norm.weight", 0.1, normCenter, DHead)
			add(p+"self_attn.k_norm.weight", 0.1, normCenter, DHead)
			add(p+"pre_feedforward_layernorm.weight", 0.1, normCenter, DModel)
			add(p+"post_feedforward_layernorm.weight", 0.1, normCenter, DModel)
		case "qwen3":
			add(p+"self_attn.q_norm.weight", 0.1, normCenter, dh)
			add(p+"self_attn.k_norm.weight", 0.1, normCenter, dh)
		case "olmo2":
			add(p+"self_attn.q_norm.weight", 0.1, normCenter, NHeads*dh)
			add(p+"self_attn.k_norm.weight", 0.1, normCenter, NKVHeads*dh)
			add(p+"post_feedforward_layernorm.weight", 0.1, normCenter, DModel)
		case "gemma2":
			add(p+"pre_feedforward_layernorm.weight", 0.1, normCenter, DModel)
			add(p+"post_feedforward_layernorm.weight", 0.1, normCenter, DModel)
		}
		add(p+"post_attention_layernorm.weight", 0.1, normCenter, DModel)
		if family == "phi3" { // fused [gate; up]
			add(p+"mlp.gate_up_proj.weight", 0.15, 0, 2*DMLP, DModel)
		} else {
			add(p+"mlp.gate_proj.weight", 0.15, 0, DMLP, DModel)
			add(p+"mlp.up_proj.weight", 0.15, 0, DMLP, DModel)
		}
		add(p+"mlp.down_proj.weight", 0.15, 0, DModel, DMLP)
	}
	add("model.norm.weight", 0.1, normCenter, DModel)
	if tied, _ := cfg["tie_word_embeddings"].(bool); !tied {
		add("lm_head.weight", 0.2, 0, DVocab, DModel)
	}
	return out, nil
}

// Write writes a tiny model of the family into dir (created if needed) and returns dir.
func Write(dir, family string, seed uint64) (string, error) {
	cfg, err := Config(family)
	if err != nil {
		return "", err
	}
	ts, err := Tensors(family, seed)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), cfg); err != nil {
		return "", err
	}
	if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		return "", err
	}
	if err := writeJSON(filepath.Join(dir, "tokenizer.json"), TokenizerJSON()); err != nil {
		return "", err
	}
	if err := writeJSON(filepath.Join(dir, "tokenizer_config.json"), map[string]any{
		"bos_token":       "<|im_start|>",
		"eos_token":       "<|im_end|>",
		"chat_template":   ChatMLTemplate,
		"tokenizer_class": "PreTrainedTokenizerFast",
	}); err != nil {
		return "", err
	}
	return dir, nil
}

// ChatMLTemplate is the ChatML chat template the tiny models ship.
const ChatMLTemplate = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

// TokenizerJSON returns a byte-level BPE tokenizer.json: the 256 GPT-2 byte symbols (ids 0-255), a few
// merges ("t"+"h", "th"+"e", "Ġ"+"t", "i"+"n"), and the specials <|im_start|> (256) and <|im_end|> (257).
func TokenizerJSON() map[string]any {
	vocab := map[string]int{}
	for b, r := range byteRunes() {
		vocab[string(r)] = b
	}
	merges := [][2]string{{"t", "h"}, {"th", "e"}, {"Ġ", "t"}, {"i", "n"}}
	next := 258
	var mergeList []string
	for _, m := range merges {
		vocab[m[0]+m[1]] = next
		next++
		mergeList = append(mergeList, m[0]+" "+m[1])
	}
	return map[string]any{
		"version":    "1.0",
		"truncation": nil,
		"padding":    nil,
		"added_tokens": []map[string]any{
			{"id": 256, "content": "<|im_start|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
			{"id": 257, "content": "<|im_end|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
		},
		"normalizer":     nil,
		"pre_tokenizer":  map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
		"post_processor": nil,
		"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
		"model": map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
			"vocab": vocab, "merges": mergeList,
		},
	}
}

// byteRunes is GPT-2's reversible byte → printable rune map.
func byteRunes() [256]rune {
	var out [256]rune
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			out[b] = rune(b)
		} else {
			out[b] = rune(256 + n)
			n++
		}
	}
	return out
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
