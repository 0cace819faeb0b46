# Two commands do all the set-up on a fresh machine (Python >= 3.11 with venv):
#   make demo   - offline demo on embedded defaults
#   make test   - lint, type-check, the whole test suite against the installed package (with a
#                 coverage gate, see [tool.coverage] in pyproject.toml) and the built wheel
#                 installed without extras in a fresh virtualenv
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python

.PHONY: install demo test lint typecheck pytest test-wheel bench bench-quick clean

$(VENV)/.deps: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet '.[dev,bench]'
	touch $@

# Reinstall the package itself (not its dependencies) so tests import what a user installs.
install: $(VENV)/.deps
	$(PY) -m pip install --quiet --no-deps --force-reinstall .

demo: install
	$(VENV)/bin/aigclabel demo

lint: $(VENV)/.deps
	$(PY) -m ruff check sdk middleware adapters tests examples bench
	$(PY) -m ruff format --check sdk middleware adapters tests examples bench

typecheck: install
	$(PY) -m mypy -p aigclabel
	$(PY) -m mypy tests/typing

# The record-store tests run against a real PostgreSQL (scripts/test-postgres.sh starts one);
# the export tests need LibreOffice and a CJK font (scripts/test-office.sh installs them); the
# PySpark tests a JDK (scripts/test-jdk.sh installs one when `java` is missing); the chat-page tests
# Debian's chromium, driven by Playwright (scripts/test-browser.sh installs it when missing); the
# gateway's Node client test the pinned `openai` npm package (scripts/test-node.sh, npm ci).
# Branch coverage of the installed package, per file; the gate (fail_under) is in pyproject.toml.
pytest: install
	bash scripts/test-office.sh
	bash scripts/test-jdk.sh >/dev/null
	bash scripts/test-browser.sh
	bash scripts/test-node.sh
	AIGCLABEL_TEST_POSTGRES_URL="$${AIGCLABEL_TEST_POSTGRES_URL:-$$(bash scripts/test-postgres.sh)}" \
		$(PY) -m pytest --cov=aigclabel --cov-report=term-missing

# A bare `pip install` of the built wheel (no extras) runs aigclabel label, verify and demo.
test-wheel: $(VENV)/.deps
	bash scripts/test-wheel.sh $(PY)

test: lint typecheck pytest test-wheel

bench-quick: install
	$(PY) bench/run.py --quick
	$(PY) bench/audit.py --quick
	$(PY) bench/export.py --quick
	$(PY) bench/verify_files.py --quick
	$(PY) bench/format.py --quick
	$(PY) bench/relay.py --quick
	$(PY) bench/ui_latency.py --quick
	$(PY) bench/langchain_chat.py --quick
	$(PY) bench/langchain_agent.py --quick
	$(PY) bench/gateway.py --quick
	$(PY) bench/speed.py --quick
	$(PY) bench/watermark.py --quick
	$(PY) bench/watermark_calibration.py --quick

bench: install
	$(PY) bench/run.py
	$(PY) bench/format.py
	$(PY) bench/speed.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache .hypothesis
