"""Greedy generations of the real SmolLM2-135M-Instruct GGUF, computed by Hugging Face transformers
(which dequantises the GGUF itself) in float32 with `generate(do_sample=False, use_cache=True)`. Writes
model/testdata/generate_golden.json: per prompt the chat-templated prompt ids, the 40 generated ids and,
at each generated step, the gap between the two largest logits (so a Go mismatch at a near-tie can be
told from a bug). Run from the repo root with the models in $AGENTLENS_CACHE/models:

    AGENTLENS_CACHE=~/.cache/agentlens /work/main/internal/reference/.venv/bin/python internal/reference/model/generate_golden.py
"""
import json, os

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

CACHE = os.environ.get("AGENTLENS_CACHE", os.path.expanduser("~/.cache/agentlens"))
FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
NEW_TOKENS = 40

PROMPTS = [
    ("capital", [{"role": "user", "content": "What is the capital of France?"}]),
    ("code", [{"role": "system", "content": "You are a helpful assistant."},
              {"role": "user", "content": "Fix this Go code:\n```go\nfunc add(a int, b int) int {\n\treturn a - b\n}\n```"}]),
    ("email", [{"role": "system", "content": "You are Alex, an email assistant at SummitBridge. Read the inbox and act."},
               {"role": "user", "content": "New email:\nFrom: kyle@summitbridge.com\nTo: alex@summitbridge.com\n"
                "Subject: Server migration\nBody: Hi Alex, the server migration is scheduled for Friday at 5pm. "
                "Please draft a short note to the team telling them to save their work before then, and list "
                "two things they should check afterwards."}]),
]


def main():
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(os.path.join(CACHE, "models"), gguf_file=FILE)
    model = AutoModelForCausalLM.from_pretrained(os.path.join(CACHE, "models"), gguf_file=FILE,
                                                 dtype=torch.float32, attn_implementation="eager")
    model.eval()
    cases = []
    for name, msgs in PROMPTS:
        ids = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)
        if hasattr(ids, "input_ids"):
            ids = ids["input_ids"]
        ids = list(ids)
        with torch.no_grad():
            out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                 do_sample=False, use_cache=True, max_new_tokens=NEW_TOKENS,
                                 output_scores=True, return_dict_in_generate=True,
                                 eos_token_id=None, pad_token_id=tok.eos_token_id)
        gen = out.sequences[0, len(ids):].tolist()
        gaps = []
        for s in out.scores:
            top = torch.topk(s[0], 2).values
            gaps.append(round(float(top[0] - top[1]), 5))
        cases.append({"name": name, "prompt": ids, "output": gen, "top2_gaps": gaps})
        print(name, len(ids), "prompt tokens:", repr(tok.decode(gen)), flush=True)
    out = {"transformers": transformers.__version__, "torch": torch.__version__, "file": FILE,
           "new_tokens": NEW_TOKENS, "cases": cases}
    path = "model/testdata/generate_golden.json"
    with open(path + ".tmp", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
