#!/usr/bin/env python3
"""Time agentlens' Go tokenizer and Hugging Face's Rust tokenizer on the same ~110 KB agent transcript,
in one run, and print both.

The Go side is `go test -bench BenchmarkEncodeTranscript ./model/tokenizer/` (mean ns/op over -runs
iterations after the benchmark's own warm-up); the Hugging Face side is PyPI `tokenizers`
(`Tokenizer.encode(text, add_special_tokens=False)`, single-threaded like the Go encoder) on the
transcript of model/tokenizer/testdata/corpus.json.gz, one warm-up call and then the mean and the best of
-runs calls. Both use the tokenizers the parity test uses: tokenizer.json files from
$AGENTLENS_CACHE/tokenizers (llama2 from testdata) and, for SmolLM2 and Gemma-3 GGUF, transformers'
conversion of the GGUF files in $AGENTLENS_CACHE/models.

Run from the repository root (about a minute):

    internal/reference/.venv/bin/python internal/reference/tokenizer/bench.py [--runs 20] [models...]
"""
import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import time

import tokenizers
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
TESTDATA = os.path.join(REPO, "model", "tokenizer", "testdata")
sys.path.insert(0, HERE)
import gen_golden  # noqa: E402  (the same GGUF conversion as the goldens)

MODELS = ["smollm2", "llama2", "llama2_gguf", "qwen2_5", "llama3_1", "gemma3", "gemma3_gguf"]
LLAMA_CPP_MODELS = "/tmp/lcp/llama_cpp_python-0.3.36/vendor/llama.cpp/models"  # see README.md


def hf_tokenizer(name, cache, models):
    if name in gen_golden.GGUF_MODELS:
        gguf_name = gen_golden.GGUF_MODELS[name][0]
        if gguf_name.startswith("ggml-vocab-"):
            models = LLAMA_CPP_MODELS
        path = os.path.join(models, gguf_name)
        return gen_golden.hf_gguf_tokenizer(models, gguf_name) if os.path.exists(path) else None
    if name in gen_golden.COMMITTED:
        path = os.path.join(TESTDATA, name, "tokenizer.json.gz")
    else:
        path = os.path.join(cache, name, "tokenizer.json.gz")
    if not os.path.exists(path):
        return None
    with gzip.open(path, "rb") as f:
        return Tokenizer.from_str(f.read().decode())


def go_bench(runs, names):
    env = dict(os.environ, GOTOOLCHAIN=os.environ.get("GOTOOLCHAIN", "auto"))
    pat = "^BenchmarkEncodeTranscript$/^(" + "|".join(names) + ")$"
    cmd = ["go", "test", "-run", "^$", "-bench", pat, "-benchtime", f"{runs}x", "-count", "1", "./model/tokenizer/"]
    print("$ " + " ".join(cmd), file=sys.stderr)
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stdout + out.stderr)
    res = {}
    for line in out.stdout.splitlines():
        m = re.match(r"BenchmarkEncodeTranscript/(\S+?)(-\d+)?\s+\d+\s+(\d+(?:\.\d+)?) ns/op", line)
        if m:
            res[m.group(1)] = float(m.group(3)) / 1e6
    return res, out.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--cache", default=os.environ.get("AGENTLENS_CACHE", os.path.expanduser("~/.cache/agentlens")) + "/tokenizers")
    ap.add_argument("--models", default=os.environ.get("AGENTLENS_CACHE", os.path.expanduser("~/.cache/agentlens")) + "/models")
    ap.add_argument("names", nargs="*", default=MODELS)
    args = ap.parse_args()

    with gzip.open(os.path.join(TESTDATA, "corpus.json.gz"), "rb") as f:
        text = json.load(f)["transcript"]

    go, _ = go_bench(args.runs, args.names)
    rows = []
    for name in args.names:
        tok = hf_tokenizer(name, args.cache, args.models)
        if tok is None or name not in go:
            rows.append((name, None, go.get(name), None, None))
            continue
        n = len(tok.encode(text, add_special_tokens=False).ids)  # warm-up
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            tok.encode(text, add_special_tokens=False)
            times.append(time.perf_counter() - t0)
        rows.append((name, n, go[name], sum(times) / len(times) * 1e3, min(times) * 1e3))

    print(f"transcript: {len(text.encode())} bytes; {args.runs} runs each; HF tokenizers {tokenizers.__version__}; "
          f"{os.cpu_count()} CPUs")
    print("| tokenizer | tokens | agentlens (Go) ms | HF Rust ms (mean / best) | HF ÷ Go |")
    print("|---|---|---|---|---|")
    for name, n, g, hm, hb in rows:
        if hm is None:
            print(f"| {name} | — | {'—' if g is None else f'{g:.1f}'} | not available | — |")
            continue
        print(f"| {name} | {n} | {g:.1f} | {hm:.1f} / {hb:.1f} | {hm / g:.2f} |")


if __name__ == "__main__":
    main()
