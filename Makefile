# videobot — every target sets itself up: the first run builds .venv from constraints.txt.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready

.PHONY: demo test lint format dev bench bench-gpu synth deploy destroy stage-model lock clean node-check

PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# torch, the CPU build: on Linux x86_64 PyPI's torch is the CUDA build (gigabytes of nvidia-* wheels).
# PyTorch's CPU index has the same release as `2.13.0+cpu`, which constraints.txt's `torch==2.13.0`
# accepts and pip prefers (a local version sorts after the plain one). torch goes in first and alone,
# so only it and its few dependencies ask that index, once, without retries and with a short timeout:
# a machine that can't reach it (and finds torch elsewhere, e.g. its own pip configuration) loses
# seconds, not minutes. `TORCH_INDEX=` leaves the index out.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

$(READY): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Setting up $(VENV) (pinned dependencies; first run takes about a minute)..."
	@$(PIP_INSTALL) --upgrade "pip>=25.1"
	@$(BIN)/python -c "import importlib.metadata as m; m.version('torch')" 2>/dev/null || \
		$(PIP_INSTALL) --constraint constraints.txt --only-binary torch \
		$(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX) --retries 0 --timeout 15) torch
	@$(PIP_INSTALL) --constraint constraints.txt --group dev
	@# Real-ESRGAN's loader for the upscale stage and its tests, without its torchvision: PyPI's is the
	@# CUDA build, which can't load beside the CPU torch and would break diffusers' imports (pyproject's
	@# `upscale` group says more). spandrel imports torchvision only for architectures we don't use.
	@$(PIP_INSTALL) --constraint constraints.txt --no-deps spandrel einops
	@touch $@

## The whole flow offline: /video -> refinement -> Generate -> a render -> the mp4 in the thread.
demo: $(READY)
	$(BIN)/python -m bot demo

## The test suite (offline).
test: $(READY)
	$(BIN)/python -m pytest

## Benchmarks against the plain libraries, written to docs/benchmarks.md (about 10 minutes on 2 cores;
## BENCH_QUICK=1 skips the render's measurements, which take most of that).
BENCH_QUICK ?=
bench: $(READY)
	$(BIN)/python -m bench $(if $(filter-out 0,$(BENCH_QUICK)),--quick)

## The GPU proof: the real models' render timed on a CUDA card, its section written into docs/benchmarks.md
## (without CUDA it says what it needs; `--cpu-smoke` runs it scaled down; bench/gpu_device.sh: a lent GPU).
bench-gpu: $(READY)
	$(BIN)/python -m bench.gpu

lint: $(READY)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(READY)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Socket Mode against a real workspace (SLACK_BOT_TOKEN, SLACK_APP_TOKEN), local backends.
dev: $(READY)
	$(BIN)/python -m bot dev

## AWS: the CDK app in infra/, deployed with the aws-cdk CLI from npm (pinned in package-lock.json).
CDK := node_modules/.bin/cdk
CDK_ARGS ?=
# jsii (the CDK's bridge to Node) supports Node 22 and 24 (the README asks for one of them). Node 20
# is past its end of life but still works (CI's machines have it): instead of jsii's banner at every
# start, synth and deploy say so once (node-check), and the tests stay quiet.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
NODE_MAJOR = $(shell node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/')

$(CDK): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

node-check:
	@test -n "$(NODE_MAJOR)" || { echo "The CDK needs Node.js 22 or 24 (see the README)."; exit 2; }
	@test "$(NODE_MAJOR)" -ge 22 || echo "Note: Node $(NODE_MAJOR) is past its end of life and jsii no \
	longer supports it; it works today, but use Node 22 or 24 for deploys (README)."

## The CloudFormation template, offline (no AWS account, Docker or PyPI): cdk.out/Videobot.template.json.
synth: $(READY) node-check
	CDK_OUTDIR=cdk.out CDK_CONTEXT_JSON='{"aws:cdk:bundling-stacks":[]}' $(BIN)/python -m infra.app
	$(BIN)/cfn-lint --ignore-checks W3005 -- cdk.out/Videobot.template.json
	@echo "Wrote cdk.out/Videobot.template.json; cdk-nag's AwsSolutions checks and cfn-lint passed."
	@echo "(W3005, ignored: CDK makes each function depend on its role; see tests/infra/test_infra_cfn_lint.py.)"

## Deploy to the account and region of your AWS credentials (Docker builds the job image; see README).
deploy: $(READY) $(CDK) node-check
	$(CDK) bootstrap $(CDK_ARGS)
	$(CDK) deploy --require-approval broadening --outputs-file cdk.out/outputs.json $(CDK_ARGS)
	@$(BIN)/python -m infra.next_steps cdk.out/outputs.json

destroy: $(READY) $(CDK) node-check
	$(CDK) destroy $(CDK_ARGS)

## Copy a model's weights from the Hugging Face hub into the project's bucket, once:
## make stage-model MODEL=5b [BUCKET=...] (default: $VIDEOBOT_BUCKET; needs AWS credentials).
MODEL ?=
BUCKET ?= $(VIDEOBOT_BUCKET)
stage-model: $(READY)
	@test -n "$(MODEL)" || { echo "usage: make stage-model MODEL=2b|5b|5b-i2v|1.5|1.5-i2v|wan2.2-5b|wan2.1-1.3b [BUCKET=...]"; exit 2; }
	$(BIN)/python -m processing_job.stage $(MODEL) $(if $(BUCKET),--bucket $(BUCKET))

## Regenerate constraints.txt from the current environment.
lock: $(READY)
	@{ echo "# Exact versions for dev, CI and the demo (pip install --constraint constraints.txt)."; \
	   echo "# Regenerate with: make lock. torch is the CPU build here; the GPU job image picks its own."; \
	   $(BIN)/python -m pip freeze --exclude-editable | sed 's/^torch==\([0-9.]*\)+cpu/torch==\1/'; } > constraints.txt

clean:
	rm -rf $(VENV) var cdk.out
