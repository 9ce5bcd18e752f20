# Salon: `make run` starts it, `make test` checks it. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_PACKAGES := ffmpeg fonts-dejavu-core
TEST_PACKAGES := ffmpeg chromium fonts-dejavu-core
export SALON_HOST ?= 127.0.0.1
export SALON_PORT ?= 5000

.PHONY: run test lint fmt bench system-run system-test clean

run: system-run $(STAMP)
	$(BIN)/salon init
	$(BIN)/salon run

test: system-test $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy app ml
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy app ml

fmt: $(STAMP)
	$(BIN)/ruff check --fix .

bench: system-run $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/queue.py
	$(BIN)/python bench/events.py
	$(BIN)/python bench/ml.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/stats.py
	$(BIN)/python bench/federation.py
	$(BIN)/python bench/federation_push.py
	$(BIN)/python bench/tools.py

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,caption]'
	touch $@

# Debian packages: installed when missing and we are root, else the exact command is printed.
system-run:
	@$(MAKE) --no-print-directory packages PACKAGES="$(RUN_PACKAGES)"

system-test:
	@$(MAKE) --no-print-directory packages PACKAGES="$(TEST_PACKAGES)"

.PHONY: packages
packages:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "Salon needs these Debian packages:$$missing"; \
	    echo "run: sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
