"""pyarrow view of agentlens Parquet tables, as the independent reader/writer for data/ tests.

Reads data/testdata/segments.parquet and probe.parquet (written by `go test ./data -run PyarrowReadsOurFile -update`) and
records its column names, Arrow types and rows in data/testdata/segments.pyarrow.json; writes
data/testdata/tokens.pyarrow.parquet (two token rows), tokens_badtype.pyarrow.parquet (position as a
string) and tokens_v2.pyarrow.parquet (schema_version 2) for the Go reader. Also checks that pandas and
DuckDB open the Go-written file. Run from the repo root:

    internal/reference/.venv/bin/python internal/reference/data/pyarrow_golden.py
"""
import json

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

D = "data/testdata/"

t = pq.read_table(D + "segments.parquet")
view = {"columns": t.column_names, "types": {f.name: str(f.type) for f in t.schema}, "rows": t.to_pylist()}
with open(D + "segments.pyarrow.json", "w") as f:
    json.dump(view, f, indent=1, ensure_ascii=False)
    f.write("\n")
assert len(pd.read_parquet(D + "segments.parquet")) == t.num_rows
assert duckdb.sql(f"select count(*) from '{D}segments.parquet'").fetchall()[0][0] == t.num_rows

i32, i64, f64, s = pa.int32(), pa.int64(), pa.float64(), pa.string()
cols = [("schema_version", i32), ("episode_id", s), ("model", s), ("method", s), ("metric", s),
        ("target_token", i32), ("target_id", i32), ("position", i32), ("token_id", i32), ("text", s),
        ("segment_id", s), ("segment_kind", s), ("char_start", i32), ("char_end", i32),
        ("score", f64), ("magnitude", f64)]
rows = [
    dict(schema_version=1, episode_id="ep", model="m", method="grad_x_input", metric="log_prob", target_token=9,
         target_id=42, position=0, token_id=1, text="<|im_start|>", segment_id="template", segment_kind="template",
         char_start=0, char_end=12, score=0.5, magnitude=1.5),
    dict(schema_version=1, episode_id="ep", model="m", method="grad_x_input", metric="log_prob", target_token=9,
         target_id=42, position=1, token_id=9690, text="système", segment_id="system[0]", segment_kind="system",
         char_start=12, char_end=20, score=-2.0, magnitude=2.0),
]
schema = pa.schema(cols)
pq.write_table(pa.Table.from_pylist(rows, schema=schema), D + "tokens.pyarrow.parquet")
bad = pa.schema([(n, s if n == "position" else t_) for n, t_ in cols])
pq.write_table(pa.Table.from_pylist([dict(r, position=str(r["position"])) for r in rows], schema=bad),
               D + "tokens_badtype.pyarrow.parquet")
pq.write_table(pa.Table.from_pylist([dict(r, schema_version=2) for r in rows], schema=schema),
               D + "tokens_v2.pyarrow.parquet")
print("wrote", D)

# Probe tables: pyarrow's view of the Go-written probe file (go test ./data -run PyarrowReadsOurProbe
# -update writes it), and activations written as a Python pipeline would, nullable list elements included.
t = pq.read_table(D + "probe.parquet")
view = {"columns": t.column_names, "types": {f.name: str(f.type) for f in t.schema}, "rows": t.to_pylist()}
with open(D + "probe.pyarrow.json", "w") as f:
    json.dump(view, f, indent=1, ensure_ascii=False)
    f.write("\n")
assert len(pd.read_parquet(D + "probe.parquet")) == 1
assert duckdb.sql(f"select len(weights) from '{D}probe.parquet'").fetchall()[0][0] == 3
acts = pa.schema([("schema_version", i32), ("episode_id", s), ("label", i32), ("label_source", s), ("group", s),
                  ("split", s), ("model", s), ("model_hash", s), ("layer", i32), ("site", s), ("position", s), ("token", i32),
                  ("vector", pa.list_(pa.float32()))])
base = dict(schema_version=1, label_source="pandas", group="pair-0", split="train", model="SmolLM2-135M-Instruct",
            model_hash="sha256:00ff",
            layer=7, site="blocks.7.hook_resid_post", position="final")
rows = [dict(base, episode_id="py-0", label=1, token=99, vector=[0.5, -1.25, 3.0]),
        dict(base, episode_id="py-1", label=0, token=97, vector=[-0.5, 1.25, -3.0])]
pq.write_table(pa.Table.from_pylist(rows, schema=acts), D + "activations.pyarrow.parquet")
print("wrote probe.pyarrow.json, activations.pyarrow.parquet")

# A sidecar label file as another pipeline writes it: episode ids with a nullable bool verdict and an
# int64 score (data.ReadColumns reads any such table as text).
side = pa.table({"episode_id": ["a", "b", "c"], "harmful": pa.array([True, False, None], pa.bool_()),
                 "score": pa.array([3, None, -1], pa.int64())})
pq.write_table(side, D + "sidecar.pyarrow.parquet")
print("wrote sidecar.pyarrow.parquet")
