// Package bench is the benchmark harness that compares the agentlens GoMLX engine with PyTorch
// (Hugging Face transformers) on the same model file, the same token ids and the same thread count,
// in one run. A "job" is one workload at one sequence length (forward@1024: a forward pass over 1,024
// tokens capturing every layer's resid_post); each job runs once per engine, each time in a child
// process of its own so that the peak resident memory reported for it (the child's ru_maxrss) belongs
// to that job alone.
//
// The engine side runs in a re-executed copy of the calling binary: the caller supplies
// Options.ChildCommand, which must start a process that calls ServeChild with the request file it is
// given (the agentlens CLI does this with a hidden "bench --child <file>" flag; tests use TestMain).
// The reference side runs an embedded Python script (TorchScript) with the interpreter from
// Options.Python; when torch or transformers cannot be imported the reference is reported as
// unavailable instead of failing the run.
//
// Each child loads the model (timed separately), runs the job once as a warm-up, which includes graph
// compilation, then runs it again timed. The compile estimate is the warm-up time minus the timed
// time. Tokens are a deterministic synthetic sequence (Tokens), so no tokenizer is needed.
//
// With Options.Rounds above 1 each job runs that many times on each engine, the engines taking turns
// to go first. A shared machine's speed drifts over minutes (on the 2-core AMD box the README's tables
// come from, torch's own matmul ran at 69 and at 154 GFLOP/s a quarter of an hour apart), and two runs
// close in time share most of it: the ratio shown is the median of the rounds' ratios (Row.Ratio),
// with its range, and each engine's row its median round.
//
// # Readme tables
//
// The README keeps one speed table per CPU kind (CPUKind: "amd-avx2", "intel-avx512", …) between
// "<!-- bench:begin KEY -->" and "<!-- bench:end KEY -->" markers. SpliceTables replaces one kind's
// block and leaves the others byte for byte; make bench-table runs it through the benchtable command.
//
// # Adding a job
//
// A new workload needs a Kind constant (listed in Kinds, with its Work), a case in runEngine (engine.go)
// and an entry in the JOBS table of torchref.py. The ablate kind — forwards of the sequence with each of
// AblateSegments equal segments removed in turn — is the model for episode-level workloads.
//
// The cross-turn jobs (matrix, atp, patch) run the attribution package's own functions on a synthetic
// rendering of the tokens (CrossSegments equal segments before the target), and torchref.py runs the
// same method with transformers. Both report the sum of the job's results (Measurement.Check), so the
// table shows that the two engines computed the same thing; TestCrossTurnMatchesTorch holds
// transformers' sums for a tiny model as a golden.
package bench
