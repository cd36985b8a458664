# Reelboard: `make run` starts the app on the embedded TikTok sandbox; `make test` runs everything.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TOOLS  := .venv-tools
PORT   ?= 8501
# Installs come from the lock files: every package, transitive ones included, pinned with its
# hashes (pip refuses anything else). requirements*.txt stay the human-edited pins.
PIP_LOCKED := -m pip install --quiet --require-hashes --no-deps

.PHONY: run test lint bench sandbox lock audit clean

$(VENV)/.installed: requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) $(PIP_LOCKED) -r requirements.lock
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.lock
	$(PY) $(PIP_LOCKED) -r requirements-dev.lock
	touch $@

run: $(VENV)/.installed
	$(PY) -m streamlit run streamlit_app.py --server.port $(PORT)

test: $(VENV)/.installed-dev
	scripts/ensure-chromium.sh
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: $(VENV)/.installed-dev
	$(PY) -m bench

sandbox: $(VENV)/.installed
	$(PY) -m sandbox --port 8765

# Tools that are not part of the app: pip-tools writes the lock files, pip-audit checks them.
$(TOOLS)/.installed: requirements-tools.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet -r requirements-tools.txt
	touch $@

# After editing requirements*.txt: re-resolve and re-hash everything.
lock: $(TOOLS)/.installed
	$(TOOLS)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links -o requirements.lock requirements.txt
	$(TOOLS)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links -o requirements-dev.lock requirements-dev.txt

# Known vulnerabilities in the locked packages (needs a machine that reaches an advisory
# database: PyPI's JSON API / OSV).
audit: $(TOOLS)/.installed
	$(TOOLS)/bin/pip-audit --strict --require-hashes --disable-pip -r requirements-dev.lock

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache
