// Package tokenizer is a pure-Go text tokenizer that reproduces Hugging Face `tokenizers` exactly: the
// same token ids and the same offsets, where an offset is the span of the input text a token came from.
//
// A Tokenizer is built from a tokenizer.json file (FromFile, FromJSON), with the bos/eos/pad tokens, the
// chat template and add_bos_token of a sibling tokenizer_config.json, or from the tokenizer.* metadata of
// a GGUF file (FromGGUFMetadata). It implements the parts of the Hugging Face pipeline that decoder
// language models use:
//
//   - added and special tokens (such as <|im_start|>) split out of the text first, in linear time;
//   - normalizers: NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip and Sequence;
//   - pre-tokenizers: ByteLevel, Split (regular expressions with lookahead, through regexp2), Metaspace,
//     Digits, Whitespace, WhitespaceSplit and Sequence;
//   - the BPE model, both byte-level (GPT-2, SmolLM2, Qwen2, Llama-3, with ignore_merges) and
//     SentencePiece-style with byte fallback to <0xXX> tokens (Llama-2, Gemma);
//   - post-processors: TemplateProcessing, ByteLevel (offset trimming), RobertaProcessing,
//     BertProcessing and Sequence;
//   - decoders: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip and Sequence.
//
// Encode returns an Encoding with byte offsets into the input string (Offsets) and the rune offsets
// that Hugging Face reports (CharOffsets). A token that covers part of a multi-byte character (a byte
// of an emoji, say) covers the whole character, as in Hugging Face.
//
// The trace package consumes a Tokenizer through a small interface of its own, which *Tokenizer
// satisfies:
//
//	var _ interface {
//		Encode(text string, addSpecial bool) Encoding
//		Decode(ids []int, skipSpecial bool) string
//	} = (*Tokenizer)(nil)
//
// A Tokenizer is safe for concurrent use.
package tokenizer
