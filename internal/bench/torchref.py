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


CROSS_SEGMENTS = 20  # the cross-turn jobs' equal content segments before the target (internal/bench)
CORRUPT_SEGMENT = 10  # the segment the corrupted sequence rewrites


def cross_bounds(n):
    """Boundaries of the CROSS_SEGMENTS equal segments of the n - 1 positions before the target."""
    return [(n - 1) * i // CROSS_SEGMENTS for i in range(CROSS_SEGMENTS + 1)]


def next_logprobs(torch, model, hidden, nxt, block=512):
    """log p(nxt[k] | ...) from final hidden states [1, P, d] at P positions, the vocabulary-wide
    log-softmax formed block by block (as a memory-aware user would; never [P, vocab] at once)."""
    out = []
    for s in range(0, hidden.shape[1], block):
        logits = model.lm_head(hidden[0, s:s + block]).float()
        out.append(torch.log_softmax(logits, dim=-1).gather(1, nxt[s:s + block, None])[:, 0])
    return torch.cat(out)


def cropped(cache, keep, n):
    """A copy of a past_key_values over n positions keeping the first keep (None when keep is 0)."""
    if keep == 0:
        return None
    past = copy.deepcopy(cache)
    past.crop(keep - n)  # transformers 5 wants a negative count
    return past


def matrix(torch, model, ids, segments, warmup):
    """The segment x segment deletion matrix: a base pass scoring every next token, then per segment a
    pass with it deleted after the base pass's cached keys and values before it (from the token before
    it, whose next token changed), scoring every later segment's mean log-likelihood and the target's
    log-probability. Returns the sum of the effects (base - deleted) over every later node."""
    n = ids.shape[1]
    b = cross_bounds(n)

    def node_means(lp, offset, shift, first):
        # lp[k] = log p(token at new position offset + 1 + k); an original position q >= the deleted span
        # sits at q - shift. Nodes are the segments from first on, then the target (position n - 1).
        # A token that became the sequence's first (the deleted segment began it) has no prediction.
        vals = []
        for j in range(first, CROSS_SEGMENTS):
            ks = [q - shift - 1 - offset for q in range(max(1, b[j]), b[j + 1]) if q - shift - 1 - offset >= 0]
            vals.append(sum(float(lp[k]) for k in ks) / len(ks) if ks else float("nan"))
        vals.append(float(lp[n - 1 - shift - 1 - offset]))
        return vals

    sources = range(CROSS_SEGMENTS - 2, CROSS_SEGMENTS) if warmup else range(CROSS_SEGMENTS)
    total = 0.0
    with torch.no_grad():
        out = model.model(input_ids=ids, use_cache=True)
        cache = out.past_key_values
        base = node_means(next_logprobs(torch, model, out.last_hidden_state[:, :n - 1], ids[0, 1:]), 0, 0, 0)
        for i in sources:
            keep = torch.cat([ids[:, :b[i]], ids[:, b[i + 1]:]], dim=1)
            start = max(0, b[i] - 1)
            h = model.model(input_ids=keep[:, start:], past_key_values=cropped(cache, start, n),
                            use_cache=True).last_hidden_state
            lp = next_logprobs(torch, model, h[:, :-1], keep[0, start + 1:])
            vals = node_means(lp, start, b[i + 1] - b[i], i + 1)
            for bv, v in zip(base[i + 1:], vals):
                if bv == bv and v == v:
                    total += bv - v
    return total


def capture_hooks(model, store, grad):
    """Hooks putting every layer's resid_pre (the layer's input), attn_out and mlp_out into store[(site,
    layer)], keeping their gradients when grad is set. Returns the handles."""
    handles = []

    def keep(key, t):
        if grad:
            t.retain_grad()
        store[key] = t

    for l, layer in enumerate(model.model.layers):
        def pre(mod, args, kwargs, l=l):
            keep(("resid_pre", l), args[0] if args else kwargs["hidden_states"])

        def attn(mod, args, out, l=l):
            keep(("attn_out", l), out[0] if isinstance(out, tuple) else out)

        def mlp(mod, args, out, l=l):
            keep(("mlp_out", l), out)

        handles.append(layer.register_forward_pre_hook(pre, with_kwargs=True))
        handles.append(layer.self_attn.register_forward_hook(attn))
        handles.append(layer.mlp.register_forward_hook(mlp))
    return handles


def corrupted_ids(torch, model, ids):
    """ids with segment CORRUPT_SEGMENT rewritten: each id moved to the next (mod vocab)."""
    b = cross_bounds(ids.shape[1])
    x = ids.clone()
    x[0, b[CORRUPT_SEGMENT]:b[CORRUPT_SEGMENT + 1]] = (x[0, b[CORRUPT_SEGMENT]:b[CORRUPT_SEGMENT + 1]] + 1) % model.config.vocab_size
    return x


def target_logprob(torch, model, logits, target):
    return float(torch.log_softmax(logits.float(), dim=-1)[0, -1, target])


def atp(torch, model, ids, segments, warmup):
    """Attribution patching from ids (clean) into the corrupted ids: the clean run's resid_pre, attn_out
    and mlp_out of every layer, the corrupted run's gradients of log p(target) at the same sites, and
    per site, layer and segment the sum of (clean - corrupted) x gradient. Returns the sum of the cells."""
    n = ids.shape[1]
    b = cross_bounds(n)
    target = int(ids[0, n - 1])
    clean, corrupt = {}, {}
    for p in model.parameters():
        p.requires_grad_(False)
    hs = capture_hooks(model, clean, False)
    with torch.no_grad():
        model(input_ids=ids[:, :n - 1], logits_to_keep=1, use_cache=False)
    for h in hs:
        h.remove()
    hs = capture_hooks(model, corrupt, True)
    x = corrupted_ids(torch, model, ids)
    emb = model.get_input_embeddings()(x[:, :n - 1]).detach().requires_grad_(True)
    logits = model(inputs_embeds=emb, logits_to_keep=1, use_cache=False).logits
    lp = torch.log_softmax(logits[0, -1].float(), dim=-1)[target]
    lp.backward()
    for h in hs:
        h.remove()
    total = 0.0
    with torch.no_grad():
        for key, c in clean.items():
            d = (c - corrupt[key]) * corrupt[key].grad  # [1, pos, d_model]
            per_pos = d[0].sum(dim=-1)
            for s in range(CROSS_SEGMENTS):
                total += float(per_pos[b[s]:b[s + 1]].sum())
    return total


def patch(torch, model, ids, segments, warmup):
    """Activation patching of the clean ids into the corrupted ones at resid_pre of the first, middle and
    last layer over each segment, each patched run after the corrupted run's cached keys and values
    before the segment. Returns the sum of the patched runs' changes in log p(target)."""
    n = ids.shape[1]
    b = cross_bounds(n)
    target = int(ids[0, n - 1])
    L = model.config.num_hidden_layers
    x = corrupted_ids(torch, model, ids)
    segs = range(CROSS_SEGMENTS - 2, CROSS_SEGMENTS) if warmup else range(CROSS_SEGMENTS)
    total = 0.0
    with torch.no_grad():
        hidden = model(input_ids=ids[:, :n - 1], output_hidden_states=True, logits_to_keep=1,
                       use_cache=False).hidden_states  # hidden[l] is layer l's input, resid_pre
        out = model(input_ids=x[:, :n - 1], logits_to_keep=1, use_cache=True)
        cache, base = out.past_key_values, target_logprob(torch, model, out.logits, target)
        for l in (0, L // 2, L - 1):
            for s in segs:
                start, end = b[s], b[s + 1]
                vals = hidden[l][:, start:end]

                def pre(mod, args, kwargs):
                    h = args[0] if args else kwargs["hidden_states"]
                    h = h.clone()
                    h[:, :end - start] = vals
                    if args:
                        return (h,) + tuple(args[1:]), kwargs
                    kwargs["hidden_states"] = h
                    return args, kwargs

                handle = model.model.layers[l].register_forward_pre_hook(pre, with_kwargs=True)
                try:
                    out = model(input_ids=x[:, start:n - 1], past_key_values=cropped(cache, start, n - 1),
                                logits_to_keep=1, use_cache=True)
                finally:
                    handle.remove()
                total += target_logprob(torch, model, out.logits, target) - base
    return total


GENERATE_NEW = 64  # new tokens per sample of the generate job (internal/bench)
GENERATE_SAMPLES = 8


def generate(torch, model, ids, segments, warmup):
    """transformers' generate with its KV cache: GENERATE_NEW greedy tokens, then GENERATE_NEW sampled
    tokens (temperature 0.8, top-p 0.95) for each of GENERATE_SAMPLES sequences (num_return_sequences),
    never stopping early (two tokens each when warming up)."""
    n = 2 if warmup else GENERATE_NEW
    mask = torch.ones_like(ids)
    kw = dict(attention_mask=mask, max_new_tokens=n, min_new_tokens=n, use_cache=True, pad_token_id=0)
    with torch.no_grad():
        out = model.generate(ids, do_sample=False, **kw)
        assert out.shape == (1, ids.shape[1] + n)
        torch.manual_seed(1)
        out = model.generate(ids, do_sample=True, temperature=0.8, top_p=0.95, top_k=0,
                             num_return_sequences=GENERATE_SAMPLES, **kw)
        assert out.shape == (GENERATE_SAMPLES, ids.shape[1] + n)


def cpu_seconds():
    """User plus system CPU time of this process, all threads."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


JOBS = {"forward": forward, "gradient": gradient, "ablate": ablate, "shared": shared, "matmul": matmul,
        "matrix": matrix, "atp": atp, "patch": patch, "generate": generate}


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
    check = fn(torch, model, ids, segments, False)
    res["seconds"] = time.perf_counter() - t0
    res["cpu_s"] = cpu_seconds() - c0
    if check is not None:
        res["check"] = check
    if req.get("warmup"):
        frac = {"ablate": 3.0 / (segments + 1), "shared": 1.5 / 100.5, "matmul": 0.1, "matrix": 0.1, "patch": 0.1, "generate": 2.0 / GENERATE_NEW}.get(job["kind"], 1.0)
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
