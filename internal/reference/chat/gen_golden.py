"""Render every chat template in trace/chat/testdata/templates with Hugging Face transformers' own
chat-template machinery and write the results as goldens under trace/chat/testdata/golden/.

Run from the repository root:
    /work/cache/venv/bin/python internal/reference/chat/gen_golden.py
"""
import datetime as _dt
import json
import os
import sys

from transformers.utils import chat_template_utils as ctu
from transformers.utils.chat_template_utils import render_jinja_template

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
TESTDATA = os.path.join(ROOT, "trace", "chat", "testdata")


def main():
    with open(os.path.join(TESTDATA, "cases.json"), encoding="utf-8") as f:
        spec = json.load(f)
    now = _dt.datetime.fromisoformat(spec["now"].replace("Z", "+00:00")).replace(tzinfo=None)

    class FixedDatetime(_dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return now

    # strftime_now in transformers calls datetime.now() through this module global.
    ctu.datetime = FixedDatetime

    tdir = os.path.join(TESTDATA, "templates")
    gdir = os.path.join(TESTDATA, "golden")
    os.makedirs(gdir, exist_ok=True)
    names = sorted(n[: -len(".jinja")] for n in os.listdir(tdir) if n.endswith(".jinja"))
    if len(sys.argv) > 1:
        names = [n for n in names if n in sys.argv[1:]]
    for name in names:
        with open(os.path.join(tdir, name + ".jinja"), encoding="utf-8") as f:
            src = f.read()
        out = {"template": name, "cases": []}
        for case in spec["cases"]:
            msgs = [hf_message(m) for m in case["messages"]]
            kwargs = dict(case.get("extra", {}))
            kwargs["bos_token"] = spec["bos"]
            kwargs["eos_token"] = spec["eos"]
            res = {"name": case["name"]}
            try:
                text = render_jinja_template(
                    conversations=[msgs],
                    tools=spec["tools"] if case.get("tools") else None,
                    chat_template=src,
                    add_generation_prompt=case["add_generation_prompt"],
                    **kwargs,
                )[0][0]
                res["text"] = text
            except Exception as e:  # the Go side must fail too
                res["error"] = f"{type(e).__name__}: {e}"
            out["cases"].append(res)
        tmp = os.path.join(gdir, name + ".json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(out, f, ensure_ascii=False, indent=1)
            f.write("\n")
        os.replace(tmp, os.path.join(gdir, name + ".json"))
        ok = sum(1 for c in out["cases"] if "text" in c)
        print(f"{name}: {ok}/{len(out['cases'])} rendered")


def hf_message(m):
    """The message dict in the shape agentlens' trace/chat builds (same keys, same order)."""
    d = {"role": m["role"], "content": m.get("content", "")}
    if m.get("reasoning"):
        d["reasoning_content"] = m["reasoning"]
    if m.get("tool_calls"):
        calls = []
        for tc in m["tool_calls"]:
            c = {}
            if tc.get("id"):
                c["id"] = tc["id"]
            c["type"] = "function"
            c["function"] = {"name": tc["name"], "arguments": tc["arguments"]}
            calls.append(c)
        d["tool_calls"] = calls
    if m.get("tool_call_id"):
        d["tool_call_id"] = m["tool_call_id"]
    if m.get("name"):
        d["name"] = m["name"]
    return d


if __name__ == "__main__":
    main()
