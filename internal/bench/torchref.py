"""PyTorch reference for `agentlens bench` (embedded in the agentlens binary by internal/bench).

Runs one benchmark job with Hugging Face transformers on the same model file and token ids as the
agentlens engine, and writes a JSON measurement. Usage:

    python torchref.py request.json

request.json (written by internal/bench): {"model": GGUF file or HF dir, "job": {"kind": ..., "tokens": N},
"segments": 20, "tokens_file": path of {"tokens": [...]}, "threads": n, "warmup": bool,
"attn": "sdpa"|"eager", "result": path}. The result holds load_s, warmup_s, compile_s, seconds, cpu_s,
peak_rss (bytes, from getrusage) and, on failure, error. Independent of agentlens code on purpose.
"""
import copy
import json
import os
import resource
import sys
import time


def forward(torch, model, ids, segments, warmup):
    """Forward pass keeping every layer's hidden state (resid_post), logits at the last position."""
    with torch.no_grad():
        out = model(input_ids=ids, output_hidden_states=True, logits_to_keep=1, use_cache=False)
    assert len(out.hidden_states) == model.config.num_hidden_layers + 1


def gradient(torch, model, ids, segments, warmup):
    """d log p(last token | prefix) / d input embeddings (hook_embed)."""
    emb = model.get_input_embeddings()(ids).detach().requires_grad_(True)
    hidden = model.base_model(inputs_embeds=emb, use_cache=False).last_hidden_state
    logits = model.lm_head(hidden[:, -2])
    lp = torch.log_softmax(logits.float(), dim=-1)[0, int(ids[0, -1])]
    lp.backward()
    assert emb.grad is not None


def ablate(torch, model, ids, segments, warmup):
    """A base forward keeping past_key_values, then one forward per segment with that segment removed,
    reusing the cached keys and values before it (two segment passes when warming up)."""
    n = ids.shape[1]
    bounds = [n * i // segments for i in range(segments + 1)]
    with torch.no_grad():
        cache = model(input_ids=ids, logits_to_keep=1, use_cache=True).past_key_values
        for i in range(2 if warmup else segments):
            keep = torch.cat([ids[:, :bounds[i]], ids[:, bounds[i + 1]:]], dim=1)
            start = min(bounds[i], keep.shape[1] - 1)  # the last segment leaves nothing after it: redo one
            if start == 0:
                model(input_ids=keep, logits_to_keep=1, use_cache=False)
                continue
            past = copy.deepcopy(cache)
            past.crop(start - n)  # keep the first `start` positions (transformers 5 wants a negative count)
            model(input_ids=keep[:, start:], past_key_values=past, logits_to_keep=1, use_cache=True)


def shared(torch, model, ids, segments, warmup, episodes=100):
    """Episodes sharing the first half of ids as a system prompt: its past_key_values are computed once,
    then each episode's own tokens (the second half rotated left by 7 per episode) run after it, keeping
    every layer's hidden state (one episode when warming up)."""
    h = ids.shape[1] // 2
    own = ids[:, h:]
    with torch.no_grad():
        cache = model(input_ids=ids[:, :h], logits_to_keep=1, use_cache=True).past_key_values
        for e in range(1 if warmup else episodes):
            r = 7 * e % own.shape[1]
            suffix = torch.cat([own[:, r:], own[:, :r]], dim=1)
            out = model(input_ids=suffix, past_key_values=copy.deepcopy(cache), output_hidden_states=True,
                        logits_to_keep=1, use_cache=True)
            assert len(out.hidden_states) == model.config.num_hidden_layers + 1


def matmul(torch, model, ids, segments, warmup, repeats=10, d_in=576, d_out=1536):
    """torch.matmul (the CPU's tuned sgemm) on the agentlens matmul job's shapes: [N, d_in] x [d_out, d_in]^T,
    then [N, d_out] x [d_in, d_out]^T, repeated (once when warming up)."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand(ids.shape[1], d_in, generator=g) - 0.5
    up = torch.rand(d_out, d_in, generator=g) - 0.5
    down = torch.rand(d_in, d_out, generator=g) - 0.5
    with torch.no_grad():
        for _ in range(1 if warmup else repeats):
            out = torch.matmul(torch.matmul(x, up.T), down.T)
            assert out.shape == (ids.shape[1], d_in)


def cpu_seconds():
    """User plus system CPU time of this process, all threads."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


JOBS = {"forward": forward, "gradient": gradient, "ablate": ablate, "shared": shared, "matmul": matmul}


def run(req, res):
    threads = int(req.get("threads") or 0)
    if threads > 0:
        for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[k] = str(threads)
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    if threads > 0:
        torch.set_num_threads(threads)
    res["backend"] = "cpu"
    res["detail"] = "torch %s, transformers %s, %d threads, attn %s" % (
        torch.__version__, transformers.__version__, torch.get_num_threads(), req.get("attn") or "sdpa")
    job = req["job"]
    fn = JOBS.get(job["kind"])
    if fn is None:
        raise ValueError("unknown job kind %r" % job["kind"])
    with open(req["tokens_file"]) as f:
        tokens = json.load(f)["tokens"]
    if len(tokens) != job["tokens"]:
        raise ValueError("tokens file has %d ids, want %d" % (len(tokens), job["tokens"]))
    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    kw = {"attn_implementation": req.get("attn") or "sdpa"}
    kw["dtype" if (major, minor) >= (4, 56) else "torch_dtype"] = torch.float32
    path = req["model"]
    t0 = time.perf_counter()
    if os.path.isdir(path):
        model = AutoModelForCausalLM.from_pretrained(path, **kw)
    else:
        model = AutoModelForCausalLM.from_pretrained(os.path.dirname(os.path.abspath(path)),
                                                     gguf_file=os.path.basename(path), **kw)
    model.eval()
    res["load_s"] = time.perf_counter() - t0
    ids = torch.tensor([tokens], dtype=torch.long)
    segments = int(req.get("segments") or 20)
    if req.get("warmup"):
        t0 = time.perf_counter()
        fn(torch, model, ids, segments, True)
        res["warmup_s"] = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), cpu_seconds()
    fn(torch, model, ids, segments, False)
    res["seconds"] = time.perf_counter() - t0
    res["cpu_s"] = cpu_seconds() - c0
    if req.get("warmup"):
        frac = {"ablate": 3.0 / (segments + 1), "shared": 1.5 / 100.5, "matmul": 0.1}.get(job["kind"], 1.0)
        res["compile_s"] = max(0.0, res["warmup_s"] - res["seconds"] * frac)


def main():
    with open(sys.argv[1]) as f:
        req = json.load(f)
    res = {"engine": "torch"}
    code = 0
    try:
        run(req, res)
    except Exception as e:  # reported in the result, not as a traceback only
        res["error"] = "%s: %s" % (type(e).__name__, e)
        code = 1
    res["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = req["result"]
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f)
    os.replace(tmp, out)
    sys.exit(code)


if __name__ == "__main__":
    main()
