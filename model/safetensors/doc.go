// Package safetensors reads and writes Hugging Face safetensors weight files: an 8-byte little-endian
// header length, a JSON header naming each tensor's dtype, shape and byte range, then the raw tensor
// data.
//
// A "tensor" here is one named entry of that header. [Open] memory-maps a single file and validates every
// entry against the file before anything is read; [OpenDir] opens a Hugging Face model directory, either
// one model.safetensors or the shards listed by model.safetensors.index.json. Values come back as fresh
// float32 slices in row-major order with [File.Float32] (F32, F16, BF16 and F64 are converted). [Write]
// writes small files atomically, as model/modeltest does for tiny random models.
package safetensors
