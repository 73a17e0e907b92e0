# kubectl-certdoctor. `make install` puts the plugin where kubectl finds it;
# `make test` runs everything CI runs (vet, unit tests, the real-cluster e2e suite, and the
# release archives installed with the real krew).
GO      ?= go
BINDIR  ?= $(shell $(GO) env GOPATH)/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X github.com/certdoctor/kubectl-certdoctor/pkg/cmd.version=$(VERSION) -X github.com/certdoctor/kubectl-certdoctor/pkg/cmd.commit=$(COMMIT) -X github.com/certdoctor/kubectl-certdoctor/pkg/cmd.date=$(DATE)

.PHONY: build install test deps unit vet e2e release-snapshot krew-manifest release-test bench clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/kubectl-certdoctor ./cmd/kubectl-certdoctor

install:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BINDIR)/kubectl-certdoctor ./cmd/kubectl-certdoctor
	@echo "installed $(BINDIR)/kubectl-certdoctor (kubectl finds it when $(BINDIR) is on PATH)"

test: vet deps unit fuzz e2e release-test

# The Debian packages the tests use (promtool for the unit tests, the e2e cluster's), once:
# a dpkg check when they are all there.
deps:
	hack/e2e/install-deps.sh

vet:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/e2e/...

unit:
	$(GO) test -count=1 ./...

# Every fuzz target (go test -list '^Fuzz'), one at a time, for FUZZTIME each (10s).
fuzz:
	hack/fuzz.sh

# Brings up a real one-node cluster (kube-apiserver, etcd, controller-manager, kubelet built
# from the Kubernetes module and cached), runs test/e2e against it, and tears it down.
e2e:
	hack/e2e/run.sh

# Every os/arch archive and checksums.txt in dist/, as a release builds them (goreleaser
# check, then release --snapshot --clean); krew-manifest renders dist/certdoctor.yaml from them.
release-snapshot:
	hack/release/snapshot.sh

krew-manifest:
	$(GO) run ./hack/release/krewmanifest -checksums dist/checksums.txt -o dist/certdoctor.yaml

# The snapshot archives installed, run and uninstalled with the real krew and kubectl.
release-test:
	hack/release/test.sh

bench:
	hack/bench.sh

clean:
	rm -rf bin dist
