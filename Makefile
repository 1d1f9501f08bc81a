# scalinglib: build the companion book and run the tests.
#
#   make book   create .venv (if needed), install scalinglib with the book and
#               test extras, execute every notebook and build _build/html
#               (warnings are errors, any failing cell fails the build)
#   make test   check for a Chromium browser (first, in seconds), make book, then
#               run the test suite and the notebooks. The browser is found by
#               tests/find_browser.py: $CHROMIUM, then chromium, chromium-browser,
#               google-chrome, google-chrome-stable on PATH, then one installed by
#               Playwright; if none, `python -m playwright install chromium` is
#               tried once, and otherwise make stops with one message saying how
#               to get a browser.
#   make lint   the guard rails (CONTRIBUTING.md): ruff check, ruff format --check, mypy
#   make clean  remove build outputs (keeps .venv); make distclean also removes .venv
#
# SCALINGLIB_DATA (the testbed's exp_data directory) is taken from the
# environment; if unset, ../shared/testbed/exp_data next to this repository is
# used when it exists, otherwise the library downloads the data into its cache.
# SCALINGLIB_EXTERNAL (the Chinchilla points) defaults to ../shared/external likewise,
# SCALINGLIB_SARDANA to ../shared/sardana and SCALINGLIB_LADDER to
# ../shared/olmo-ladder/ladder-runs.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := book

ROOT   := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
PYTHON ?= python3
VENV   := $(ROOT)/.venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.install.stamp
BUILD  := $(ROOT)/_build

DEFAULT_DATA := $(abspath $(ROOT)/../shared/testbed/exp_data)
ifeq ($(strip $(SCALINGLIB_DATA)),)
  ifneq ($(wildcard $(DEFAULT_DATA)/models),)
    export SCALINGLIB_DATA := $(DEFAULT_DATA)
  endif
endif
# Same for the Chinchilla points of Besiroglu et al. (SCALINGLIB_EXTERNAL).
DEFAULT_EXTERNAL := $(abspath $(ROOT)/../shared/external)
ifeq ($(strip $(SCALINGLIB_EXTERNAL)),)
  ifneq ($(wildcard $(DEFAULT_EXTERNAL)/chinchilla_svg_extracted_data.csv),)
    export SCALINGLIB_EXTERNAL := $(DEFAULT_EXTERNAL)
  endif
endif

# And for the other labs' runs (SCALINGLIB_SARDANA, SCALINGLIB_LADDER).
DEFAULT_SARDANA := $(abspath $(ROOT)/../shared/sardana)
ifeq ($(strip $(SCALINGLIB_SARDANA)),)
  ifneq ($(wildcard $(DEFAULT_SARDANA)/trainingresults.csv),)
    export SCALINGLIB_SARDANA := $(DEFAULT_SARDANA)
  endif
endif
DEFAULT_LADDER := $(abspath $(ROOT)/../shared/olmo-ladder/ladder-runs)
ifeq ($(strip $(SCALINGLIB_LADDER)),)
  ifneq ($(wildcard $(DEFAULT_LADDER)/3B-10xC.csv),)
    export SCALINGLIB_LADDER := $(DEFAULT_LADDER)
  endif
endif

# Run kernels (myst-nb, nbval) with the project's interpreter, whatever
# kernelspecs the user has installed elsewhere.
RUN_ENV := PATH="$(VENV)/bin:$$PATH" JUPYTER_PATH="$(VENV)/share/jupyter" \
           PYDEVD_DISABLE_FILE_VALIDATION=1

.PHONY: venv browser book test lint clean distclean

venv: $(STAMP)

$(STAMP): $(ROOT)/pyproject.toml
	@if [ ! -x "$(VPY)" ]; then \
	  echo "Creating virtual environment in $(VENV)"; \
	  $(PYTHON) -m venv "$(VENV)" || { echo "error: '$(PYTHON) -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 1; }; \
	fi
	"$(VPY)" -m pip install --disable-pip-version-check -q -e "$(ROOT)[book,test,dev]"
	touch "$@"

# The jupyter-cache is keyed on notebook sources only.  So that a change to the
# library or to the data directory re-executes the notebooks, the cache (and
# Sphinx's environment) is dropped whenever either changes.
book: venv
	@cd "$(ROOT)"; \
	key=$$( { find scalinglib -type f ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum; \
	          echo "data=$${SCALINGLIB_DATA:-} external=$${SCALINGLIB_EXTERNAL:-} sardana=$${SCALINGLIB_SARDANA:-} ladder=$${SCALINGLIB_LADDER:-}"; } | sha256sum | cut -d' ' -f1 ); \
	if [ "$$(cat "$(BUILD)/.scalinglib-cache-key" 2>/dev/null)" != "$$key" ]; then \
	  echo "Library or data changed: clearing the notebook cache"; \
	  rm -rf "$(BUILD)/.jupyter_cache" "$(BUILD)/.doctrees" "$(BUILD)/html"; \
	  mkdir -p "$(BUILD)"; echo "$$key" > "$(BUILD)/.scalinglib-cache-key"; \
	fi
	@echo "SCALINGLIB_DATA=$${SCALINGLIB_DATA:-<unset: data will be downloaded>}"
	cd "$(ROOT)" && $(RUN_ENV) "$(VENV)/bin/jupyter-book" build . -W -n --keep-going

# Needs only the standard library for the search; playwright comes from the venv.
browser: venv
	@cd "$(ROOT)"; \
	if ! "$(VPY)" tests/find_browser.py >/dev/null 2>&1 && [ -z "$${CHROMIUM:-}" ]; then \
	  echo "No Chromium browser found: trying '$(VPY) -m playwright install chromium'"; \
	  timeout 300 "$(VPY)" -m playwright install chromium >/dev/null 2>&1 || true; \
	fi; \
	found=$$("$(VPY)" tests/find_browser.py) || exit 1; \
	echo "Browser for the tests: $$found"

test: browser
	@$(MAKE) --no-print-directory book
	cd "$(ROOT)" && $(RUN_ENV) "$(VPY)" -m pytest tests notebooks --nbval-lax -p no:cacheprovider

# The versions of ruff and mypy are pinned in pyproject.toml's dev extra.
lint: venv
	cd "$(ROOT)" && "$(VENV)/bin/ruff" check .
	cd "$(ROOT)" && "$(VENV)/bin/ruff" format --check .
	cd "$(ROOT)" && "$(VENV)/bin/mypy"

clean:
	rm -rf "$(BUILD)" "$(ROOT)/tests/artifacts"

distclean: clean
	rm -rf "$(VENV)" "$(ROOT)"/*.egg-info

# make student: copies of the notebooks with the exercise solutions removed, in
# _build/student (for a course: hand these out, keep the book's solutions for
# later).  Needs only Python's standard library; see tools/strip_solutions.py.
.PHONY: student
student:
	cd "$(ROOT)" && $(PYTHON) tools/strip_solutions.py notebooks "$(BUILD)/student"
