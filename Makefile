# corral's tasks. `make test` works on a fresh machine with Docker (or Debian).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export TESTCONTAINERS_RYUK_DISABLED := true
export TESTCONTAINERS_CONNECTION_MODE := docker_host

.PHONY: venv proto test unit integration lint bench bench-api docker images clean-venv \
	up down clean bench-images bench-startup bench-scheduler

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# Regenerates the API code in corral/api/v1 from proto/ (never edit corral/api/v1 by hand).
proto: venv
	$(PY) proto/generate.py

# The whole suite, after the linters (a broken import contract fails fast).
test: lint docker images
	$(PY) -m pytest -q

unit: venv
	$(PY) -m pytest -q -m 'not integration'

integration: venv docker images
	$(PY) -m pytest -q -m integration

# ruff, mypy, and the import contracts of the house plan (pyproject.toml, docs/architecture.md).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports --no-cache

bench: bench-api bench-images bench-startup bench-scheduler

# Flags go in BENCH_ARGS, e.g. make bench-api BENCH_ARGS="--quick" (see python -m bench.api -h).
bench-api: venv docker images
	$(PY) -m bench.api $(BENCH_ARGS)

# The scheduler through a real API server: --scenario a|b|c, --quick, --precreate
# (see python -m bench.scheduler -h), e.g. make bench-scheduler BENCH_ARGS="--scenario b".
bench-scheduler: venv docker images
	$(PY) -m bench.scheduler $(BENCH_ARGS)

# Pod startup on a one-node cluster next to raw `docker run` (see python -m bench.startup -h).
bench-startup: venv docker images
	$(PY) -m bench.startup $(BENCH_ARGS)

# Makes sure a Docker engine answers: starts dockerd (installing docker.io if needed).
docker:
	deploy/ensure-docker

# Builds corral's images if missing (names in corral/images.py; overridden names are pulled).
# Standard library only, so it runs with the system python before the venv exists.
images: docker
	$(PYTHON) deploy/build-images

# The local cluster (docker-compose.yml, docs/cluster.md). `up` builds what is missing,
# starts etcd, apiserver, controller, scheduler and two agents, returns when all are
# healthy and makes its CLI context current. `down` keeps etcd's data; `clean` wipes it
# and removes the cluster's pod containers, networks, volumes and the images `up` built.
up: venv docker
	$(PY) deploy/cluster up

down: venv docker
	$(PY) deploy/cluster down

clean: venv docker
	$(PY) deploy/cluster clean

# Image sizes and the rebuild time after a one-file change.
bench-images: venv docker
	$(PY) -m bench.images
