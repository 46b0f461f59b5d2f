# mesosgate's build and test entry points. `make test` is the README's test
# command and what CI runs (.ci/run): it first installs what a fresh Debian
# machine lacks, then runs the whole suite.

GO        ?= go
# Packages Debian must provide for the real-peer tests: the openssl and curl
# command-line tools, a headless browser, NSS's certutil (to trust the
# internal CA in Chromium as the README tells users to), systemd's
# systemd-analyze (to check deploy/mesosgate.service), and two real web
# applications the e2e tests run as framework UIs (Syncthing's GUI and
# Prometheus's UI). The tests start each as a child process on a free
# loopback port with a data directory and configuration of their own, never
# the system service (on a host with systemd, Debian starts prometheus on
# port 9090 when it installs it: `systemctl disable --now prometheus` if
# unwanted).
DEB_TOOLS ?= openssl:openssl curl:curl chromium:chromium certutil:libnss3-tools systemd-analyze:systemd \
	syncthing:syncthing prometheus:prometheus
# Packages checked by a file they install rather than a command on the PATH:
# ZooKeeper's server (the zookeeper package, which brings Java), run by
# zookeeper/zktest for the ZooKeeper discovery and storage tests.
DEB_FILES ?= /usr/share/java/zookeeper.jar:zookeeper
TESTFLAGS ?= -race -timeout 30m
# The reverse proxies `make bench` measures mesosgate against (SPEC section
# 12, issue 17): nginx, HAProxy and Caddy for small JSONP over HTTPS (HTTP/1.1
# and HTTP/2) and the download, Apache httpd with mod_proxy_html (shipped in
# Debian's apache2, with libxml2) and nginx's sub_filter for rewriting; wrk
# and h2load (nghttp2-client) load them over HTTP/1.1 and HTTP/2.
# Only the benchmarks need them; the benchmarks run each as an unprivileged
# process on a loopback port with its own configuration, never the system
# service (on a host with systemd, Debian starts nginx and apache2 on port 80
# when it installs them: `systemctl disable --now nginx apache2 haproxy` if
# unwanted).
PEER_TOOLS ?= nginx:nginx caddy:caddy apache2:apache2 haproxy:haproxy wrk:wrk h2load:nghttp2-client
# BENCH and BENCHPKGS narrow `make bench`, e.g.
# make bench BENCH='JSONP|ListingPage' BENCHPKGS=./e2e. The side-by-side
# benchmarks of ./e2e end with one table of every ratio; their rounds and
# seconds per round come from MESOSGATE_BENCH_ROUNDS and _SECONDS, and
# MESOSGATE_BENCH_PROFILE=DIR profiles the gateway under load (e2e/load_bench_test.go).
BENCH      ?= .
BENCHPKGS  ?= ./...
BENCHFLAGS ?=

.PHONY: all build test deps vet bench clean

all: build

build:
	$(GO) build -o mesosgate .

# deps installs each missing tool; apt-get update runs once, and only when
# something is missing. Without root (and without password-less sudo) it says
# what to install and goes on: tests that need a missing peer then skip
# outside CI and fail under CI=true.
deps:
	@missing=""; \
	for pair in $(DEB_TOOLS); do \
		bin=$${pair%%:*}; pkg=$${pair##*:}; \
		command -v $$bin >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	for pair in $(DEB_FILES); do \
		file=$${pair%%:*}; pkg=$${pair##*:}; \
		[ -e $$file ] || missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else echo "make deps: missing Debian packages:$$missing (install them as root: apt-get install$$missing)"; exit 0; fi; \
	echo "make deps: installing$$missing"; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends$$missing

vet:
	$(GO) vet ./...

# The e2e package runs without the race detector: its gateway is a process
# of its own, built without it, so -race there would watch only the tests'
# code and chromedp, whose Target.domEvent reads a frame's nodes without the
# frame's lock (-race reports it now and then when a test attaches to a
# pop-up whose page changes). Every other package, the demo's in-process
# gateway and the simulator included, runs under -race.
# -count=1: the e2e tests build the gateway with `go build` in a child
# process, whose sources go test's cache does not see; a change to the
# server alone would otherwise replay the last result.
E2EFLAGS  ?= -count=1 -timeout 30m
test: deps vet
	$(GO) test $(TESTFLAGS) $$($(GO) list ./... | grep -v '/e2e$$')
	$(GO) test $(E2EFLAGS) ./e2e

# bench installs the test tools and the peers (deps with a longer list, so
# apt-get update still runs once and only when something is missing), with
# /usr/sbin on the PATH, where Debian puts nginx and apache2.
bench:
	@PATH="$$PATH:/usr/sbin:/sbin" $(MAKE) --no-print-directory deps DEB_TOOLS="$(DEB_TOOLS) $(PEER_TOOLS)"
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem $(BENCHFLAGS) $(BENCHPKGS)

clean:
	rm -f mesosgate
