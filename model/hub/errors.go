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

// Errors of the Hugging Face cache and hub client (hf: references).
var (
	// ErrBadRef reports an hf: reference that does not parse.
	ErrBadRef = errors.New("bad hf: reference")
	// ErrNotCached reports a reference that the local Hugging Face cache cannot resolve.
	ErrNotCached = errors.New("not in the Hugging Face cache")
	// ErrOffline reports a download refused because HF_HUB_OFFLINE is set.
	ErrOffline = errors.New("offline (HF_HUB_OFFLINE is set)")
	// ErrNoModelFiles reports a repository (or a choice of file) without loadable model files.
	ErrNoModelFiles = errors.New("no model files")
	// ErrUnauthorized reports a repository the hub does not show without (other) credentials: private,
	// missing, or a bad token (HTTP 401).
	ErrUnauthorized = errors.New("repository not found or not accessible (HTTP 401)")
	// ErrGated reports a gated repository whose conditions the token's user has not accepted (HTTP 403).
	ErrGated = errors.New("gated repository (HTTP 403)")
	// ErrHubNotFound reports a revision or file the hub does not have (HTTP 404).
	ErrHubNotFound = errors.New("not found on the hub (HTTP 404)")
	// ErrChecksum reports downloaded bytes whose hash differs from the one the hub lists.
	ErrChecksum = errors.New("checksum mismatch")
)
