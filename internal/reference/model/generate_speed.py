"""Decoding speed of Hugging Face transformers' generate (KV cache, float32, sdpa) on the real
SmolLM2-135M-Instruct GGUF, for comparison with model.BenchmarkGenerate in the same session: the same
1,024 synthetic prompt tokens ((i*7919 + 13) mod vocab), 1 greedy sample and 8 sampled ones
(temperature 0.8, top-p 0.95, num_return_sequences=8), 64 new tokens each, never stopping early.
Decoding tokens/s = 64·n / (t(65 new tokens) − t(1 new token)): the prompt and the first token cancel.
Usage (thread count as the Go run's GOMAXPROCS):

    AGENTLENS_CACHE=~/.cache/agentlens /work/main/internal/reference/.venv/bin/python \
        internal/reference/model/generate_speed.py [threads]
"""
import os, sys, time

threads = int(sys.argv[1]) if len(sys.argv) > 1 else os.cpu_count()
for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[k] = str(threads)

import torch
import transformers
from transformers import AutoModelForCausalLM

torch.set_num_threads(threads)
CACHE = os.environ.get("AGENTLENS_CACHE", os.path.expanduser("~/.cache/agentlens"))
FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
NEW = 64


def main():
    model = AutoModelForCausalLM.from_pretrained(os.path.join(CACHE, "models"), gguf_file=FILE,
                                                 dtype=torch.float32, attn_implementation="sdpa")
    model.eval()
    V = model.config.vocab_size
    ids = torch.tensor([[(i * 7919 + 13) % V for i in range(1024)]])
    mask = torch.ones_like(ids)

    def gen(n, new):
        kw = dict(attention_mask=mask, max_new_tokens=new, min_new_tokens=new, use_cache=True, pad_token_id=0)
        if n > 1:
            kw.update(do_sample=True, temperature=0.8, top_p=0.95, top_k=0, num_return_sequences=n)
        else:
            kw.update(do_sample=False)
        torch.manual_seed(1)
        t0 = time.perf_counter()
        with torch.no_grad():
            out = model.generate(ids, **kw)
        assert out.shape == (n, ids.shape[1] + new)
        return time.perf_counter() - t0

    print("torch %s, transformers %s, %d threads" % (torch.__version__, transformers.__version__, torch.get_num_threads()))
    gen(1, 2)  # warm-up
    for n in (1, 8):
        t1 = gen(n, 1)
        t65 = gen(n, NEW + 1)
        print("samples=%d: prompt+1 token %.2f s, +%d tokens %.2f s: decoding %.2f tokens/s; %d tokens in %.2f s total"
              % (n, t1, NEW, t65 - t1, NEW * n / (t65 - t1), NEW * n, t65), flush=True)


if __name__ == "__main__":
    main()
