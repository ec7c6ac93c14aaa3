package organism

import (
	"github.com/agentlens/agentlens/model/modeltest"
)

// Special and added tokens of the organism's tokenizer, after the 256 byte symbols and the words.
var addedTokens = []struct {
	content string
	special bool
}{
	{"<|im_start|>", true}, {"<|im_end|>", true},
	{"<email>", false}, {"</email>", false}, {"<thinking>", false}, {"</thinking>", false},
}

// TokenizerJSON returns the organism's tokenizer.json: a byte-level BPE with ignore_merges whose vocabulary
// holds the 256 GPT-2 byte symbols (ids 0–255, so any text encodes), every word of Words with and
// without a leading space (Ġ) as one token, and the ChatML specials and the email and thinking tags as
// added tokens. With ignore_merges a pre-token found whole in the vocabulary is one token, so no merges
// are needed.
func TokenizerJSON() map[string]any {
	byteLevel := modeltest.TokenizerJSON()["model"].(map[string]any)["vocab"].(map[string]int)
	vocab := map[string]int{}
	for s, id := range byteLevel {
		if id < 256 {
			vocab[s] = id
		}
	}
	next := 256
	for _, w := range Words() {
		for _, s := range []string{w, "Ġ" + w} {
			if _, ok := vocab[s]; !ok {
				vocab[s] = next
				next++
			}
		}
	}
	var added []map[string]any
	for _, a := range addedTokens {
		vocab[a.content] = next
		added = append(added, map[string]any{"id": next, "content": a.content, "single_word": false, "lstrip": false,
			"rstrip": false, "normalized": false, "special": a.special})
		next++
	}
	return map[string]any{
		"version":        "1.0",
		"truncation":     nil,
		"padding":        nil,
		"added_tokens":   added,
		"normalizer":     nil,
		"pre_tokenizer":  map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
		"post_processor": nil,
		"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
		"model": map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": false, "byte_fallback": false, "ignore_merges": true,
			"vocab": vocab, "merges": []string{},
		},
	}
}

// VocabSize is the number of ids TokenizerJSON assigns.
func VocabSize() int {
	return len(TokenizerJSON()["model"].(map[string]any)["vocab"].(map[string]int))
}

// TokenizerConfig returns the tokenizer_config.json content: ChatML template and specials.
func TokenizerConfig() map[string]any {
	return map[string]any{
		"bos_token":       "<|im_start|>",
		"eos_token":       "<|im_end|>",
		"chat_template":   modeltest.ChatMLTemplate,
		"tokenizer_class": "PreTrainedTokenizerFast",
	}
}
