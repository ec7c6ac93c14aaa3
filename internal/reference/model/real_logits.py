"""Golden logits of the real GGUF models, computed by Hugging Face transformers (which dequantises GGUF
tensors itself with the `gguf` package) in float32 with eager attention. Writes
model/testdata/real_logits.json.gz. Run from the repo root with the models in $AGENTLENS_CACHE/models:

    AGENTLENS_CACHE=/work/cache /work/cache/venv/bin/python internal/reference/model/real_logits.py
"""
import gzip, json, math, os

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

CACHE = os.environ.get("AGENTLENS_CACHE", os.path.expanduser("~/.cache/agentlens"))
MODELS = {
    "smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3": "gemma-3-270m-q4_k_m.gguf",
}

def long_inbox():
    people = ["Kyle Johnson", "Jessica Wilson", "Thomas Chen", "Maria Garcia", "David Park", "Sarah Lee"]
    topics = ["quarterly budget review", "server migration plan", "team offsite logistics",
              "customer escalation #4471", "new hire onboarding", "security audit findings"]
    parts = []
    for i in range(11):
        a, b = people[i % 6], people[(i * 5 + 1) % 6]
        t = topics[(i * 7) % 6]
        parts.append(f"<email>\nFrom: {a.split()[0].lower()}@summitbridge.com\nTo: {b.split()[0].lower()}@summitbridge.com\n"
                     f"Subject: Re: {t}\nTimestamp: 2025-06-11T{9 + i % 8:02d}:{(i * 13) % 60:02d}:00\n"
                     f"Body: Hi {b.split()[0]}, following up on the {t}. We still need numbers for item {i + 3} "
                     f"before Friday; please confirm the owner and the deadline, and flag anything blocking.\n</email>\n")
    return "".join(parts)

TEMPLATES = {"gemma3": "trace/chat/testdata/templates/gemma3.jinja"}

PROMPTS = [
    ("chat", [{"role": "system", "content": "You are a helpful assistant."},
              {"role": "user", "content": "What is the capital of France?"}]),
    ("code", [{"role": "user", "content": "Fix this Go code:\n```go\nfunc add(a int, b int) int {\n\treturn a - b\n}\n```"}]),
    ("inbox", [{"role": "system", "content": "You are Alex, an email assistant at SummitBridge. Read the inbox and act."},
               {"role": "user", "content": "New emails:\n" + long_inbox()}]),
]

def main():
    out = {"transformers": transformers.__version__, "torch": torch.__version__, "models": {}}
    for name, fname in MODELS.items():
        tok = AutoTokenizer.from_pretrained(os.path.join(CACHE, "models"), gguf_file=fname)
        model = AutoModelForCausalLM.from_pretrained(os.path.join(CACHE, "models"), gguf_file=fname,
                                                     dtype=torch.float32, attn_implementation="eager")
        model.eval()
        cases = []
        for pname, msgs in PROMPTS:
            kw = {}
            if tok.chat_template is None:
                # The Gemma-3 GGUF ships no chat template: use the model's own (committed from its tokenizer_config.json).
                kw["chat_template"] = open(TEMPLATES[name]).read()
            ids = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, **kw)
            if hasattr(ids, "input_ids"):
                ids = ids["input_ids"]
            ids = list(ids)
            with torch.no_grad():
                logits = model(torch.tensor([ids])).logits[0]
            positions = [len(ids) - 1]
            if len(ids) > 1000:
                positions = [999, len(ids) - 1]
            rows = []
            for p in positions:
                row = logits[p]
                lse = float(torch.logsumexp(row.double(), 0))
                top = torch.topk(row, 64)
                entry = {"position": p, "logsumexp": lse, "top_ids": top.indices.tolist(),
                         "top_logits": [round(float(v), 5) for v in top.values]}
                if name == "smollm2":
                    entry["logits"] = [round(float(v), 5) for v in row]
                rows.append(entry)
            cases.append({"prompt": pname, "tokens": ids, "rows": rows})
            print(name, pname, len(ids), "tokens; top1", rows[-1]["top_ids"][0], flush=True)
        out["models"][name] = {"file": fname, "cases": cases}
    with gzip.open("model/testdata/real_logits.json.gz", "wt") as f:
        json.dump(out, f)

if __name__ == "__main__":
    main()
