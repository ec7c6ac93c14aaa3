package trace

import "errors"

var (
	// ErrMalformedTag is returned when an <email>, <document>, reasoning or <tool_use:…> tag is not closed, is
	// closed by the wrong tag, or is closed without being opened.
	ErrMalformedTag = errors.New("malformed tag")
	// ErrUnknownRole is returned for a message role other than system, user, assistant or tool.
	ErrUnknownRole = errors.New("unknown role")
	// ErrFormat is returned when an input is not in the format it claims to be (bad JSON, missing field).
	ErrFormat = errors.New("bad format")
	// ErrUnknownFormat is returned when Load cannot tell which recording format a file is in.
	ErrUnknownFormat = errors.New("unknown recording format")
	// ErrUnsafePath is returned for a zip entry whose name is absolute or climbs out with "..".
	ErrUnsafePath = errors.New("unsafe path in archive")
	// ErrTooLarge is returned when a file, archive entry or line exceeds its size limit.
	ErrTooLarge = errors.New("input too large")
	// ErrMissingFile is returned when a file a format requires is absent.
	ErrMissingFile = errors.New("missing file")
	// ErrNoTarget is returned when a target specification matches nothing.
	ErrNoTarget = errors.New("no target found")
	// ErrBadTarget is returned for a target specification that cannot be parsed or is contradictory.
	ErrBadTarget = errors.New("bad target specification")
	// ErrUnknownSegment is returned for a segment id that the episode does not have.
	ErrUnknownSegment = errors.New("unknown segment")
	// ErrNotRendered is returned (with ErrNoTarget) for a target in a segment the chat template did not
	// print: the target is not in the model's context.
	ErrNotRendered = errors.New("segment not rendered by the chat template")
	// ErrBadOption is returned for an option value that is not one of those allowed.
	ErrBadOption = errors.New("bad option")
	// ErrBadRule is returned for a segment rule file that cannot be read as rules: bad JSON, an unknown
	// field, a missing or unknown kind, a regexp or JSON path that does not compile.
	ErrBadRule = errors.New("bad segment rule")
	// ErrTokenizer is returned when a tokenizer's output does not cover the rendered text consistently.
	ErrTokenizer = errors.New("inconsistent tokenizer output")
)
