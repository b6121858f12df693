# Watchkeeper developer commands. `make test` is what CI runs; it bootstraps everything.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
APT_PACKAGES := prometheus prometheus-alertmanager
TEST_WORKERS ?= 3 # each worker runs its own control plane, Prometheus and operator; a file stays on one worker

.PHONY: test dev demo e2e crds lint lock wheel bootstrap venv system-packages kube-binaries kwok-binary helm-binary clean

test: bootstrap ## run the whole test suite (what CI runs)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

dev: bootstrap ## a local API server + Prometheus, CRDs installed, operator in the foreground
	$(BIN)/python -m devenv up

demo: bootstrap ## the local environment on fake nodes with a simulated service that scales and alerts (README, Demo)
	$(BIN)/python -m devenv demo

e2e: venv helm-binary ## the end-to-end suite against an existing cluster: make e2e KUBECONFIG=path
	@test -n "$(KUBECONFIG)" || { echo "make e2e: set KUBECONFIG=path/to/kubeconfig of the cluster to test"; exit 2; }
	WATCHKEEPER_E2E_KUBECONFIG="$(abspath $(KUBECONFIG))" $(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

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

lock: ## rewrite requirements.lock (the image's hashed dependencies) from pyproject.toml
	rm -rf $(VENV)-lock && $(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet pip-tools==7.6.2
	$(VENV)-lock/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml
	rm -rf $(VENV)-lock

wheel: venv ## build the operator's wheel into dist/ (what the image installs)
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir dist .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dist
