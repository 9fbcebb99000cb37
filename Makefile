# Arustio: common tasks. `make help` lists them.
# Builds go to $(CARGO_TARGET_DIR), shared with scripts/start.sh and scripts/test.sh.

SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO ?= cargo
CARGO_TARGET_DIR ?= $(HOME)/.cache/arustio-target
export CARGO_TARGET_DIR
BIN_DIR ?= $(if $(CARGO_HOME),$(CARGO_HOME),$(HOME)/.cargo)/bin
IMAGE ?= arustio:local

# `docker compose` (v2), or the old `docker-compose` when only that is installed.
ifndef COMPOSE
COMPOSE := $(shell if docker compose version >/dev/null 2>&1; then echo "docker compose"; \
	elif command -v docker-compose >/dev/null 2>&1; then echo docker-compose; \
	else echo "docker compose"; fi)
endif

# The credentials docker-compose.yml gives the cluster (override both places alike).
ARUSTIO_ACCESS_KEY ?= arustio-admin
ARUSTIO_SECRET_KEY ?= arustio-admin-secret
DOCKER_S3_ENDPOINT ?= http://127.0.0.1:39999
INIT_WAIT ?= 600

.PHONY: help build test run install-cli docker-build docker-up docker-test docker-down \
	docker-clean docker-logs check-packaging

help: ## this list
	@awk 'BEGIN { FS = ":.*## " } /^[a-z-]+:.*## / { printf "  make %-16s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: ## release build of the arustio binary
	$(CARGO) build --release --locked -p arustio-gateway --bin arustio

test: ## every test (scripts/test.sh)
	bash scripts/test.sh

run: ## build and serve a single node on 127.0.0.1 (scripts/start.sh)
	bash scripts/start.sh

install-cli: build ## copy the release arustio to ~/.cargo/bin (or BIN_DIR=...)
	install -D -m 0755 "$(CARGO_TARGET_DIR)/release/arustio" "$(BIN_DIR)/arustio"
	@echo "installed $(BIN_DIR)/arustio"

docker-build: ## build the arustio image (IMAGE=arustio:local)
	DOCKER_BUILDKIT=1 docker build -t $(IMAGE) .

docker-up: ## start MinIO and the 3-node cluster, wait for the buckets and mounts
	ARUSTIO_IMAGE=$(IMAGE) $(COMPOSE) up -d --build
	COMPOSE="$(COMPOSE)" INIT_WAIT=$(INIT_WAIT) bash docker/wait-init.sh

docker-test: ## run the docker example on this host against the cluster
	ARUSTIO_S3_ENDPOINT=$(DOCKER_S3_ENDPOINT) AWS_ACCESS_KEY_ID=$(ARUSTIO_ACCESS_KEY) \
	AWS_SECRET_ACCESS_KEY=$(ARUSTIO_SECRET_KEY) AWS_REGION=us-east-1 \
	$(CARGO) run -q --example docker

docker-logs: ## follow the logs of every service
	$(COMPOSE) logs -f

docker-down: ## stop the services (volumes kept)
	$(COMPOSE) down

docker-clean: ## stop the services and delete their volumes (all data)
	$(COMPOSE) down -v

check-packaging: ## offline checks of Dockerfile, compose file, scripts and Makefile
	bash docker/check.sh
