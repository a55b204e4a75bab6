# `make test` is what CI runs (.ci/run) and what the README's quick start names.
GO                     ?= go
GOLANGCI_LINT_VERSION  ?= v2.15.0
BIN                    := $(CURDIR)/.bin
GOLANGCI_LINT          := $(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)

# Version information from git, computed once (`:=`) so that every binary of
# a release carries the same; each may be given on the command line instead.
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH     ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILD_DATE ?= $(shell date -u +%Y%m%d-%H:%M:%S)
VERSION    := $(VERSION)
REVISION   := $(REVISION)
BRANCH     := $(BRANCH)
BUILD_DATE := $(BUILD_DATE)
VERSION_PKG := github.com/prometheus/common/version
LDFLAGS    := -s -w -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Revision=$(REVISION) \
              -X $(VERSION_PKG).Branch=$(BRANCH) -X $(VERSION_PKG).BuildDate=$(BUILD_DATE) \
              -X $(VERSION_PKG).BuildUser=quota_exporter
# A static binary with the version information; GOOS and GOARCH from the
# environment.
GO_BUILD   := CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"

.PHONY: test fmt-check vet lint race deploy-test build release release-test docker fuzz soak bench FORCE

test: fmt-check vet lint race deploy-test

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The pinned linter is built once from the Go module proxy into .bin/.
$(GOLANGCI_LINT):
	GOBIN=$(BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(BIN)/golangci-lint $@

lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...

# Unit, integration and end-to-end tests, under the race detector.
race:
	$(GO) test -race -count=1 ./...

# The deploy artifacts checked against the real API types, in their own
# module (deploy/go.mod) so that the exporter's go.mod stays lean.
deploy-test:
	cd deploy && $(GO) vet ./... && $(GO) test -count=1 ./...

# A static binary with version information; the Dockerfile builds with this.
OUT ?= quota_exporter
build:
	$(GO_BUILD) -o $(OUT) .

# dist/quota_exporter-<version>.<os>-<arch>.tar.gz for each platform, as
# promu lays them out (one top-level directory holding the binary, LICENSE,
# README.md and the example exporter.yml), and dist/sha256sums.txt over
# them: `cd dist && sha256sum -c sha256sums.txt`. A dirty tree gives a
# -dirty version; any failed build fails the release.
RELEASE_PLATFORMS ?= linux-amd64 linux-arm64 darwin-amd64 darwin-arm64
RELEASE_NAME      := quota_exporter-$(VERSION)
RELEASE_ARCHIVES  := $(RELEASE_PLATFORMS:%=dist/$(RELEASE_NAME).%.tar.gz)

release:
	rm -rf dist
	$(MAKE) dist/sha256sums.txt

dist/sha256sums.txt: $(RELEASE_ARCHIVES)
	cd dist && sha256sum $(notdir $^) > $(notdir $@)

# $* is the platform, e.g. linux-amd64.
dist/$(RELEASE_NAME).%.tar.gz: FORCE
	rm -rf dist/$(RELEASE_NAME).$*
	GOOS=$(word 1,$(subst -, ,$*)) GOARCH=$(word 2,$(subst -, ,$*)) $(GO_BUILD) -o dist/$(RELEASE_NAME).$*/quota_exporter .
	cp LICENSE README.md exporter.yml dist/$(RELEASE_NAME).$*/
	tar -czf $@ -C dist $(RELEASE_NAME).$*
	rm -rf dist/$(RELEASE_NAME).$*

FORCE:

# Cuts a release in a fresh clone of HEAD and checks the archives, their
# sums and the binary's revision (release_test.go). Not part of `make test`:
# on a cold build cache the three cross builds cost minutes of CPU.
release-test:
	$(GO) test -count=1 -run '^TestReleaseInAFreshClone$$' -release -v .

# The image, with the same version information as `make build` (the
# Docker build has no git to ask).
DOCKER_IMAGE ?= quota_exporter
docker:
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --build-arg BRANCH=$(BRANCH) \
	  -t $(DOCKER_IMAGE):$(VERSION) .

# Every fuzz target of every package, each for FUZZTIME; CI runs this after
# the tests. Findings land in the package's testdata/fuzz as seeds. CI counts
# executions rather than seconds: a time limit that ends while the fuzzer
# minimizes a new input fails with "context deadline exceeded" on a busy
# machine, a flake rather than a finding.
FUZZTIME ?= 100000x
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$target ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

# Scrapes the exporter hard for SOAK while vendor faults flip; fails unless
# memory, goroutines and file descriptors stay flat (bench/soak).
SOAK ?= 2m
soak:
	$(GO) run ./bench/soak -duration $(SOAK)

# The sizing table (bench/perf: 100, 1,000 and 10,000 accounts; warm scrapes
# against their floor, memory, cold scrapes, a burst) with its targets; and
# the Go benchmarks, vzicloud's million grants a few times only.
bench:
	$(GO) build -o .bin/perf ./bench/perf && .bin/perf
	$(GO) test -run '^$$' -bench . -skip 1M -benchtime 20x ./collector ./vendor_clients/vzicloud
	$(GO) test -run '^$$' -bench 1M -benchtime 3x ./vendor_clients/vzicloud
