"""Decoding speed of llama.cpp (llama-cpp-python, CPU build from source: PyPI has no binary wheel for
this platform) on the SmolLM2-135M-Instruct Q4_1 GGUF itself (llama.cpp runs the quantised weights; we
and transformers run them dequantised to float32), with the protocol of generate_speed.py: the same
1,024 synthetic prompt tokens, then 64 greedy tokens, one sample (llama-cpp-python has no batched
sampling of several sequences). Decoding tokens/s = 64 / time of the 64 decode steps, the prompt
excluded. Usage (thread count as the Go run's GOMAXPROCS):

    python3 -m venv /tmp/lcpvenv && /tmp/lcpvenv/bin/pip install llama-cpp-python==0.3.36
    AGENTLENS_CACHE=~/.cache/agentlens /tmp/lcpvenv/bin/python internal/reference/model/generate_speed_llamacpp.py [threads]
"""
import os, sys, time

import llama_cpp

threads = int(sys.argv[1]) if len(sys.argv) > 1 else os.cpu_count()
CACHE = os.environ.get("AGENTLENS_CACHE", os.path.expanduser("~/.cache/agentlens"))
FILE = os.path.join(CACHE, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
NEW = 64


def main():
    llm = llama_cpp.Llama(model_path=FILE, n_ctx=2048, n_threads=threads, n_threads_batch=threads, n_batch=512, verbose=False)
    V = llm.n_vocab()
    prompt = [(i * 7919 + 13) % V for i in range(1024)]
    print("llama-cpp-python %s, %d threads" % (llama_cpp.__version__, threads))
    for rep in range(3):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        t1 = time.perf_counter()
        for _ in range(NEW):
            tok = llm.sample(top_k=1, temp=0)
            llm.eval([tok])
        t2 = time.perf_counter()
        print("run %d: prompt %.2f s (%.0f tokens/s), %d greedy tokens %.2f s: decoding %.2f tokens/s"
              % (rep, t1 - t0, len(prompt) / (t1 - t0), NEW, t2 - t1, NEW / (t2 - t1)), flush=True)


if __name__ == "__main__":
    main()
