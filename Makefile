# videobot — every target sets itself up: the first run builds .venv from constraints.txt.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready

.PHONY: demo test lint format dev bench bench-gpu synth deploy destroy stage-model lock clean

$(READY): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Setting up $(VENV) (pinned dependencies; first run takes about a minute)..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		--constraint constraints.txt --group dev
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
# jsii (the CDK's bridge to Node) prints a banner on Node 20 at every start; it works, so keep it quiet.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

$(CDK): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

## The CloudFormation template, offline (no AWS account, Docker or PyPI): cdk.out/Videobot.template.json.
synth: $(READY)
	CDK_OUTDIR=cdk.out CDK_CONTEXT_JSON='{"aws:cdk:bundling-stacks":[]}' $(BIN)/python -m infra.app
	@echo "Wrote cdk.out/Videobot.template.json; cdk-nag's AwsSolutions checks passed."

## Deploy to the account and region of your AWS credentials (Docker builds the job image; see README).
deploy: $(READY) $(CDK)
	$(CDK) bootstrap $(CDK_ARGS)
	$(CDK) deploy --require-approval broadening $(CDK_ARGS)

destroy: $(READY) $(CDK)
	$(CDK) destroy $(CDK_ARGS)

## Copy a model's weights from the Hugging Face hub into the project's bucket, once:
## make stage-model MODEL=5b [BUCKET=...] (default: $VIDEOBOT_BUCKET; needs AWS credentials).
MODEL ?=
BUCKET ?= $(VIDEOBOT_BUCKET)
stage-model: $(READY)
	@test -n "$(MODEL)" || { echo "usage: make stage-model MODEL=2b|5b|5b-i2v|1.5|1.5-i2v [BUCKET=...]"; exit 2; }
	$(BIN)/python -m processing_job.stage $(MODEL) $(if $(BUCKET),--bucket $(BUCKET))

## Regenerate constraints.txt from the current environment.
lock: $(READY)
	@{ echo "# Exact versions for dev, CI and the demo (pip install --constraint constraints.txt)."; \
	   echo "# Regenerate with: make lock. torch is the CPU build here; the GPU job image picks its own."; \
	   $(BIN)/python -m pip freeze --exclude-editable | sed 's/^torch==\([0-9.]*\)+cpu/torch==\1/'; } > constraints.txt

clean:
	rm -rf $(VENV) var cdk.out
