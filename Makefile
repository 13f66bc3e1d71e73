# sahelsim: two commands on a fresh machine — `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
SHARED := $(abspath ../shared/data)
OUT    ?= out

# Use the staged open data next to the checkout when it exists; otherwise the user cache.
ifneq ($(wildcard $(SHARED)),)
export SAHELSIM_DATA ?= $(SHARED)
endif

.PHONY: run test lint format bench clean venv
BENCH_OUT ?= $(OUT)/bench

$(VENV)/.installed-run: pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip 'setuptools>=78.1.1'
	$(PIP) install -q -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip 'setuptools>=78.1.1'
	$(PIP) install -q -c constraints.txt -e '.[dev,app,distributed]'
	touch $(VENV)/.installed-run $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-dev
	$(PIP) install -q -c constraints.txt -e '.[dev,app,distributed,bench]'
	touch $@

venv: $(VENV)/.installed-run

## make run: create .venv, install, run the main job (indicators, claims, forecasts, validation, report) into out/
run: $(VENV)/.installed-run
	$(VENV)/bin/sahelsim run --out $(OUT)

## make test: create .venv, install [dev], run the whole test suite
test: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests benchmarks tools

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format src tests benchmarks

## make bench: every benchmark (each prints JSON); results also saved under $(BENCH_OUT)/
bench: $(VENV)/.installed-bench
	mkdir -p $(BENCH_OUT)
	$(PY) benchmarks/ingest.py > $(BENCH_OUT)/ingest.json
	$(PY) benchmarks/model.py > $(BENCH_OUT)/model.json
	$(PY) benchmarks/calibrate.py --quick > $(BENCH_OUT)/calibrate.json
	$(PY) benchmarks/scaling.py --quick > $(BENCH_OUT)/scaling.json
	$(PY) benchmarks/app.py > $(BENCH_OUT)/app.json
	@for f in $(BENCH_OUT)/*.json; do echo "== $$f"; cat $$f; done

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache
