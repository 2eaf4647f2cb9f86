# Thin façade over the real tools. Every target does one thing; `test` and `run` set up first.
# Only Python >= 3.11 is assumed: `setup` installs uv with pip when it is missing.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
VENV := .venv
PY := $(VENV)/bin/python
PROTO_SRC := protos
PROTO_OUT := protos/src
PROTOS := $(shell find $(PROTO_SRC)/a4c -name '*.proto' | sort)

.PHONY: setup browser proto proto-check settings-doc lint typecheck test run images bench

setup: browser
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@$(UV) sync --all-packages --frozen --quiet

# The console's browser tests drive the distribution's Chromium and its driver (never a downloaded one).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

# Generate _pb2, _pb2_grpc and their typed .pyi stubs (mypy-protobuf) next to each other under a4c.api.<svc>.v1 (directory = package).
proto:
	@PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m grpc_tools.protoc -I $(PROTO_SRC) \
		--python_out=$(PROTO_OUT) --grpc_python_out=$(PROTO_OUT) \
		--mypy_out=quiet:$(PROTO_OUT) --mypy_grpc_out=quiet:$(PROTO_OUT) $(PROTOS)
	@for d in $$(find $(PROTO_OUT)/a4c/api -mindepth 1 -type d ! -name __pycache__); do \
		[ -f $$d/__init__.py ] || touch $$d/__init__.py; done

# Regenerate into a scratch copy and fail when the committed code differs from the .proto files.
proto-check:
	@$(PY) protos/check_drift.py

# Rewrite README.md's settings tables from the parts' declarations (tests/test_settings_doc.py checks them).
settings-doc:
	@$(PY) -m a4c.common.settings_doc README.md

lint:
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

typecheck:
	@$(VENV)/bin/mypy $$(ls -d services/*/src/a4c/* worker/src/a4c/* worker/contract/src/a4c/* sql/src/a4c/* sandbox/src/a4c/* sandbox/devstack/src/a4c/*)

test: setup proto-check
	@$(VENV)/bin/pytest

# The whole system on this machine plus a demo tenant, until Ctrl-C (python -m a4c.devstack --help;
# RUN_ARGS=--once stops when the demo is active, RUN_ARGS="--port-base 21000" moves every port).
run: setup
	@$(PY) -m a4c.devstack $(RUN_ARGS)

# Everything measured side by side on this machine (bench/): ~3 minutes on 2 cores. Writes
# bench/results/latest.json and prints the table; BENCH_ARGS=--smoke runs tiny sizes in seconds.
bench: setup
	@$(PY) -m bench $(BENCH_ARGS)

# One image per part (Dockerfile targets) with docker buildx; needs a Docker engine. Override on the command
# line: REGISTRY, TAG, PLATFORMS, PYTHON_BASE (pin by digest), SOURCE (the repository URL in the OCI labels),
# PUSH=1 to push instead of loading locally. With PUSH=1 the registry's digests are then written into the prod
# overlay's images: (k8s/pin_images.py), so prod runs exactly the images just built.
images:
	@tag="$${TAG:-$$(git describe --tags --always --dirty)}"; registry="$${REGISTRY:-registry.example.com/a4c}"; \
	revision="$$(git rev-parse HEAD)"; source="$${SOURCE:-$$(git config --get remote.origin.url || echo unknown)}"; \
	meta="$$(mktemp -d)"; pins=""; \
	for part in dns identity provisioning worker console; do \
		docker buildx build --target "$$part" \
			--build-arg PYTHON_BASE="$${PYTHON_BASE:-python:3.11-slim-bookworm}" \
			--build-arg VERSION="$$tag" --build-arg REVISION="$$revision" --build-arg SOURCE="$$source" \
			--platform "$${PLATFORMS:-linux/amd64}" \
			--tag "$$registry/$$part:$$tag" --metadata-file "$$meta/$$part.json" \
			$$([ -n "$$PUSH" ] && echo --push || echo --load) . || exit 1; \
		[ -z "$$PUSH" ] || { digest="$$($(PYTHON) -c 'import json,sys; print(json.load(open(sys.argv[1]))["containerimage.digest"])' "$$meta/$$part.json")" || exit 1; \
			pins="$$pins a4c-$$part=$$registry/$$part:$$tag@$$digest"; }; \
	done; \
	if [ -n "$$PUSH" ]; then $(PY) k8s/pin_images.py k8s/overlays/prod/kustomization.yaml $$pins || exit 1; \
		echo "pinned in k8s/overlays/prod/kustomization.yaml:$$pins"; fi; \
	rm -rf "$$meta"
