// Package gguf reads and writes GGUF weight files, the single-file format of llama.cpp and ollama: a
// header of typed key/value metadata, a table of tensor infos, then aligned tensor data that is often
// block-quantised (Q4_0, Q4_K, Q6_K, ...).
//
// A "tensor" here is one entry of the tensor-info table; its GGUF dims list the fastest-varying axis first
// (ne[0]), the reverse of the row-major shape that [File.Float32] returns. [Open] memory-maps a file
// (versions 2 and 3), checking every count and length against the file size before allocating; metadata
// comes back in file order ([File.Metadata]), by key ([File.Get] and the typed helpers) or as a
// map[string]any of native Go values ([File.MetadataMap]). [File.Float32] dequantises F32, F16, BF16, F64,
// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_NL and IQ4_XS tensors in parallel. [Write] writes
// small GGUF v3 files atomically, quantising with [Quantize] to F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0,
// Q5_1 (bit-exact with ggml's reference quantisers) or Q4_K, Q5_K, Q6_K, Q8_K (simpler scale choices).
package gguf
