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
// data never imports GoMLX: probes and notebooks read these tables on machines with no model present.
package data
