# Two commands matter (see README): `make demo` and `make test`. Both set everything up first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
ORACLE := .cache/oracle

.PHONY: setup sysdeps demo test test-fast lint wheel-check clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel

# One resolver call installs the whole pinned stack plus the package (and builds the C coder extension).
# nvidia-pytriton ships the tritonserver binary (fsplit-serve --engine triton); it pins numpy<2 for its own Python
# API, which we never import, so it goes in with --no-deps after the stack (pyproject.toml, extra "triton").
TRITON_SERVER := nvidia-pytriton==0.7.0
$(VENV)/.installed: $(BIN)/python pyproject.toml setup.py $(wildcard runtimes/c/*.c runtimes/c/*.h) fsplit_mobile/codec/_rans.c
	$(BIN)/pip install -e '.[test,ray,triton]'
	$(BIN)/pip install --no-deps '$(TRITON_SERVER)'
	touch $@

setup: $(VENV)/.installed

sysdeps:
	bash scripts/install_system_deps.sh

# CompressAI is a test oracle only (never a runtime dependency): its wheel goes into a private folder.
$(ORACLE)/.installed: $(BIN)/python
	$(BIN)/pip install -q --no-deps --target $(ORACLE) compressai==1.2.8
	touch $@

demo: setup
	$(BIN)/fsplit-demo
	$(BIN)/fsplit-export --target all --quantize int8 --out artifacts/default

# --durations=25: the slowest tests, printed after every run (issue 21).
test: sysdeps setup $(ORACLE)/.installed
	FSPLIT_ORACLE_DIR=$(CURDIR)/$(ORACLE) $(BIN)/python -m pytest -q --durations=25

test-fast: setup $(ORACLE)/.installed
	FSPLIT_ORACLE_DIR=$(CURDIR)/$(ORACLE) $(BIN)/python -m pytest -q -m "not slow" --durations=25

# Lint and types (issue 11): ruff lint + format check over the tree, mypy on every package ([tool.mypy] files),
# the import layering (issue 21: lint-imports checks pyproject.toml's [tool.importlinter] contracts, imports inside
# functions included), clang-format (style in .clang-format; installed by `make sysdeps`) on the C/C++ of runtimes/.
C_SOURCES := $(shell find runtimes -path '*/build*' -prune -o \( -name '*.c' -o -name '*.h' -o -name '*.cpp' -o -name '*.hpp' \) -print) fsplit_mobile/codec/_rans.c
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	clang-format --dry-run --Werror $(C_SOURCES)

# The wheel is the product: sdist -> wheel -> an EMPTY venv -> fsplit-export (coreml, all) and fsplit-demo from an
# empty folder outside the checkout (scripts/wheel_check.sh; timings: benchmarks/results/wheel_check.md).
wheel-check: setup
	PY=$(PY) bash scripts/wheel_check.sh

clean:
	rm -rf $(VENV) .cache build *.egg-info
