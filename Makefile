# elb-access-logger — see README.md.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
BRANCH  ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null)
# A fixed builder name, like the RPM's build host, so rebuilds are identical.
BUILD_USER ?= elb-access-logger
# --version and elb_access_logger_build_info read prometheus/common/version,
# as node_exporter's do.
VPKG    := github.com/prometheus/common/version
LDFLAGS := -s -w -X $(VPKG).Version=$(VERSION) -X $(VPKG).Revision=$(COMMIT) -X $(VPKG).Branch=$(BRANCH) \
	-X $(VPKG).BuildUser=$(BUILD_USER) -X $(VPKG).BuildDate=$(DATE)
BIN     ?= bin/elb-access-logger
DIST    ?= dist

# RPM packaging (docs/image.md). nfpm is pinned and run with `go run`, so it
# never enters the agent's go.mod and no binary is downloaded.
NFPM := go run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.0
# An rpm version cannot hold '-': v1.2.3 -> 1.2.3, v1.2.3-4-gabc -> 1.2.3.4.gabc,
# an untagged tree abc1234 -> 0.0.0.gitabc1234.
RPM_VERSION ?= $(shell echo '$(VERSION)' | sed -e 's/^v\([0-9]\)/\1/' -e '/^[0-9][0-9]*\./!s/^/0.0.0.git/' -e 's/-/./g')
# File times inside the RPM: the last commit's, so a rebuild is identical.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)

.PHONY: all build rpm init-script packaging-deps test unit check demo bench bench-fleet testbed-start testbed-stop clean

all: build

build:
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/elb-access-logger

# $(DIST)/elb-access-logger-$(RPM_VERSION)-1.x86_64.rpm. Every file of
# packaging/haproxy/ except Go sources goes to /usr/share/elb-access-logger/,
# the Prometheus alerting rules to its prometheus/;
# README.md, CHANGELOG.md, LICENSE and docs/ (its .md files, and the images
# in docs/ and docs/images/ the pages show) to
# /usr/share/doc/elb-access-logger/; the man page, gzipped, to man8.
rpm: build
	rm -rf $(DIST)/stage && mkdir -p $(DIST)/stage/share $(DIST)/stage/doc/docs $(DIST)/stage/man8
	if [ -d packaging/haproxy ]; then \
		find packaging/haproxy -maxdepth 1 -type f ! -name '*.go' -exec install -m 0644 {} $(DIST)/stage/share/ \; ; \
	fi
	mkdir -p $(DIST)/stage/share/prometheus
	install -m 0644 packaging/prometheus/elb-access-logger.rules.yml $(DIST)/stage/share/prometheus/
	install -m 0644 README.md CHANGELOG.md LICENSE $(DIST)/stage/doc/
	find docs -maxdepth 1 -type f \( -name '*.md' -o -name '*.png' -o -name '*.svg' \) -exec install -m 0644 {} $(DIST)/stage/doc/docs/ \;
	mkdir -p $(DIST)/stage/doc/docs/images
	find docs/images -maxdepth 1 -type f \( -name '*.png' -o -name '*.svg' \) -exec install -m 0644 {} $(DIST)/stage/doc/docs/images/ \;
	gzip -9 -n -c docs/elb-access-logger.8 > $(DIST)/stage/man8/elb-access-logger.8.gz
	RPM_VERSION='$(RPM_VERSION)' BIN='$(BIN)' STAGE='$(DIST)/stage' SOURCE_DATE_EPOCH='$(SOURCE_DATE_EPOCH)' \
		$(NFPM) package --packager rpm --config packaging/nfpm.yaml --target $(DIST)/
	rm -rf $(DIST)/stage

# $(DIST)/elb-access-logger-init.sh: the boot-time install script for a
# running cloud (docs/image.md), with the SHA-256 of the RPM `make rpm` built
# baked in. RPM_URL: where VMs fetch that RPM (default: its file:// URL
# here); optional PROPERTIES (a property file the script writes),
# HAPROXY_CFG (default: the servo's template), CA_BUNDLE (PEM for https).
RPM_FILE ?= $(DIST)/elb-access-logger-$(RPM_VERSION)-1.x86_64.rpm
init-script:
	RPM='$(RPM_FILE)' OUT='$(DIST)/elb-access-logger-init.sh' RPM_URL='$(RPM_URL)' \
		PROPERTIES='$(PROPERTIES)' HAPROXY_CFG='$(HAPROXY_CFG)' CA_BUNDLE='$(CA_BUNDLE)' \
		scripts/init-script.sh

# Tools the packaging tests use (Debian): rpm, systemd-analyze, haproxy, man,
# shellcheck, promtool (in Debian's prometheus package; on a host running
# systemd its install enables the Prometheus server too), and chromium
# (headless: the status page is checked in a real browser, agent/).
packaging-deps:
	@missing=""; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v man >/dev/null || missing="$$missing man-db"; \
	command -v rpm >/dev/null || missing="$$missing rpm"; \
	command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing="$$missing haproxy"; \
	command -v shellcheck >/dev/null || missing="$$missing shellcheck"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y --no-install-recommends $$missing || \
			{ apt-get update && apt-get install -y --no-install-recommends $$missing; }; \
	fi

# Static checks that every commit keeps clean: gofmt, go vet, and go.mod
# and go.sum exactly as `go mod tidy` leaves them.
check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt -l:"; echo "$$out"; exit 1; fi
	go vet ./...
	@go mod tidy -diff >/dev/null || { go mod tidy -diff; echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

# Unit tests only: no test bed needed.
unit:
	go test -race -count=1 ./...

# Every test, with the test bed started (and installed if missing) and
# nothing skipped: integration tests fail instead of skipping here. A bed
# this target starts is stopped when the tests end, pass or fail; a bed
# that was already running (make testbed-start, $$TESTBED_DIR) is left
# running, and the target says so. TEST_PKGS narrows the packages.
TEST_PKGS ?= ./...
test: check packaging-deps
	@if scripts/testbed.sh status >/dev/null 2>&1; then \
		echo "make test: the test bed was already running; it stays running (make testbed-stop stops it)"; \
	else \
		trap 'echo "make test: stopping the test bed it started"; scripts/testbed.sh stop >/dev/null 2>&1' EXIT; \
		scripts/testbed.sh start >/dev/null || exit 1; \
	fi; \
	set -a; eval "$$(scripts/testbed.sh env)"; set +a; \
	echo "ELB_TEST_DISALLOW_SKIP=1 go test -race -count=1 -timeout 20m $(TEST_PKGS)"; \
	ELB_TEST_DISALLOW_SKIP=1 go test -race -count=1 -timeout 20m $(TEST_PKGS)

demo:
	scripts/demo.sh

# UDP ingest benchmark against a bare socket reader and rsyslog, in one
# run, then the agent over each transport (UDP, unix, TCP), then (when the
# test bed is running) the upload of a 100 MB window against s3cmd and the
# end-to-end phase (sustained rates into radosgw, 20-second windows); writes
# docs/performance.md. BENCH_QUICK=1 for a smoke test, BENCH_TRANSPORTS=only,
# BENCH_UPLOAD=only or BENCH_E2E=only for one phase alone.
bench:
	scripts/bench.sh

# Fleet simulation against the running test bed (docs/performance.md,
# "Fleet"); FLEET_NODES=100 for a quick run.
bench-fleet:
	scripts/bench-fleet.sh

testbed-start:
	scripts/testbed.sh start

testbed-stop:
	scripts/testbed.sh stop

clean:
	rm -rf bin dist
