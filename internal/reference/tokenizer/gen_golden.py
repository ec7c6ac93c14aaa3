#!/usr/bin/env python3
"""Generate tokenizer parity goldens for model/tokenizer from the real Hugging Face tokenizers.

Independent of agentlens code: the oracle is the Rust `tokenizers` library (PyPI) and, for SmolLM2,
transformers' GGUF tokenizer conversion. See README.md for how to run it.
"""
import argparse
import gzip
import json
import os
import random
import shutil
import sys
import time

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
            rec[key] = {"ids": e.ids, "offsets": [list(o) for o in e.offsets]}
        out.append(rec)
    return out


def golden(tok, name, strings, text):
    res = {"model": name, "strings": encode_all(tok, strings)}
    tok.encode(text, add_special_tokens=False)  # warm up
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        e = tok.encode(text, add_special_tokens=False)
        best = min(best, time.perf_counter() - t0)
    res["transcript"] = {"ids": e.ids, "offsets": [x for o in e.offsets for x in o]}
    res["hf_encode_seconds"] = best
    res["hf_tokenizers_version"] = __import__("tokenizers").__version__
    print(f"{name}: {len(e.ids)} transcript tokens, HF encode {best * 1e3:.1f} ms", file=sys.stderr)
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--npm", default="/work/cache/npm/node_modules/@lenml")
    ap.add_argument("--models", default=os.environ.get("AGENTLENS_CACHE", "/work/cache") + "/models")
    ap.add_argument("--cache", default=os.environ.get("AGENTLENS_CACHE", "/work/cache") + "/tokenizers")
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

    # SmolLM2 from its GGUF: the metadata fixture, and transformers' GGUF conversion as the oracle.
    gguf_name = "SmolLM2-135M-Instruct.Q4_1.gguf"
    meta = gguf_fixture(os.path.join(args.models, gguf_name))
    write_gz(os.path.join(TESTDATA, "smollm2_gguf_meta.json.gz"), meta)
    from transformers import AutoTokenizer
    hf = AutoTokenizer.from_pretrained(args.models, gguf_file=gguf_name)
    write_gz(os.path.join(TESTDATA, "golden", "smollm2.json.gz"),
             golden(hf.backend_tokenizer, "smollm2", HARD_STRINGS, text))


if __name__ == "__main__":
    main()
