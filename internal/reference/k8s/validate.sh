#!/bin/sh
# Cross-checks the Kubernetes manifests with kubernetes-validate itself (Python, the full strict
# JSON schema of the API), independently of the Go test's own schema walker:
#
#   python3 -m venv internal/reference/.venv
#   internal/reference/.venv/bin/pip install kubernetes-validate==1.37.0
#   sh internal/reference/k8s/validate.sh
set -eu
cd "$(dirname "$0")/../../.."
py=${PYTHON:-internal/reference/.venv/bin/python}
"$py" -m kubernetes_validate -k 1.37.0 --strict cmd/agentlens/deploy/k8s/*.yaml
