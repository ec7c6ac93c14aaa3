package gguf

import "errors"

var (
	// ErrFormat is returned for a file whose header, metadata or tensor table is not valid GGUF.
	ErrFormat = errors.New("invalid gguf file")
	// ErrVersion is returned for GGUF versions other than 2 and 3 (version 1 used 32-bit counts).
	ErrVersion = errors.New("unsupported gguf version")
	// ErrUnsupportedType is returned when a tensor's GGML type cannot be dequantised or quantised.
	ErrUnsupportedType = errors.New("unsupported tensor type")
	// ErrNotFound is returned for a tensor name the file does not hold.
	ErrNotFound = errors.New("tensor not found")
	// ErrClosed is returned when a closed File is read.
	ErrClosed = errors.New("file closed")
	// ErrBadValue is returned by Write for a metadata value whose Go type has no GGUF value type, or for
	// tensor data that does not fit its shape.
	ErrBadValue = errors.New("bad value")
)
