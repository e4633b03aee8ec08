# videobot — every target sets itself up: the first run builds .venv from constraints.txt.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready

.PHONY: demo test lint format dev bench synth deploy destroy stage-model lock clean

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

lint: $(READY)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(READY)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Socket Mode against a real workspace (SLACK_BOT_TOKEN, SLACK_APP_TOKEN), local backends.
dev: $(READY)
	$(BIN)/python -m bot dev

## Regenerate constraints.txt from the current environment.
lock: $(READY)
	@{ echo "# Exact versions for dev, CI and the demo (pip install --constraint constraints.txt)."; \
	   echo "# Regenerate with: make lock. torch is the CPU build here; the GPU job image picks its own."; \
	   $(BIN)/python -m pip freeze --exclude-editable | sed 's/^torch==\([0-9.]*\)+cpu/torch==\1/'; } > constraints.txt

clean:
	rm -rf $(VENV) var cdk.out
