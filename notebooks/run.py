"""Execute agentlens notebooks with nbclient: python run.py OUT_DIR NOTEBOOK...

Each notebook runs top to bottom in a fresh kernel of this Python (its working directory is the
notebook's own), and its executed copy, outputs included, is written to OUT_DIR. A cell that raises
stops the run with the cell's traceback and a non-zero exit. make test runs it through the Go test
TestNotebooks (cmd/agentlens/cli) on tables the CLI has just written; AGENTLENS_NB_DATA tells the
notebooks where those are.
"""

import os
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    for path in argv[2:]:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
        try:
            client.execute()
        except CellExecutionError as e:
            nbformat.write(nb, os.path.join(out, os.path.basename(path)))
            print(f"{path}: {e}", file=sys.stderr)
            return 1
        nbformat.write(nb, os.path.join(out, os.path.basename(path)))
        cells = sum(1 for c in nb.cells if c.cell_type == "code")
        print(f"{path}: {cells} code cells ran")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
