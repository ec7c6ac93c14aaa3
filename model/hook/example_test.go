package hook_test

import (
	"fmt"

	"github.com/agentlens/agentlens/model/hook"
)

func ExampleParse() {
	n, _ := hook.Parse("model.layers.3.mlp")
	fmt.Println(n, hook.ResidPostAt(3), hook.PatternAt(0))
	// Output: blocks.3.hook_mlp_out blocks.3.hook_resid_post blocks.0.attn.hook_pattern
}
