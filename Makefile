# SPDX-License-Identifier: GPL-2.0-only
#
# dm-vwcache top-level Makefile.  "make help" lists the targets.
#
# KVER selects the kernel to build for; KDIR its build tree.  By default
# KDIR is the running kernel's build directory when it exists, else the
# newest /lib/modules/*/build.  "make check" and "make demo" run in QEMU on
# every installed kernel (KVER=all) unless KVER names one (a prefix such as
# KVER=6.1 is enough).

# The one version: drivers/md/dm-vwcache-version.h (scripts/version).
VERSION := $(shell sed -n 's/^\#define[[:space:]]*VWC_VERSION[[:space:]]*"\(.*\)"/\1/p' \
	     drivers/md/dm-vwcache-version.h)
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
HOOKDIR ?= /etc/libvirt/hooks/qemu.d
MODLOADDIR ?= /etc/modules-load.d
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

.PHONY: all modules tools unit check check-full check-debug demo bench bench-core install \
	install-module install-tools install-dkms-src uninstall dkms-install \
	dkms-remove deb version-check print-version lint clean help deps

all: modules tools

help:
	@echo "targets: all modules tools check check-full check-debug demo bench bench-core install"
	@echo "         uninstall dkms-install dkms-remove deb version-check lint unit clean"
	@echo "KVER=$(KVER) KDIR=$(KDIR) VERSION=$(VERSION)"

print-version:
	@echo $(VERSION)

# Every copy of the version (dkms.conf, debian/changelog, man page, README)
# agrees with drivers/md/dm-vwcache-version.h.
version-check:
	@scripts/version check

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
# BENCH_DELAY=ms, BENCH_SYSTEMS, BENCH_WORKLOADS, BENCH_OLD=rev: see bench/run.
bench:
	@tests/deps.sh bench
	@bench/run --kver "$(if $(USER_KVER),$(USER_KVER),6.1)"

# make bench-core: the portable core's hit path in userspace, one thread
# against two (tests/unit/bench_core.c); no VM, a minute or so.
bench-core:
	@$(MAKE) -s -C tests/unit bench-core

# make install: the module for KVER (under updates/, loaded at boot through
# MODLOADDIR), dmcache-ctl with its man page and completion,
# dm-vwcache.service (boot and shutdown) and its metrics timer and service
# in SYSTEMDUNITDIR (none enabled), the libvirt hook.  DESTDIR is honoured everywhere (depmod runs only without it);
# make uninstall removes the same files.
install: install-module install-tools

install-module: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=updates modules_install
	install -D -m 0644 scripts/dm-vwcache.modules-load.conf \
		$(DESTDIR)$(MODLOADDIR)/dm-vwcache.conf
	$(if $(DESTDIR),,depmod -a $(KVER))

install-tools: tools
	$(MAKE) -C tools/dmcache-ctl install DESTDIR=$(DESTDIR) \
		SBINDIR=$(SBINDIR) MANDIR=$(MANDIR) BASHCOMPDIR=$(BASHCOMPDIR) \
		SYSTEMDUNITDIR=$(SYSTEMDUNITDIR)
	$(MAKE) -C tools/libvirt-hook install DESTDIR=$(DESTDIR) HOOKDIR=$(HOOKDIR)

# What the dm-vwcache-dkms package holds: the DKMS source tree and the
# modules-load.d file.
install-dkms-src:
	scripts/dkms-stage $(DESTDIR)/usr/src/dm-vwcache-$(VERSION)
	install -D -m 0644 scripts/dm-vwcache.modules-load.conf \
		$(DESTDIR)$(MODLOADDIR)/dm-vwcache.conf

uninstall:
	rm -f $(DESTDIR)/lib/modules/$(KVER)/updates/dm-vwcache.ko \
		$(DESTDIR)/lib/modules/$(KVER)/updates/dm-vwcache.ko.*
	rm -f $(DESTDIR)$(MODLOADDIR)/dm-vwcache.conf
	$(if $(DESTDIR),,test ! -d /lib/modules/$(KVER) || depmod -a $(KVER))
	$(MAKE) -C tools/dmcache-ctl uninstall DESTDIR=$(DESTDIR) \
		SBINDIR=$(SBINDIR) MANDIR=$(MANDIR) BASHCOMPDIR=$(BASHCOMPDIR) \
		SYSTEMDUNITDIR=$(SYSTEMDUNITDIR)
	rm -f $(DESTDIR)$(HOOKDIR)/dm-vwcache

# make dkms-install: registers this tree's version with DKMS, builds and
# installs it for KVER.  Any dm-vwcache already registered (an older
# version, or this one from an earlier tree) is removed first, so it works
# again after an update; it stops if the dm-vwcache-dkms package owns it.
dkms-install:
	scripts/dkms-local install $(VERSION) $(KVER)

dkms-remove:
	scripts/dkms-local remove $(VERSION)

# make deb: dm-vwcache-dkms and dmcache-ctl .debs in build/deb/
# (dpkg-buildpackage -us -uc -b on a copy of the tree; build dependencies
# installed by tests/deps.sh deb).
deb:
	@tests/deps.sh deb
	scripts/build-deb build/deb

lint:
	@tests/lint.sh "$(KDIR)"

clean:
	-test -d "$(KDIR)" && $(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C tools/dmcache-ctl clean
	$(MAKE) -C tests/unit clean
	rm -rf build
