package data

import "errors"

// Errors returned by this package; test with errors.Is.
var (
	// ErrSchemaVersion means a file's schema_version is not one this build reads.
	ErrSchemaVersion = errors.New("unsupported schema version")
	// ErrSchema means a file lacks a column the row type needs, or has it with another type.
	ErrSchema = errors.New("schema mismatch")
	// ErrManifest means a shard manifest or chunk marker cannot be read.
	ErrManifest = errors.New("bad shard manifest")
	// ErrTaskMismatch means a task directory was started or finished with other settings.
	ErrTaskMismatch = errors.New("task settings differ")
	// ErrShardCorrupt means a file of a task differs from its manifest (size or checksum).
	ErrShardCorrupt = errors.New("shard file does not match its manifest")
	// ErrTaskRunning means another process holds the task directory's lock: the same task runs twice.
	ErrTaskRunning = errors.New("the task is running in another process")
	// ErrShardsMissing means a sharded run cannot be merged yet: tasks are missing or unfinished.
	ErrShardsMissing = errors.New("shards missing")
	// ErrShardsDisagree means the tasks of a sharded run differ in settings, or overlap.
	ErrShardsDisagree = errors.New("shards disagree")
)
