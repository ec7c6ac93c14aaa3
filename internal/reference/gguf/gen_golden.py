"""Reference GGUF files and goldens for model/gguf, made with the PyPI `gguf` package (gguf-py).

Run from the repo root:

    /work/cache/venv/bin/python internal/reference/gguf/gen_golden.py

Writes (committed):
  model/gguf/testdata/all_types.gguf          GGUFWriter output: metadata of every value type (nested
                                              arrays too, general.alignment = 64) and a tensor of each type
                                              the Go package decodes
  model/gguf/testdata/all_types.golden.json   per tensor: type, row-major shape, the float input (for the
                                              types gguf-py can quantise) and gguf.quants.dequantize's
                                              float32 output; metadata as read back by GGUFReader
  model/gguf/testdata/real_models.golden.json per-tensor sum, sum of squares and sample values of
                                              selected tensors of the two cached real models, dequantised
                                              by gguf-py (only when the models are present, see MODELS)
"""
import json
import math
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T, GGUFValueType as V
from gguf.quants import quantize, dequantize

OUT = "model/gguf/testdata"
MODELS = os.path.join(os.environ.get("AGENTLENS_CACHE", "/work/cache"), "models")

rng = np.random.default_rng(20261125)


def f32list(a):
    return [float(x) for x in np.asarray(a, dtype=np.float32).reshape(-1)]


def random_kquant_blocks(qtype, n_blocks):
    """Random K-quant blocks with finite, moderate f16 scales (gguf-py has no K-quant quantiser)."""
    bsize, bbytes = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, bbytes), dtype=np.uint8)
    def put_f16(off):
        v = rng.uniform(0.001, 0.05, size=n_blocks).astype(np.float16)
        raw[:, off:off + 2] = v.view(np.uint8).reshape(n_blocks, 2)
    if qtype == T.Q2_K:
        put_f16(80); put_f16(82)
    elif qtype == T.Q3_K:
        put_f16(108)
    elif qtype in (T.Q4_K, T.Q5_K):
        put_f16(0); put_f16(2)
    elif qtype in (T.IQ4_NL, T.IQ4_XS):
        put_f16(0)
    elif qtype == T.Q6_K:
        put_f16(208)
    elif qtype == T.Q8_K:
        v = rng.uniform(0.001, 0.05, size=n_blocks).astype(np.float32)
        raw[:, 0:4] = v.view(np.uint8).reshape(n_blocks, 4)
    return raw


def write_all_types():
    path = os.path.join(OUT, "all_types.gguf")
    w = gguf.GGUFWriter(path, arch="testarch")
    w.add_custom_alignment(64)
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_uint64("t.u64", 2**64 - 1)
    w.add_int64("t.i64", -(2**63))
    w.add_float32("t.f32", 1e-6)
    w.add_float64("t.f64", math.pi)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo wörld")
    w.add_array("t.strs", ["a", "", "ü", "<|im_start|>"])
    w.add_array("t.i32s", [-1, 2, 3])
    w.add_array("t.f32s", [0.5, -1.25])
    w.add_array("t.bools", [True, False, True])
    w.add_key_value("t.u8s", [1, 2, 255], V.ARRAY, sub_type=V.UINT8)
    w.add_key_value("t.u32s", [7, 4000000000], V.ARRAY, sub_type=V.UINT32)
    w.add_key_value("t.i64s", [-(2**40), 5], V.ARRAY, sub_type=V.INT64)
    w.add_key_value("t.f64s", [0.1, -2.5], V.ARRAY, sub_type=V.FLOAT64)
    w.add_key_value("t.u16s", [65535], V.ARRAY, sub_type=V.UINT16)
    w.add_key_value("t.i16s", [-2], V.ARRAY, sub_type=V.INT16)
    w.add_key_value("t.i8s", [-3, 4], V.ARRAY, sub_type=V.INT8)
    w.add_key_value("t.u64s", [2**40], V.ARRAY, sub_type=V.UINT64)
    w.add_array("t.nested", [["x", "y"], [7, 8, 9], [["deep"]]])

    golden = {"tensors": []}
    # Types gguf-py can quantise: random normal input, quantised by gguf-py.
    for qtype in (T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0):
        rows, cols = 3, 64
        x = rng.standard_normal((rows, cols)).astype(np.float32)
        x[0, 5] = 0.0
        x[1, :32] = 0.0  # an all-zero block (d = 0)
        q = quantize(x, qtype)
        name = "q." + qtype.name
        if qtype in (T.F32, T.F16):
            w.add_tensor(name, q)
        else:
            w.add_tensor(name, q, raw_dtype=qtype)
        deq = dequantize(q, qtype)
        golden["tensors"].append({"name": name, "type": qtype.name, "shape": [rows, cols],
                                  "input": f32list(x), "values": f32list(deq)})
    # K-quants and IQ4: random blocks, dequantised by gguf-py (Q8_K by numpy: it is d·q).
    for qtype in (T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K, T.Q8_K, T.IQ4_NL, T.IQ4_XS):
        rows, cols = 2, 512
        nb = rows * cols // gguf.GGML_QUANT_SIZES[qtype][0]
        raw = random_kquant_blocks(qtype, nb)
        name = "q." + qtype.name
        w.add_tensor(name, raw.reshape(rows, -1), raw_dtype=qtype)
        if qtype == T.Q8_K:
            d = raw[:, 0:4].copy().view(np.float32)
            qs = raw[:, 4:260].copy().view(np.int8).astype(np.float32)
            deq = d * qs
        else:
            deq = dequantize(raw.reshape(rows, -1), qtype)
        golden["tensors"].append({"name": name, "type": qtype.name, "shape": [rows, cols], "values": f32list(deq)})
    # Plain types written by GGUFWriter from numpy dtypes.
    for name, arr in (("p.F64", rng.standard_normal((2, 3))),
                      ("p.I8", np.array([[-128, 0, 127]], dtype=np.int8)),
                      ("p.I16", np.array([-32768, 5, 32767], dtype=np.int16)),
                      ("p.I32", np.array([-7, 1 << 20], dtype=np.int32)),
                      ("p.scalar_like", np.array([2.5], dtype=np.float32))):
        w.add_tensor(name, arr)
        golden["tensors"].append({"name": name, "type": {np.float64: "F64", np.int8: "I8", np.int16: "I16",
                                  np.int32: "I32", np.float32: "F32"}[arr.dtype.type], "shape": list(arr.shape),
                                  "values": f32list(arr.astype(np.float32))})
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    # Read metadata back with GGUFReader (an independent reader) for the golden.
    r = gguf.GGUFReader(path)
    md = []
    for field in r.fields.values():
        if field.name.startswith("GGUF."):
            continue
        vt = field.types[0]
        entry = {"key": field.name, "type": vt.name}
        entry["value"] = field_value(field)
        md.append(entry)
    golden["metadata"] = md
    golden["alignment"] = int(r.alignment)
    golden["data_offset"] = int(r.data_offset)
    golden["tensor_order"] = [t.name for t in r.tensors]
    golden["tensor_dims"] = {t.name: [int(d) for d in t.shape] for t in r.tensors}
    with open(os.path.join(OUT, "all_types.golden.json"), "w") as f:
        json.dump(golden, f, indent=0)
        f.write("\n")


