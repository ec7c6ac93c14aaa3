"""Golden logits of agentlens's tiny random models, computed by Hugging Face transformers (float32, eager
attention). Writes model/testdata/tiny_logits.json.gz. Run from the repo root:

    /work/cache/venv/bin/python internal/reference/model/tiny_logits.py
"""
import gzip, json, os, subprocess, tempfile, random

import torch
import transformers
from transformers import AutoModelForCausalLM

FAMILIES = ["llama", "qwen2", "gemma3", "qwen3", "mistral", "olmo2", "gemma2", "phi3"]
LENGTHS = [37, 70]

def main():
    out = {"transformers": transformers.__version__, "torch": torch.__version__, "cases": []}
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, GOTOOLCHAIN="auto")
        subprocess.run(["go", "run", "./internal/reference/model/writetiny", d], check=True, env=env)
        for fam in FAMILIES:
            model = AutoModelForCausalLM.from_pretrained(os.path.join(d, fam), torch_dtype=torch.float32,
                                                         attn_implementation="eager")
            model.eval()
            rng = random.Random(fam)
            for n in LENGTHS:
                toks = [rng.randrange(300) for _ in range(n)]
                with torch.no_grad():
                    logits = model(torch.tensor([toks])).logits[0]
                out["cases"].append({"family": fam, "tokens": toks,
                                     "logits": [[round(float(v), 6) for v in row] for row in logits]})
    with gzip.open("model/testdata/tiny_logits.json.gz", "wt") as f:
        json.dump(out, f)

if __name__ == "__main__":
    main()
