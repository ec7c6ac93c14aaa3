// Package all registers every decoder family with package model: import it for its side effect.
package all

import (
	_ "github.com/agentlens/agentlens/model/gemma2"  // Gemma2ForCausalLM
	_ "github.com/agentlens/agentlens/model/gemma3"  // Gemma3ForCausalLM
	_ "github.com/agentlens/agentlens/model/llama"   // LlamaForCausalLM
	_ "github.com/agentlens/agentlens/model/mistral" // MistralForCausalLM
	_ "github.com/agentlens/agentlens/model/olmo2"   // Olmo2ForCausalLM
	_ "github.com/agentlens/agentlens/model/phi3"    // Phi3ForCausalLM
	_ "github.com/agentlens/agentlens/model/qwen2"   // Qwen2ForCausalLM
	_ "github.com/agentlens/agentlens/model/qwen3"   // Qwen3ForCausalLM
)
