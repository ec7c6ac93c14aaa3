// Package data defines the Parquet tables agentlens writes and reads, one Go struct per table with a
// schema_version column, and their readers and writers.
//
// A "table" here is one Parquet file of one row type from schema.go (token attributions, segment
// attributions, episode labels). Files are plain Parquet (snappy, no nested columns
// except where a field says so), so pandas, pyarrow and DuckDB open them without glue:
//
//	import pandas as pd
//	seg = pd.read_parquet("out/segments.parquet")
//
// Writers never leave a half-written file: they write to a temporary file beside the target and rename
// it into place. Readers check the schema_version column and stream rows as an iter.Seq2.
//
// The package also generates the labeled self-preservation dataset (Generate, command
// "agentlens data generate"): templated agent episodes in nine scenario families, each misaligned
// episode paired with an aligned twin that is byte-identical up to the assistant's decision, with
// held-out families and styles, benign controls, and a labels.parquet index (EpisodeLabel). Its
// output is a function of GeneratorVersion and the seed alone. See data/README.md, the dataset card.
//
// # Rollouts and propensity
//
// The dataset's endings are written by us; how often a model would choose the harmful one is measured
// by rolling it out from a Condition: the conversation up to the decision. Conditions builds them from
// the generator (each family × goal type × urgency × framing cell, the twins' shared context byte for
// byte) and from the bundled agentic-misalignment episodes truncated before their decision. Classify
// judges a rolled-out episode with a rule per family that reads only the turns after the prompt and
// keys on the action (tool, recipient, file, alert code, answers), giving a Verdict; a Judge can use a
// model instead (JudgePrompt, ParseJudgeAnswer, JudgeVerdict). RolloutRow (rollouts.parquet) records
// one rollout with its sampling settings and verdict; Propensity aggregates them per condition, family
// or grid cell into PropensityRow (propensity.parquet) with Wilson 95 % intervals; RolloutEpisode
// (rollout_episodes.parquet) keeps each rolled-out episode whole, as its native JSON line. See
// data/README.md.
//
// # Sharded runs
//
// A per-episode command run with --shard i/n is task i of n (ShardSpec): it owns the episodes whose
// shard key hashes to i (ShardOf: FNV-1a 64, mod n; the key is the episode id, or a label such as
// the twin-pair id so that twins share a task and their prefix) and writes into
// <out>/shard-IIIII-of-NNNNN/
// (Task):
//
//	task.json            the settings the task was started with (a rerun with others is refused)
//	task.lock            flock-ed by the process running the task (a second one is refused)
//	<table>-NNNNN.parquet  chunk NNNNN of each table (activations, tokens, segments, matrix, ...)
//	chunk-NNNNN.json     the chunk's marker, written after its tables: its episodes, files, rows,
//	                     sha256, host and backend; tables without a marker are removed on rerun
//	manifest.json        written last (ShardManifest, JSON): format "agentlens-shard/1", command,
//	                     shard, shards, model and model_hash, flags (every flag that changes rows),
//	                     inputs (path, bytes, sha256), input_episodes and input_ids_sha256 (of all
//	                     tasks), episodes (id and index in the inputs), files (name, table, type,
//	                     rows, bytes, sha256), runs (host, backend, first and last chunk, chunks,
//	                     episodes), failed (episodes skipped for an error with --skip-errors:
//	                     id, error), finished
//
// Merge checks the n manifests (all present, same command, model hash, flags and inputs, every
// episode in exactly one task, every file its checksum) and writes <table>.parquet per table, rows in
// the inputs' episode order (what one process writes), and a manifest.json with merged_from = n.
//
// data never imports GoMLX: probes and notebooks read these tables on machines with no model present.
package data
