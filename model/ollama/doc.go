// Package ollama finds model weights in a local ollama model store, so that agentlens can load a model
// that `ollama pull` fetched without copying it.
//
// A "reference" here is an ollama model name, [host/][namespace/]model[:tag], optionally written with an
// "ollama:" prefix ("ollama:qwen2.5:0.5b", "library/llama3.2", "registry.ollama.ai/library/gemma3:270m");
// the host defaults to registry.ollama.ai, the namespace to library and the tag to latest. [Resolve] reads
// the reference's manifest from <store>/manifests/<host>/<namespace>/<model>/<tag> and returns the path of
// its model layer, a GGUF blob under <store>/blobs. [DefaultStore] locates the store the way ollama does.
package ollama
