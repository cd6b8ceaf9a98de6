# SPDX-License-Identifier: GPL-2.0-only
#
# nf-ftp-sym: symmetric FTP conntrack and NAT helpers.
#
#   make            build both modules against the newest installed headers
#   make demo       FTP through a NAT router in a VM, ftp-sym vs stock
#   make check      everything CI runs: deps, build, lint, unit, fuzz, VM tests
#
# Kbuild reads ./Kbuild; this file is only the wrapper around it.

# The running kernel may have no headers (or no module support at all), so
# default to the newest headers that are installed rather than uname -r.
KERNELRELEASE ?= $(shell ls -1d /lib/modules/*/build 2>/dev/null | \
			 sed 's|/lib/modules/||;s|/build||' | sort -V | tail -n 1)
KDIR ?= /lib/modules/$(KERNELRELEASE)/build

FUZZ_TIME ?= 30
FUZZ_SMOKE_TIME ?= 10
# Extra arguments for the VM runner, e.g. VM_ARGS="--kernel-dir DIR".
VM_ARGS ?=
# Selftests to run (default: all), e.g. TESTS=selftests/nf_ftp_sym_load.sh
TESTS ?=
DEPMOD ?= depmod
CACHE ?= $(CURDIR)/.cache

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# The CI build: extra warnings, and any warning fails it.
modules-strict:
	@mkdir -p $(CACHE)
	@rc=0; $(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules \
		> $(CACHE)/build.log 2>&1 || rc=$$?; cat $(CACHE)/build.log; \
	if [ $$rc -ne 0 ] || grep -qE 'warning:|error:' $(CACHE)/build.log; \
	then echo "build: failed or warned (W=1)"; exit 1; fi

modules_install install-modules: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=updates modules_install
	$(DEPMOD) -a $(KERNELRELEASE)

modules-clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean

clean: modules-clean
	$(MAKE) -C tests/unit clean
	$(MAKE) -C tests/fuzz clean
	$(MAKE) -C tools clean
	$(MAKE) -C selftests clean
	$(MAKE) -C bench clean

# DKMS: the sources dkms needs, and nothing else, under /usr/src.
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
DKMS_SOURCES := Makefile Kbuild dkms.conf $(wildcard nf_*.c) include
DKMS_DIR ?= $(DESTDIR)/usr/src/nf-ftp-sym-$(VERSION)

dkms-install:
	mkdir -p $(DKMS_DIR)
	cp -r $(DKMS_SOURCES) $(DKMS_DIR)/
	dkms add -m nf-ftp-sym -v $(VERSION)
	dkms build -m nf-ftp-sym -v $(VERSION) -k $(KERNELRELEASE)
	dkms install -m nf-ftp-sym -v $(VERSION) -k $(KERNELRELEASE)

dkms-remove:
	-dkms remove -m nf-ftp-sym -v $(VERSION) --all
	rm -rf $(DKMS_DIR)

# The same dkms steps in private trees under .cache/dkms, for the tests.
dkms-check:
	scripts/dkms-check.sh $(KERNELRELEASE)

# The ftp-sym tool (libnetfilter_conntrack).
tools:
	$(MAKE) -C tools

tools-check:
	$(MAKE) -C tools check

install: install-modules
	$(MAKE) -C tools install

deps:
	scripts/deps.sh

lint:
	scripts/lint.sh

unit:
	$(MAKE) -C tests/unit run

fuzz:
	$(MAKE) -C tests/fuzz run FUZZ_TIME=$(FUZZ_TIME)

fuzz-replay:
	$(MAKE) -C tests/fuzz replay

selftest-bin:
	$(MAKE) -C selftests all

selftest: modules tools selftest-bin
	NF_FTP_SYM_KO_DIR=$(CURDIR) selftests/vm/run $(VM_ARGS) -- \
		selftests/run $(TESTS)

# The second kernel: Debian 6.12 from bookworm-backports, downloaded and
# extracted (not installed) into .cache/kernels.
modules-6.12:
	scripts/other-kernel.sh build

selftest-6.12: tools selftest-bin
	scripts/other-kernel.sh selftest $(TESTS)

demo-6.12: tools
	scripts/other-kernel.sh demo

# docs/interop.md from a run of the interop selftest in the VM (the
# servers and clients it finds, their versions, the matrix, the quirks).
interop-doc: modules tools
	scripts/interop-doc.sh $(VM_ARGS)

# The debug kernel lane (KASAN, lockdep, kmemleak, UBSAN, DEBUG_LIST...):
# a 6.1 kernel from linux-source-6.1, built once into .cache/debug-kernel
# (30+ minutes on 2 cores, so not part of "make check"), then the
# selftests on it and a kmemleak scan.  See docs/debug-kernel.md.
debug-kernel:
	scripts/debug-kernel.sh build

selftest-debug: tools selftest-bin
	scripts/debug-kernel.sh selftest $(TESTS)

# Benchmarks (docs/performance.md): one VM boot, ftp-sym, the stock helper
# and no helper interleaved, JSON in bench/results.  QUICK=1: one short
# round (CI; proves the harness, numbers mean little).  ROUNDS=N, ONLY=
# data,control,scale,keepalive.  bench-parse: the parser in userspace.
QUICK ?=
ROUNDS ?=
ONLY ?=
BENCH_ARGS = $(if $(QUICK),--quick) $(if $(ROUNDS),--rounds $(ROUNDS)) \
	$(if $(ONLY),--only $(ONLY))

bench:
	bench/run $(BENCH_ARGS)

bench-6.12:
	bench/run --kernel 6.12 $(BENCH_ARGS)

bench-parse:
	$(MAKE) -C bench parse-run

# The README's first command: build, boot the VM once, run demo/run in it.
# Colour when our output is a terminal (inside the VM it always is one).
demo: deps
	$(MAKE) modules tools
	c=0; [ -t 1 ] && [ -z "$$NO_COLOR" ] && c=1; \
	NF_FTP_SYM_DEMO_COLOR=$$c NF_FTP_SYM_KO_DIR=$(CURDIR) \
		selftests/vm/run $(VM_ARGS) -- demo/run

# The demo as CI's smoke test: what a new user runs first must work.  Its
# exit status is the verdict; 4 (the modules cannot be loaded) fails too.
demo-check: modules tools
	NF_FTP_SYM_DEMO_COLOR=0 NF_FTP_SYM_KO_DIR=$(CURDIR) \
		selftests/vm/run $(VM_ARGS) --timeout 900 -- demo/run

# What CI runs, and the README's test command: the demo and every selftest
# on both kernels (scripts/check-kernels.sh: side by side, one VM each), a
# skip not declared expected for the kernel failing (selftests/run).
check: deps
	$(MAKE) modules-strict
	$(MAKE) lint
	$(MAKE) unit
	$(MAKE) fuzz-replay
	$(MAKE) fuzz FUZZ_TIME=$(FUZZ_SMOKE_TIME)
	$(MAKE) tools tools-check
	$(MAKE) dkms-check
	$(MAKE) modules selftest-bin
	scripts/check-kernels.sh
	$(MAKE) bench QUICK=1

.PHONY: all modules modules-strict modules_install install-modules clean \
	deps lint unit fuzz fuzz-replay selftest check tools tools-check \
	install modules-6.12 selftest-6.12 modules-clean dkms-install \
	dkms-remove dkms-check demo demo-check demo-6.12 debug-kernel \
	selftest-debug selftest-bin interop-doc bench bench-6.12 bench-parse
