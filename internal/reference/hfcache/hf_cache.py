"""The Hugging Face cache, as the real huggingface_hub package makes and reads it.

    python hf_cache.py fixture
        Serves the tiny model repository of package hub's tests on loopback (go run ./fakehub), lets
        huggingface_hub download it with snapshot_download (all files) and hf_hub_download (config.json at
        tag v1.0), and writes a listing of the cache tree it made (every directory, file with its sha256
        and size, and symlink with its target) to model/hub/testdata/hf_cache_fixture.json. Go tests
        rebuild the tree from the listing and read it as is.

    python hf_cache.py check CACHE_DIR REPO
        Reads a cache that agentlens wrote, offline, with huggingface_hub: hf_hub_download of each model
        file, snapshot_download restricted to the model files (and unrestricted, which must fail as
        incomplete when the cached tree listing names files agentlens left out), scan_cache_dir, and,
        when transformers is installed, AutoConfig and AutoTokenizer. Prints a JSON report; exits 1 on
        the first failure. model/hub's TestHuggingFaceHubReadsOurCache runs it.

Run from the repository root with a Python that has huggingface_hub (pinned in notebooks/requirements.txt).
"""
import hashlib, json, os, subprocess, sys, tempfile

REPO = "agentlens-test/tiny-llama"
MODEL_FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
FIXTURE = "model/hub/testdata/hf_cache_fixture.json"


def listing(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames) + sorted(filenames):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out.append({"path": rel, "type": "symlink", "target": os.readlink(p)})
            elif os.path.isdir(p):
                out.append({"path": rel, "type": "dir"})
            else:
                with open(p, "rb") as f:
                    b = f.read()
                out.append({"path": rel, "type": "file", "size": len(b), "sha256": hashlib.sha256(b).hexdigest()})
    out.sort(key=lambda e: e["path"])
    return out


def fixture():
    hub = subprocess.Popen(["go", "run", "./internal/reference/hfcache/fakehub"], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True, env=dict(os.environ, GOTOOLCHAIN="auto"))
    url = hub.stdout.readline().strip()
    try:
        with tempfile.TemporaryDirectory() as cache:
            os.environ.update(HF_ENDPOINT=url, HF_HUB_CACHE=cache, HF_HUB_DISABLE_TELEMETRY="1",
                              HF_HUB_OFFLINE="0", HF_TOKEN="")
            import huggingface_hub
            from huggingface_hub import hf_hub_download, snapshot_download
            snap = snapshot_download(REPO)
            hf_hub_download(REPO, "config.json", revision="v1.0")
            entries = listing(cache)
            doc = {
                "huggingface_hub": huggingface_hub.__version__,
                "made_by": "internal/reference/hfcache/hf_cache.py fixture",
                "repo": REPO,
                "commit": os.path.basename(snap),
                "entries": entries,
            }
    finally:
        hub.stdin.close()
        hub.wait()
    with open(FIXTURE, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {FIXTURE}: {len(entries)} entries, huggingface_hub {doc['huggingface_hub']}")


def check(cache, repo):
    os.environ.update(HF_HUB_CACHE=cache, HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1")
    import huggingface_hub
    from huggingface_hub import hf_hub_download, scan_cache_dir, snapshot_download
    from huggingface_hub.errors import IncompleteSnapshotError
    report = {"huggingface_hub": huggingface_hub.__version__, "files": {}}

    def fail(msg):
        report["error"] = msg
        print(json.dumps(report, indent=1))
        sys.exit(1)

    storage = os.path.join(cache, "models--" + repo.replace("/", "--"))
    with open(os.path.join(storage, "refs", "main")) as f:
        commit = f.read()
    with open(os.path.join(storage, "trees", commit + ".json")) as f:
        tree = json.load(f)["files"]
    for name in MODEL_FILES:
        p = hf_hub_download(repo, name)
        with open(p, "rb") as f:
            b = f.read()
        entry = tree[name]
        if "lfs_sha256" in entry:
            got, want = hashlib.sha256(b).hexdigest(), entry["lfs_sha256"]
        else:
            got, want = hashlib.sha1(b"blob %d\0" % len(b) + b).hexdigest(), entry["blob_id"]
        if got != want:
            fail(f"{name}: hash {got}, tree listing says {want}")
        report["files"][name] = {"path": os.path.relpath(p, cache), "bytes": len(b)}
    snap = snapshot_download(repo, allow_patterns=MODEL_FILES)
    if os.path.basename(snap) != commit:
        fail(f"snapshot_download gave {snap}, want commit {commit}")
    report["snapshot"] = os.path.relpath(snap, cache)
    left_out = sorted(set(tree) - set(MODEL_FILES))
    try:
        snapshot_download(repo)
        if left_out:
            fail(f"unrestricted snapshot_download did not see that {left_out} are missing")
    except IncompleteSnapshotError:
        report["incomplete_without_patterns"] = left_out
    info = scan_cache_dir(cache)
    if info.warnings:
        fail(f"scan_cache_dir warnings: {info.warnings}")
    repos = {r.repo_id: r for r in info.repos}
    if repo not in repos:
        fail(f"scan_cache_dir does not list {repo}: {list(repos)}")
    r = repos[repo]
    refs = {ref for rev in r.revisions for ref in rev.refs}
    if "main" not in refs:
        fail(f"scan_cache_dir: refs {refs}, want main")
    report["scan"] = {"repo": r.repo_id, "size_on_disk": r.size_on_disk, "nb_files": r.nb_files, "refs": sorted(refs)}
    try:
        import transformers
    except ImportError:
        transformers = None
    if transformers is not None:
        from transformers import AutoConfig, AutoTokenizer
        cfg = AutoConfig.from_pretrained(repo)
        tok = AutoTokenizer.from_pretrained(repo)
        report["transformers"] = {"model_type": cfg.model_type, "vocab": len(tok)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "fixture":
        fixture()
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
