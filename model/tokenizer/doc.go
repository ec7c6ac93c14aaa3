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
// From GGUF metadata, "gpt2" vocabularies become byte-level BPE with the split regex named by
// tokenizer.ggml.pre, and "llama" vocabularies SentencePiece-style BPE (Metaspace, byte fallback, merges
// rebuilt from the scores, or from the token order for Gemma); control tokens and the bos/eos/unk/pad
// tokens are special added tokens and user-defined tokens (<think>, Gemma's runs of newlines) plain
// added tokens, all as transformers' GGUF conversion builds them.
//
// # Errors
//
// Loading fails with ErrMalformed or ErrUnsupported, wrapped in an error that names the file and the line
// of the field at fault ("tokenizer tokenizer.json:15: model.type "WordPiece": only BPE models: ...";
// a JSON syntax error also gives the column).
//
// # Parity
//
// The tests compare ids, char offsets and decodes with goldens that internal/reference/tokenizer
// produces with Hugging Face tokenizers and transformers, for SmolLM2 and Gemma-3 (from their GGUF
// files), Llama-2 (llama.cpp's GGUF of its vocabulary), Qwen2.5, Llama-3.1 and Gemma-3 (tokenizer.json),
// on 46 hard strings and a 110 KB agent transcript.
//
// # The Rust backend
//
// Built with the hftokenizers tag and cgo, the package also has HF (FromFileHF), a tokenizer run by
// Hugging Face's Rust library through github.com/daulet/tokenizers, which the tests then use as a second
// oracle (TestHFBackendParity, BenchmarkEncodeTranscriptHF). It needs libtokenizers.a built from the
// Rust crate of that module at the version in go.mod:
//
//	sh internal/reference/tokenizer/build_libtokenizers.sh    # cargo; writes $AGENTLENS_CACHE/lib/libtokenizers.a
//	CGO_ENABLED=1 CGO_LDFLAGS=-L$AGENTLENS_CACHE/lib go test -tags hftokenizers ./model/tokenizer/
//
// Without the tag the package is pure Go and TestHFBackendParity skips.
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
