package model

import "errors"

var (
	// ErrUnsupportedArchitecture is returned for a model whose architecture no family handles.
	ErrUnsupportedArchitecture = errors.New("unsupported architecture")
	// ErrMissingTensor is returned when a weight the architecture needs is absent.
	ErrMissingTensor = errors.New("missing tensor")
	// ErrShapeMismatch is returned when a weight's shape differs from what the config implies.
	ErrShapeMismatch = errors.New("shape mismatch")
	// ErrBadConfig is returned for a config with missing or inconsistent fields.
	ErrBadConfig = errors.New("bad config")
	// ErrBadInput is returned for run inputs that do not fit the model (token ids, positions, shapes).
	ErrBadInput = errors.New("bad input")
)
