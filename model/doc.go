// Package model loads open-weight decoder language models (Hugging Face safetensors directories, GGUF files
// and the ollama model store) and runs them in GoMLX with TransformerLens-named hook points, so that
// activations can be captured, patched and ablated and gradients of a target metric taken.
//
// A "model" here is a decoder-only transformer family (Llama, Qwen2, Gemma-3) plus its weights; the
// families live in subpackages that register themselves by their Hugging Face architecture name.
package model
