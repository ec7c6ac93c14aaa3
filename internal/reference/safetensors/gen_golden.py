"""Write the safetensors reference file and golden for model/safetensors tests.

Uses the Python `safetensors` package (safetensors.torch.save_file) as the independent writer and
torch as the independent dtype converter. Run from the repo root:

    /work/cache/venv/bin/python internal/reference/safetensors/gen_golden.py

Outputs (committed):
    model/safetensors/testdata/mixed.safetensors  tensors of dtypes F32, F16, BF16, F64, I64, U8
    model/safetensors/testdata/mixed.golden.json  per tensor: dtype, shape, values as float32 (the
                                                 float-convertible dtypes only), listed in header order
"""
import json
import os

import torch
from safetensors.torch import save_file

OUT = "model/safetensors/testdata"

g = torch.Generator().manual_seed(1234)
tensors = {
    "model.embed_tokens.weight": torch.randn(5, 4, generator=g).to(torch.bfloat16),
    "model.layers.0.self_attn.q_proj.weight": torch.randn(4, 4, generator=g).to(torch.float16),
    "model.layers.0.mlp.down_proj.weight": torch.randn(3, 2, 2, generator=g),
    "model.norm.weight": torch.randn(4, generator=g, dtype=torch.float64),
    "position_ids": torch.arange(6, dtype=torch.int64).reshape(2, 3),
    "mask": torch.tensor([1, 0, 1], dtype=torch.uint8),
    "scalar": torch.tensor(0.25, dtype=torch.float32),
}
# Special values: subnormal, inf, -0, largest half.
tensors["special.f16"] = torch.tensor([65504.0, -0.0, 5.96e-8, float("inf"), 1e-5], dtype=torch.float16)
tensors["special.bf16"] = torch.tensor([3.0e38, -1e-38, float("-inf"), 1.0 / 3.0], dtype=torch.bfloat16)

os.makedirs(OUT, exist_ok=True)
save_file(tensors, os.path.join(OUT, "mixed.safetensors"), metadata={"format": "pt", "source": "gen_golden.py"})

golden = {"metadata": {"format": "pt", "source": "gen_golden.py"}, "tensors": {}}
for name, t in tensors.items():
    entry = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape)}
    if t.is_floating_point():
        vals = t.to(torch.float32).reshape(-1).tolist()
        entry["values"] = [v if v not in (float("inf"), float("-inf")) else ("inf" if v > 0 else "-inf") for v in vals]
    golden["tensors"][name] = entry
with open(os.path.join(OUT, "mixed.golden.json"), "w") as f:
    json.dump(golden, f, indent=1, sort_keys=True)
    f.write("\n")
print("wrote", OUT)
