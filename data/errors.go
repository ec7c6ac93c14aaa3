package data

import "errors"

// Errors returned by this package; test with errors.Is.
var (
	// ErrSchemaVersion means a file's schema_version is not one this build reads.
	ErrSchemaVersion = errors.New("unsupported schema version")
	// ErrSchema means a file lacks a column the row type needs, or has it with another type.
	ErrSchema = errors.New("schema mismatch")
)
