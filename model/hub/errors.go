package hub

import "errors"

// Sentinel errors returned (wrapped, with context naming the project, wheel or file) by Fetch and its
// helpers. Test them with errors.Is.
var (
	// ErrInvalidSpec reports a Spec that cannot be fetched: no parts, an output path that is not a
	// local slash-separated path, or a member name that is not a clean relative path.
	ErrInvalidSpec = errors.New("invalid spec")
	// ErrUnknownSpec reports a name that Lookup does not know.
	ErrUnknownSpec = errors.New("unknown model spec")
	// ErrNotFound reports a project, version or file that the index does not have.
	ErrNotFound = errors.New("not found on index")
	// ErrNoWheel reports a release without a wheel for this platform.
	ErrNoWheel = errors.New("no matching wheel")
	// ErrDigestMismatch reports downloaded or extracted bytes whose sha256 differs from the one
	// published by the index, listed in the wheel's RECORD, or pinned in the Spec.
	ErrDigestMismatch = errors.New("sha256 mismatch")
	// ErrSizeMismatch reports a download, member or output whose size differs from the expected one.
	ErrSizeMismatch = errors.New("size mismatch")
	// ErrTruncated reports a download that ended before all its bytes arrived.
	ErrTruncated = errors.New("truncated download")
	// ErrMissingMember reports a wheel that lacks the member a Spec names.
	ErrMissingMember = errors.New("member not in wheel")
	// ErrUnsafeEntry reports a wheel entry whose name is absolute, contains "..", or is otherwise not
	// a clean relative path (a "zip slip" attempt); the whole wheel is rejected.
	ErrUnsafeEntry = errors.New("unsafe zip entry")
	// ErrTooLarge reports a download or member larger than Options.MaxBytes.
	ErrTooLarge = errors.New("file too large")
)
