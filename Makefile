# Common commands. `make test` is the README's test command: it installs what the tests need, then runs them.
PYTHON ?= python3
NPM ?= npm
CHROMIUM := /usr/bin/chromium

.PHONY: install system-deps test lint site

# Python package with its test extra, and the Nu Html Checker (vnu-jar) from package-lock.json.
install: node_modules/.package-lock.json
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[test]'

# npm writes node_modules/.package-lock.json on every install, so it is newer than the lock when node_modules is current.
# --ignore-scripts: vnu-jar's postinstall would fetch a Java runtime; we use the machine's java.
node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci --ignore-scripts --no-audit --no-fund

# Debian's Chromium (only as root: we do not sudo) and a Java runtime for vnu-jar, when missing.
system-deps:
	@missing=""; \
	if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then missing="$$missing chromium"; \
	  else echo "$(CHROMIUM) is missing: run 'sudo apt-get install -y chromium', then make test again" >&2; exit 1; fi; \
	fi; \
	command -v java >/dev/null 2>&1 || missing="$$missing default-jre-headless"; \
	command -v $(NPM) >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing:$$missing; run 'sudo apt-get install -y$$missing', then make test again" >&2; exit 1; fi; \
	  echo "installing:$$missing"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y$$missing; \
	fi

test: system-deps
	$(MAKE) --no-print-directory install
	$(PYTHON) -m pytest

# ruff and mypy come with the dev extra: pip install -e '.[dev]'
lint:
	$(PYTHON) -m ruff check src tests
	$(PYTHON) -m mypy

site:
	$(PYTHON) -m pip install --quiet --disable-pip-version-check .
	corpus-site build

# Issue 5's benchmark (benchmarks/README.md): corpus-site against Hugo and Eleventy on a synthetic corpus.
# A quicker run: make bench BENCH_ARGS="--sizes 1000 --runs 3"
BENCH_ARGS ?= --sizes 1000 10000 --runs 3 --peers --serve
.PHONY: bench
bench:
	$(PYTHON) benchmarks/bench.py $(BENCH_ARGS)
