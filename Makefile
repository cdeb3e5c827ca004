# sparkgate — `make run` serves Livy's API on the embedded store; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
PYSPARK_VERSION ?= 4.3.0
PYSPARK35_VERSION ?= 3.5.9
PYLIVY_VERSION ?= 0.8.0
VENV ?= .venv
VENV35 ?= .venv35
# The Python clients the auth tests drive (Kerberos needs MIT's headers to build gssapi and krb5).
VENV_CLIENTS ?= .venv-clients
CLIENTS_PACKAGES := livy==$(PYLIVY_VERSION) requests-kerberos==0.15.0 requests-gssapi==1.4.0 pyspnego==0.12.4 gssapi==1.12.0 krb5==0.10.0 sparkmagic==0.23.0
CLIENTS_ENV = SPARKGATE_CLIENTS_PYTHON=$(CURDIR)/$(VENV_CLIENTS)/bin/python
GO ?= go
BIN := bin/sparkgate
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/sparkgate/sparkgate/internal/version.Version=$(VERSION)

# spark_home(venv): the Spark distribution that pip's pyspark package carries.
spark_home = $(shell $(1)/bin/python -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
SPARK_ENV = SPARK_HOME=$(call spark_home,$(VENV)) PYSPARK_PYTHON=$(CURDIR)/$(VENV)/bin/python
SPARK35_ENV = SPARK_HOME=$(call spark_home,$(VENV35)) PYSPARK_PYTHON=$(CURDIR)/$(VENV35)/bin/python

# The YARN fixture (test/minicluster: Hadoop's MiniYARNCluster), built by make yarn-deps into
# .cache/yarn with its own Maven repository in .cache/m2; YARN_ENV tells the tests its classpath.
YARN_DIR := .cache/yarn
YARN_SRC := test/minicluster/pom.xml $(shell find test/minicluster/src -type f 2>/dev/null)
YARN_ENV = SPARKGATE_YARN_CLASSPATH='$(CURDIR)/$(YARN_DIR)/minicluster.jar:$(CURDIR)/$(YARN_DIR)/lib/*'

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check pyspark==$(PYSPARK_VERSION) livy==$(PYLIVY_VERSION)
	touch $@

$(VENV35)/.installed:
	$(PYTHON) -m venv $(VENV35)
	$(VENV35)/bin/pip install --quiet --disable-pip-version-check pyspark==$(PYSPARK35_VERSION) livy==$(PYLIVY_VERSION)
	touch $@

.PHONY: yarn-deps
yarn-deps: $(YARN_DIR)/.built ## build the MiniYARNCluster test fixture into $(YARN_DIR) (Hadoop 3.5.0 from Maven)

$(YARN_DIR)/.built: $(YARN_SRC)
	rm -rf $(YARN_DIR)/lib
	mvn -B -q -Dstyle.color=never -f test/minicluster/pom.xml -Dmaven.repo.local=$(CURDIR)/.cache/m2 -Dsparkgate.build.dir=$(CURDIR)/$(YARN_DIR) package
	touch $@

.PHONY: deps
deps: $(VENV)/.installed yarn-deps ## install Go modules, and pyspark $(PYSPARK_VERSION) and the livy client into .venv
	$(GO) mod download

# The servers the auth tests start themselves (OpenLDAP's slapd, MIT's KDC and kinit) and what
# the Kerberos clients build against, from Debian's packages.
TEST_PACKAGES := slapd krb5-kdc krb5-admin-server krb5-user libkrb5-dev chromium
.PHONY: test-services
test-services: ## install what the auth and browser tests run: slapd, an MIT KDC and Chromium (Debian)
	@test -x /usr/sbin/slapd -a -x /usr/sbin/krb5kdc -a -x /usr/sbin/kadmin.local -a -x /usr/bin/kinit -a -x /usr/bin/krb5-config -a -x /usr/bin/chromium || { \
	  echo "installing $(TEST_PACKAGES) from Debian's packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEST_PACKAGES); }

$(VENV_CLIENTS)/.installed: | test-services
	$(PYTHON) -m venv $(VENV_CLIENTS)
	$(VENV_CLIENTS)/bin/pip install --quiet --disable-pip-version-check $(CLIENTS_PACKAGES)
	touch $@

.PHONY: build
build: ## build bin/sparkgate
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/sparkgate

.PHONY: run
run: deps build ## serve on 127.0.0.1:8998 with the embedded store in ./data and examples/ allowed
	$(SPARK_ENV) ./$(BIN) serve --data-dir ./data --local-dir-whitelist $(CURDIR)/examples $(ARGS)

.PHONY: test
test: deps yarn-deps test-services $(VENV_CLIENTS)/.installed build ## run every test (unit, PostgreSQL, LDAP, Kerberos, browser, real-Spark and YARN integration; -race)
	$(SPARK_ENV) $(YARN_ENV) $(CLIENTS_ENV) SPARKGATE_REQUIRE_SPARK=1 SPARKGATE_REQUIRE_POSTGRES=1 SPARKGATE_REQUIRE_LDAP=1 SPARKGATE_REQUIRE_KERBEROS=1 SPARKGATE_REQUIRE_BROWSER=1 scripts/with-test-postgres $(GO) test -race -count=1 -timeout 30m ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=5s

# Every fuzz target: each request decoder (clients' and drivers', uploads), the path resolver against Spark's reading of a
# path, the log index. make test runs each briefly; make fuzz FUZZTIME=10m runs them longer.
FUZZTIME ?= 1m
FUZZ_TARGETS := FuzzCreateBodies:./internal/livy/ FuzzStatementBodies:./internal/livy/ FuzzRequestParameters:./internal/api/ \
	FuzzUploads:./internal/api/ FuzzDriverBodies:./internal/interactive/ FuzzUploadName:./internal/interactive/ \
	FuzzResolve:./internal/launcher/ FuzzLines:./internal/logfile/
.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME (1m) each
	@for t in $(FUZZ_TARGETS); do \
	  echo "fuzz $${t%%:*} ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$${t%%:*}$$" -fuzztime $(FUZZTIME) "$${t#*:}" || exit 1; \
	done

.PHONY: test-spark35
test-spark35: $(VENV35)/.installed yarn-deps test-services $(VENV_CLIENTS)/.installed build ## run the integration tests on pyspark $(PYSPARK35_VERSION)
	$(SPARK35_ENV) $(YARN_ENV) $(CLIENTS_ENV) SPARKGATE_REQUIRE_SPARK=1 SPARKGATE_REQUIRE_LDAP=1 SPARKGATE_REQUIRE_KERBEROS=1 $(GO) test -race -count=1 -timeout 30m ./test/...

.PHONY: openapi
openapi: ## write internal/api/openapi.json (what /openapi.json serves) from internal/api/openapi.yaml
	SPARKGATE_UPDATE_OPENAPI=1 $(GO) test -count=1 -run '^TestOpenAPIJSONIsTheYAMLDocument$$' ./internal/api/

.PHONY: vet
vet: ## go vet and gofmt
	$(GO) vet ./...
	@test -z "$$(gofmt -l cmd internal test)" || (gofmt -l cmd internal test; exit 1)

.PHONY: bench
bench: deps build ## benchmark the server (stub spark-submit) and POST-to-success on real Spark
	$(SPARK_ENV) $(GO) run ./bench/loadgen -bin ./$(BIN) $(ARGS)

.PHONY: bench-sessions
bench-sessions: deps build ## benchmark interactive sessions on real Spark (create to idle, 1+1, memory)
	$(SPARK_ENV) $(GO) run ./bench/loadgen -bin ./$(BIN) -sessions-only $(ARGS)
	$(GO) test -run '^$$' -bench StatementRoundTrip -benchtime 300x -count 3 ./internal/api/

.PHONY: bench-follow
bench-follow: build ## benchmark following 0, 200 and 1000 applications on YARN and on Spark standalone (stub cluster managers): RSS, CPU, requests
	$(GO) run ./bench/follow -bin ./$(BIN) -cluster yarn $(ARGS)
	$(GO) run ./bench/follow -bin ./$(BIN) -cluster standalone $(ARGS)

.PHONY: bench-yarn
bench-yarn: deps build ## benchmark POST-to-appId on the test YARN (cluster mode) against spark-submit by hand
	$(SPARK_ENV) $(YARN_ENV) $(GO) test -run '^$$' -bench YarnSubmission -benchtime 5x -timeout 30m ./test/integration/

.PHONY: bench-standalone
bench-standalone: deps build ## benchmark POST-to-appId on a test Spark standalone cluster (cluster mode) against spark-submit by hand
	$(SPARK_ENV) $(GO) test -run '^$$' -bench StandaloneSubmission -benchtime 5x -timeout 30m ./test/integration/

.PHONY: bench-pg
bench-pg: deps build ## benchmark two instances on a throwaway PostgreSQL (replayed PUT, creates, failover)
	scripts/with-test-postgres sh -c '$(GO) run ./bench/loadgen -bin ./$(BIN) -pg "$$SPARKGATE_TEST_POSTGRES_URL" $(ARGS)'

.PHONY: clean
clean: ## remove build output (not ./data)
	rm -rf bin

N ?= 200
.PHONY: soak
soak: build ## SIGKILL the server N times during idempotent creates (stub spark-submit), alone then as one of two instances on PostgreSQL; count duplicates and losses
	set -o pipefail; SPARKGATE_SOAK_KILLS=$(N) $(GO) test -race -count=1 -timeout 60m -run 'TestFaultInjectionStub' -v ./test/integration/ | grep -E 'fault injection|_test.go|^(---|ok|FAIL)'
	$(MAKE) soak-fleet N=$(N)

.PHONY: soak-yarn
soak-yarn: yarn-deps build ## SIGKILL the server N times among idempotent creates on YARN in cluster mode (real Spark); count duplicates and losses
	set -o pipefail; $(SPARK_ENV) $(YARN_ENV) SPARKGATE_SOAK_YARN_KILLS=$(N) $(GO) test -race -count=1 -timeout 60m -run 'TestFaultInjectionYarn' -v ./test/integration/ | grep -E 'fault injection|_test.go|^(---|ok|FAIL)'

.PHONY: soak-statements
soak-statements: $(VENV)/.installed build ## SIGKILL the server N times while a client runs keyed statements on a real pyspark session; count duplicate and lost runs
	set -o pipefail; $(SPARK_ENV) SPARKGATE_SOAK_STATEMENT_KILLS=$(N) $(GO) test -race -count=1 -timeout 60m -run 'TestFaultInjectionKeyedStatements' -v ./test/integration/ | grep -E 'fault injection|_test.go|^(---|ok|FAIL)'

.PHONY: soak-fleet
soak-fleet: build ## as soak, with two instances on a throwaway PostgreSQL, one SIGKILLed each round
	set -o pipefail; SPARKGATE_SOAK_KILLS=$(N) scripts/with-test-postgres $(GO) test -race -count=1 -timeout 60m -run 'TestFaultInjectionFleet' -v ./test/integration/ | grep -E 'fault injection|_test.go|^(---|ok|FAIL)'
