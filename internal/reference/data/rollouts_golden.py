"""pyarrow view of the Go-written rollout tables, as the independent reader for data/ tests.

Reads data/testdata/rollouts.parquet and propensity.parquet (written by `go test ./data -run
PyarrowReadsOurRollouts -update`) and records their column names, Arrow types and rows in
data/testdata/rollouts.pyarrow.json and propensity.pyarrow.json; also checks that pandas and DuckDB
open them. Run from the repo root:

    internal/reference/.venv/bin/python internal/reference/data/rollouts_golden.py
"""
import json

import duckdb
import pandas as pd
import pyarrow.parquet as pq

D = "data/testdata/"

for name in ["rollouts", "propensity"]:
    t = pq.read_table(D + name + ".parquet")
    view = {"columns": t.column_names, "types": {f.name: str(f.type) for f in t.schema}, "rows": t.to_pylist()}
    with open(D + name + ".pyarrow.json", "w") as f:
        json.dump(view, f, indent=1, ensure_ascii=False)
        f.write("\n")
    assert len(pd.read_parquet(D + name + ".parquet")) == t.num_rows
    assert duckdb.sql(f"select count(*) from '{D}{name}.parquet'").fetchall()[0][0] == t.num_rows
    print("wrote", D + name + ".pyarrow.json")