def field_value(field):
    """Decode a GGUFReader field into plain JSON by walking its raw parts: scalars as values, arrays as
    {"elem_type": NAME, "values": [...]} (recursively, so nested arrays keep their element types)."""
    vt = field.types[0]
    if vt != V.ARRAY:
        return scalar(field.parts[field.data[0]], vt)
    value, end = walk(field.parts, 3, V.ARRAY)
    assert end == len(field.parts), (field.name, end, len(field.parts))
    return value


def walk(parts, i, vt):
    if vt == V.ARRAY:
        et = V(int(parts[i][0]))
        n = int(parts[i + 1][0])
        i += 2
        vals = []
        for _ in range(n):
            v, i = walk(parts, i, et)
            vals.append(v)
        return {"elem_type": et.name, "values": vals}, i
    if vt == V.STRING:
        return bytes(parts[i + 1]).decode("utf-8"), i + 2
    return scalar(parts[i], vt), i + 1


def scalar(part, vt):
    if vt == V.STRING:
        return bytes(part).decode("utf-8")
    v = part.tolist()[0]
    if vt in (V.FLOAT32,):
        return float(np.float32(v))
    return v


def tensor_stats(reader, t):
    vals = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
    v64 = vals.astype(np.float64)
    n = vals.size
    return {
        "name": t.name, "type": t.tensor_type.name, "shape": [int(d) for d in reversed(t.shape)],
        "n": int(n), "sum": float(v64.sum()), "sum_sq": float((v64 * v64).sum()),
        "first8": f32list(vals[:8]), "mid_index": int(n // 2), "mid4": f32list(vals[n // 2:n // 2 + 4]),
        "last4": f32list(vals[-4:]),
    }


def real_models():
    out = {}
    for fname in ("SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"):
        path = os.path.join(MODELS, fname)
        if not os.path.exists(path):
            print("skipping missing", path, file=sys.stderr)
            continue
        r = gguf.GGUFReader(path)
        per_type = {}
        for t in r.tensors:
            per_type.setdefault(t.tensor_type.name, []).append(t)
        chosen = []
        for tname, ts in sorted(per_type.items()):
            chosen.extend(ts[:2])
            if len(ts) > 2:
                chosen.append(ts[-1])
        if not any(t.name == "token_embd.weight" for t in chosen):
            chosen.extend(t for t in r.tensors if t.name == "token_embd.weight")
        md = {}
        for key in ("general.architecture", "general.alignment", "tokenizer.ggml.model"):
            if key in r.fields:
                md[key] = r.fields[key].contents()
        arch = r.fields["general.architecture"].contents()
        for key in (f"{arch}.block_count", f"{arch}.embedding_length", f"{arch}.context_length"):
            if key in r.fields:
                md[key] = r.fields[key].contents()
        tokens = r.fields["tokenizer.ggml.tokens"]
        out[fname] = {
            "version": int(r.fields["GGUF.version"].contents()),
            "n_tensors": len(r.tensors),
            "n_kv": len([f for f in r.fields if not f.startswith("GGUF.")]),
            "data_offset": int(r.data_offset),
            "metadata": md,
            "n_tokens": len(tokens.data),
            "tokens_first5": [bytes(tokens.parts[i]).decode("utf-8") for i in tokens.data[:5]],
            "type_counts": {k: len(v) for k, v in sorted(per_type.items())},
            "tensors": [tensor_stats(r, t) for t in chosen],
        }
    with open(os.path.join(OUT, "real_models.golden.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    write_all_types()
    if "--no-real" not in sys.argv:
        real_models()
    print("wrote", OUT)
