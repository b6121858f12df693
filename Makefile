# Watchkeeper developer commands. `make test` is what CI runs; it bootstraps everything.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
APT_PACKAGES := prometheus prometheus-alertmanager

.PHONY: test dev crds lint bootstrap venv system-packages kube-binaries kwok-binary helm-binary clean

test: bootstrap ## run the whole test suite (what CI runs)
	$(BIN)/python -m pytest

dev: bootstrap ## a local API server + Prometheus, CRDs installed, operator in the foreground
	$(BIN)/python -m devenv up

crds: venv ## regenerate crds/, the chart's copy and docs/reference.md from the models
	$(BIN)/watchkeeper crds -o crds -o charts/watchkeeper/crds --reference docs/reference.md

lint: venv ## ruff, mypy and the import-linter contract (the test suite runs these too)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && $(BIN)/lint-imports

bootstrap: venv system-packages kube-binaries kwok-binary helm-binary

venv: $(STAMP)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

system-packages: ## Prometheus and Alertmanager from Debian (only when missing)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

kube-binaries: ## build the pinned kube-apiserver, -controller-manager, -scheduler once into ~/.cache/watchkeeper
	bash hack/build-kube.sh

kwok-binary: ## build the pinned KWOK once into ~/.cache/watchkeeper (fake nodes for ready-pod tests)
	bash hack/build-kwok.sh >/dev/null

helm-binary: ## build the pinned helm once into ~/.cache/watchkeeper (the chart tests run it)
	bash hack/build-helm.sh >/dev/null

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
