package safetensors

import "errors"

var (
	// ErrFormat is returned for a file whose header or layout is not valid safetensors.
	ErrFormat = errors.New("invalid safetensors file")
	// ErrUnknownDType is returned for a tensor whose dtype is not one of the safetensors dtypes.
	ErrUnknownDType = errors.New("unknown dtype")
	// ErrUnsupportedDType is returned when a tensor's dtype cannot be converted to float32.
	ErrUnsupportedDType = errors.New("unsupported dtype")
	// ErrNotFound is returned for a tensor name that the file or directory does not hold.
	ErrNotFound = errors.New("tensor not found")
	// ErrClosed is returned when a closed File or Set is read.
	ErrClosed = errors.New("file closed")
)
