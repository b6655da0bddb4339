# SPDX-License-Identifier: GPL-2.0-only
#
# dm-vwcache top-level Makefile.  "make help" lists the targets.
#
# KVER selects the kernel to build for; KDIR its build tree.  By default
# KDIR is the running kernel's build directory when it exists, else the
# newest /lib/modules/*/build.  "make check" and "make demo" run in QEMU on
# every installed kernel (KVER=all) unless KVER names one (a prefix such as
# KVER=6.1 is enough).

VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

RUNNING_KVER := $(shell uname -r)
NEWEST_KVER := $(shell ls -d /lib/modules/*/build 2>/dev/null | \
		 sed -e 's|^/lib/modules/||' -e 's|/build$$||' | sort -V | tail -n 1)
ifneq ($(wildcard /lib/modules/$(RUNNING_KVER)/build),)
DEFAULT_KVER := $(RUNNING_KVER)
else
DEFAULT_KVER := $(NEWEST_KVER)
endif

# What the user asked for, before defaults: the test targets treat an unset
# KVER as "all".
USER_KVER := $(if $(filter command line environment,$(origin KVER)),$(KVER),)
ifeq ($(USER_KVER),all)
KVER := $(DEFAULT_KVER)
endif
KVER ?= $(DEFAULT_KVER)
KDIR ?= /lib/modules/$(KVER)/build
TEST_KVER := $(if $(USER_KVER),$(USER_KVER),all)

.PHONY: all modules tools unit check check-full check-debug demo bench install \
	dkms-install dkms-remove lint clean help deps

all: modules tools

help:
	@echo "targets: all modules tools check check-full check-debug demo bench install"
	@echo "         dkms-install dkms-remove lint unit clean"
	@echo "KVER=$(KVER) KDIR=$(KDIR)"

modules:
	@test -d "$(KDIR)" || { echo "no kernel build tree at $(KDIR):" \
		"install linux-headers-$(KVER) or set KDIR=" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

tools:
	$(MAKE) -C tools/dmcache-ctl

unit:
	$(MAKE) -C tests/unit run

deps:
	@tests/deps.sh check

check:
	@tests/run-check --kver "$(TEST_KVER)" --suite check

check-full:
	@tests/run-check --kver "$(TEST_KVER)" --suite full

# make check-debug: build once (cached in build/debug-kernel/) a kernel from
# Debian's linux-source-6.1 (KVER=6.12: linux-source-6.12) with KASAN,
# lockdep, kmemleak, UBSAN and more, and run the VM tests on it
# (TESTS="40-fio-verify 50-model" picks some).
check-debug:
	@VW_DEBUG_KVER="$(USER_KVER)" tests/debug/check $(TESTS)

demo:
	@tests/deps.sh demo
	@tests/vm/run --kver "$(if $(USER_KVER),$(USER_KVER),newest)" \
		--demo tests/vm/demo.sh

# make bench: dm-vwcache against the raw devices, dm-writecache, dm-cache and
# bcache in one QEMU boot per kernel (KVER, 6.1 by default); BENCH_QUICK=1,
# BENCH_DELAY=ms, BENCH_SYSTEMS, BENCH_WORKLOADS: see bench/run.
bench:
	@tests/deps.sh bench
	@bench/run --kver "$(if $(USER_KVER),$(USER_KVER),6.1)"

install: modules tools
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=updates modules_install
	depmod -a $(KVER)
	$(MAKE) -C tools/dmcache-ctl install DESTDIR=$(DESTDIR) \
		SBINDIR=$(SBINDIR) MANDIR=$(MANDIR)
	$(MAKE) -C tools/libvirt-hook install DESTDIR=$(DESTDIR)

dkms-install:
	scripts/dkms-stage /usr/src/dm-vwcache-$(VERSION)
	dkms add dm-vwcache/$(VERSION)
	dkms build dm-vwcache/$(VERSION) -k $(KVER)
	dkms install dm-vwcache/$(VERSION) -k $(KVER)

dkms-remove:
	dkms remove dm-vwcache/$(VERSION) --all
	rm -rf /usr/src/dm-vwcache-$(VERSION)

lint:
	@tests/lint.sh "$(KDIR)"

clean:
	-test -d "$(KDIR)" && $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C tools/dmcache-ctl clean
	$(MAKE) -C tests/unit clean
	rm -rf build
