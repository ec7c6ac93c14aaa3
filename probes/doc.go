// Package probes trains and evaluates linear probes on activation matrices: a probe is a direction in
// a model's activation space (at one layer and hook site) whose projection separates labeled examples,
// such as misaligned from aligned agent decisions ("self-preservation").
//
// Methods: L2 logistic regression on standardised inputs (L-BFGS, deterministic), difference of class
// means, and PCA of twin differences (LAT). Evaluation: AUROC (ties ½) and the ROC curve, recall at a false-positive
// rate set on negatives or a control set (exact on ties), accuracy, Platt calibration, bootstrap
// intervals, and k-fold cross-validation grouped so twin pairs never straddle folds.
//
// The package never depends on a model being present: its inputs are plain matrices, which package
// data reads from Parquet written by agentlens or by anything else (pyarrow, pandas).
package probes
