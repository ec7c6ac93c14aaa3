"""Extract the JSON schemas of the Kubernetes kinds agentlens deploys.

Reads the strict JSON schemas that the PyPI package kubernetes-validate bundles
(kubernetes_validate/kubernetes-json-schema/<version>-local-strict/_definitions.json,
generated from the Kubernetes API's own OpenAPI spec) and writes the closure of the
definitions that batch/v1 Job and core/v1 PersistentVolumeClaim reference, with
descriptions dropped, to cmd/agentlens/deploy/testdata/k8s-schema.json.

    python3 -m venv internal/reference/.venv
    internal/reference/.venv/bin/pip install kubernetes-validate==1.37.0
    internal/reference/.venv/bin/python internal/reference/k8s/extract_schema.py
"""

import json
import os
import sys
from importlib.metadata import version

import kubernetes_validate

K8S_VERSION = "1.37.0"
ROOTS = {
    "batch/v1/Job": "io.k8s.api.batch.v1.Job",
    "v1/PersistentVolumeClaim": "io.k8s.api.core.v1.PersistentVolumeClaim",
}
REF_PREFIXES = ("/api/_definitions.json#/$defs/", "#/$defs/")


def strip(node, refs):
    """Return node without descriptions, with $ref rewritten to bare definition names."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "description":
                continue
            if k == "$ref":
                prefix = next((p for p in REF_PREFIXES if v.startswith(p)), None)
                if prefix is None:
                    sys.exit(f"unexpected $ref {v}")
                name = v[len(prefix):]
                refs.append(name)
                out[k] = name
                continue
            out[k] = strip(v, refs)
        return out
    if isinstance(node, list):
        return [strip(v, refs) for v in node]
    return node


def main():
    base = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema",
                        f"v{K8S_VERSION}-local-strict", "_definitions.json")
    with open(base) as f:
        defs = json.load(f)["$defs"]
    out, todo = {}, list(ROOTS.values())
    while todo:
        name = todo.pop()
        if name in out:
            continue
        refs = []
        out[name] = strip(defs[name], refs)
        todo.extend(refs)
    doc = {
        "source": f"PyPI kubernetes-validate {version('kubernetes-validate')}, "
                  f"kubernetes-json-schema/v{K8S_VERSION}-local-strict/_definitions.json",
        "generator": "internal/reference/k8s/extract_schema.py",
        "kubernetes": K8S_VERSION,
        "roots": ROOTS,
        "definitions": dict(sorted(out.items())),
    }
    here = os.path.dirname(os.path.abspath(__file__))
    dst = os.path.join(here, "..", "..", "..", "cmd", "agentlens", "deploy", "testdata", "k8s-schema.json")
    tmp = dst + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(tmp, dst)
    print(f"wrote {len(out)} definitions to {os.path.normpath(dst)}")


if __name__ == "__main__":
    main()
