package ollama

import "errors"

var (
	// ErrBadReference is returned for a model reference that is not a valid ollama name.
	ErrBadReference = errors.New("bad ollama model reference")
	// ErrNotFound is returned when the manifest or the model blob is not in the store.
	ErrNotFound = errors.New("not found in ollama store")
	// ErrBadManifest is returned for a manifest that is not valid JSON or has no usable model layer.
	ErrBadManifest = errors.New("bad ollama manifest")
)
