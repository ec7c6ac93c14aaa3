#!/bin/sh
# Build libtokenizers.a, the Rust static library github.com/daulet/tokenizers links against, for the
# optional hftokenizers backend of model/tokenizer. The crate's tiktoken-rs git dependency (a fork) cannot
# be fetched where only package registries are reachable, so this swaps it for tiktoken-rs 0.9 from
# crates.io (only daulet's tiktoken constructor uses it; the tokenizer.json path is the upstream
# tokenizers crate). About 4 minutes on 1 core. Output: $AGENTLENS_CACHE/lib/libtokenizers.a.
#
#   sh internal/reference/tokenizer/build_libtokenizers.sh
#   CGO_ENABLED=1 CGO_LDFLAGS=-L$AGENTLENS_CACHE/lib go test -tags hftokenizers ./model/tokenizer/
set -eu
export GOTOOLCHAIN=auto
ver=$(go list -m -f '{{.Version}}' github.com/daulet/tokenizers)
src=$(go mod download -json "github.com/daulet/tokenizers@$ver" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
out=${AGENTLENS_CACHE:-$HOME/.cache/agentlens}/lib
work=$(mktemp -d)
cp -r "$src/." "$work"
chmod -R u+w "$work"
sed -i 's|^tiktoken-rs = .*|tiktoken-rs = "0.9"|' "$work/Cargo.toml"
(cd "$work" && cargo build --release -j "${JOBS:-1}")
mkdir -p "$out"
cp "$work/target/release/libtokenizers.a" "$out/libtokenizers.a.tmp"
mv "$out/libtokenizers.a.tmp" "$out/libtokenizers.a"
rm -rf "$work"
echo "$out/libtokenizers.a (daulet/tokenizers $ver)"
