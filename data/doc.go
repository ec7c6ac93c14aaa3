// Package data defines the Parquet tables agentlens writes and reads (one Go struct per table, with a
// schema_version column) and the labeled transcript datasets used to train probes.
package data
