# Navarch: build, test and run a small-footprint Kubernetes.
SHELL := /bin/bash
MODULES := shared apiserver scheduler controller-manager kubelet proxy ctl dns e2e
BIN := $(CURDIR)/bin
GO ?= go
TEST_TIMEOUT ?= 20m

.PHONY: all build test bench lint up down clean

all: build

build:
	@mkdir -p $(BIN)
	@for m in $(MODULES); do \
	  if [ -d $$m/cmd ]; then \
	    echo "build $$m"; (cd $$m && $(GO) build -o $(BIN)/ ./cmd/...) || exit 1; \
	  fi; \
	done

# Every module's tests, including the integration tests that run a real
# apiserver on a real (embedded) etcd. The e2e packages each bring up whole
# clusters on this host's containerd, so they run one after another (-p 1).
test:
	@set -o pipefail; for m in $(MODULES); do \
	  if [ -n "$$(find $$m -name '*.go' -print -quit)" ]; then \
	    p=""; [ $$m = e2e ] && p="-p 1"; \
	    echo "== test $$m"; (cd $$m && $(GO) test -count=1 $$p -timeout $(TEST_TIMEOUT) ./...) || exit 1; \
	  fi; \
	done

# Benchmarks print their figures beside a reference measured in the same run.
bench:
	cd apiserver && $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./bench/...
	cd proxy && NAVARCH_PROXY_BENCH_SIZES=$${NAVARCH_PROXY_BENCH_SIZES:-1000,5000,10000} $(GO) test -run '^$$' -bench Sync -benchtime 1x -timeout 60m ./pkg/iptables/
	cd dns && $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./bench/...
	cd scheduler && $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./bench/...
	cd kubelet && $(GO) test -run '^$$' -bench PodStartupLatency -benchtime 1x -timeout 30m ./test/e2enode/

lint:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(MODULES); do \
	  if [ -n "$$(find $$m -name '*.go' -print -quit)" ]; then (cd $$m && $(GO) vet ./...) || exit 1; fi; \
	done

up: build
	hack/up.sh

down:
	hack/down.sh

clean:
	rm -rf $(BIN)
