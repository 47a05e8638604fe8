# elb-access-logger — see README.md.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
BIN     := bin/elb-access-logger

.PHONY: all build test unit check demo bench testbed-start testbed-stop clean

all: build

build:
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/elb-access-logger

# Static checks that every commit keeps clean.
check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt -l:"; echo "$$out"; exit 1; fi
	go vet ./...

# Unit tests only: no test bed needed.
unit:
	go test -race -count=1 ./...

# Every test, with the test bed started (and installed if missing) and
# nothing skipped: integration tests fail instead of skipping here.
test: check
	scripts/testbed.sh start >/dev/null
	set -a; eval "$$(scripts/testbed.sh env)"; set +a; \
	ELB_TEST_DISALLOW_SKIP=1 go test -race -count=1 -timeout 20m ./...

demo:
	scripts/demo.sh

# UDP ingest benchmark against a bare socket reader and rsyslog, in one
# run; writes docs/performance.md. BENCH_QUICK=1 for a smoke test.
bench:
	scripts/bench.sh

testbed-start:
	scripts/testbed.sh start

testbed-stop:
	scripts/testbed.sh stop

clean:
	rm -rf bin dist
