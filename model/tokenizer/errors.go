package tokenizer

import "errors"

var (
	// ErrMalformed reports a tokenizer.json, tokenizer_config.json or GGUF metadata that cannot be read:
	// bad JSON, a missing field, or a field of the wrong type.
	ErrMalformed = errors.New("malformed tokenizer")
	// ErrUnsupported reports a component (model, normalizer, pre-tokenizer, post-processor or decoder
	// type) that this package does not implement.
	ErrUnsupported = errors.New("unsupported tokenizer component")
)
