# runbook: build, test and demo targets. `make demo` and `make test` are the
# two commands README.md opens with; .ci/run calls `make test`.

GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
GOBIN     := $(shell $(GO) env GOPATH)/bin
GOLANGCI  := $(GOBIN)/golangci-lint
GOLANGCI_VERSION := v2.15.0
FUZZTIME  ?= 8s
FUZZMINIMIZETIME ?= 1s

.PHONY: all build test unit fuzz vet fmt-check demo bench lint generate clean pg-start pg-stop torture vulncheck bench-peers

all: build

# The bundled providers (plugins/NAME/cmd/runbook-provider-NAME) are built
# beside the runbook binary, the last place runbook looks for plugins.
PROVIDER_MAINS := $(wildcard plugins/*/cmd/runbook-provider-*/main.go)

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/runbook ./cmd/runbook
	@for main in $(PROVIDER_MAINS); do \
		dir=$$(dirname $$main); name=$$(basename $$dir); \
		echo "$(GO) build -o $(BIN)/$$name ./$$dir"; \
		$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/$$name ./$$dir || exit 1; \
	done

# The test command CI runs: static checks, every test, then the decoder fuzzer.
test: fmt-check vet unit fuzz

# The tests of the postgres backend use the throwaway cluster pg-start
# makes (through RUNBOOK_TEST_POSTGRES); without it they start their own.
unit:
	@conn=$$(PGPORT=$(PGPORT) .ci/pg-start $(PG_DIR)) || conn=; \
	echo "RUNBOOK_TEST_POSTGRES=$$conn"; \
	RUNBOOK_TEST_POSTGRES=$$conn $(GO) test -count=1 ./...; rc=$$?; \
	[ -z "$$conn" ] || .ci/pg-stop --rm $(PG_DIR); exit $$rc

# The torture tests at full length (internal/torture; make test runs them
# short): 100 SIGKILLs and resumes, plugin kills, fault storms, a full disk
# (the tmpfs case needs root). RUNBOOK_TORTURE_SEED=N replays a logged seed.
torture:
	RUNBOOK_TORTURE=full $(GO) test -count=1 -timeout 30m -v ./internal/torture/

# A throwaway PostgreSQL on 127.0.0.1:$(PGPORT) under $(PG_DIR), trusting
# loopback: `make pg-start` prints its connection string.
PG_DIR ?= $(or $(TMPDIR),/tmp)/runbook-pg-$(shell id -u)
PGPORT ?= 54329
pg-start:
	@PGPORT=$(PGPORT) .ci/pg-start $(PG_DIR)

pg-stop:
	@.ci/pg-stop --rm $(PG_DIR)

# Each fuzz target for FUZZTIME (go test -fuzz takes one target at a time):
# the decoder, the variable parser, the journal reader, the plan file
# reader. Minimisation is capped: the default 60 s stalls on the
# multi-kilobyte journal and plan seeds.
FUZZ_TARGETS := ./dsl:FuzzLoadValidate ./dsl:FuzzLoadValidateJSON ./dsl:FuzzParseVar \
	./internal/state/local:FuzzReadJournal ./runbook:FuzzReadPlanFile
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
		echo "$(GO) test -run '^$$' -fuzz '^$$name\$$' -fuzztime $(FUZZTIME) $$pkg"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$pkg; done

# govulncheck against the Go vulnerability database. Not part of make test:
# it needs https://vuln.go.dev (or GOVULNDB=file://MIRROR), which CI here
# cannot reach; it fails loudly rather than pass without checking.
GOVULNCHECK_VERSION := v1.9.0
GOVULNDB            ?= https://vuln.go.dev
vulncheck:
	$(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
	@$(GOBIN)/govulncheck -db $(GOVULNDB) ./... || { rc=$$?; \
		if [ $$rc -eq 3 ]; then echo "vulncheck: vulnerabilities reach the code (above)" >&2; \
		else echo "vulncheck: govulncheck failed (exit $$rc): cannot read the vulnerability database $(GOVULNDB)?" >&2; fi; \
		exit $$rc; }

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# The demo (.ci/demo) applies the local examples and the manager runbooks
# (against `runbook sim manager`) for real, shows their history, and plans
# the examples whose providers are not all built yet.
demo: build
	@BIN=$(BIN) .ci/demo

# The package benchmarks, then runbook-bench's whole-process table
# (docs/benchmarks.md); BENCH_FLAGS passes flags on (-shapes, -phases, -repeat).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) run ./cmd/runbook-bench $(BENCH_FLAGS)

# The same shapes run by the peers on PATH (terraform/tofu, ansible-playbook,
# task, make) beside runbook, with ratios. About an hour: Terraform and
# Ansible run into the 10-minute timeout at full size (-scale 0.1 finishes).
bench-peers:
	$(GO) run ./cmd/runbook-bench -peers -json bench-peers.json $(BENCH_FLAGS)

$(GOLANGCI):
	$(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)

lint: $(GOLANGCI)
	$(GOLANGCI) run ./...

# Regenerates plugins/proto/pluginv1 with pinned generators; needs protoc
# (apt-get install protobuf-compiler: 3.21.12 generated the committed code).
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
generate:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	PATH="$(GOBIN):$$PATH" $(GO) generate ./...

clean:
	rm -rf $(BIN)
