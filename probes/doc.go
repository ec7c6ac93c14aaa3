// Package probes trains and evaluates linear probes (logistic regression, difference of means) on activation
// matrices, for directions such as "self-preservation" across layers. It never depends on a model being
// present: its inputs are Parquet tables written by agentlens on any machine.
package probes
