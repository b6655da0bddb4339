#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# deps.sh [check|demo|bench|lint|debug|deb]: make sure this machine has what the
# target needs.  As root, missing Debian packages are installed with
# apt-get (the 6.12 kernel comes from bookworm-backports, whose apt source
# is added if absent).  Otherwise it names exactly what to install, and
# fails.
set -uo pipefail

what=${1:-check}
backports_list=/etc/apt/sources.list.d/dm-vwcache-backports.list
missing=()
apt_updated=

# need PACKAGE TEST...: PACKAGE is missing when the test command fails.
need() {
	local pkg=$1
	shift
	"$@" >/dev/null 2>&1 || missing+=("$pkg")
}

have_cmd() { command -v "$1"; }
have_file() { test -e "$1"; }

# A kernel series is there when one of its versions has both the image
# (to boot in QEMU) and the build tree (to build our module).
have_kernel() {
	local series=$1 d v
	for d in /lib/modules/"$series".*; do
		v=${d#/lib/modules/}
		[ -e "$d/build/Makefile" ] && [ -e "/boot/vmlinuz-$v" ] && return 0
	done
	return 1
}

apt_update() {
	[ -n "$apt_updated" ] && return 0
	apt-get update -q >/dev/null || { echo "deps: apt-get update failed" >&2; return 1; }
	apt_updated=1
}

backports_source() {
	grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
	echo "deb http://deb.debian.org/debian bookworm-backports main" >"$backports_list"
	apt_updated=
}

# Versioned image and headers package names of the newest 6.12 kernel in
# bookworm-backports ("linux-image-6.12.X+debN-amd64 ...").
backports_kernel_pkgs() {
	local ver
	ver=$(apt-cache madison linux-image-amd64 | awk '$3 ~ /^6\.12.*bpo/ { print $3; exit }')
	[ -n "$ver" ] || return 1
	apt-cache depends "linux-image-amd64=$ver" "linux-headers-amd64=$ver" |
		awk '/Depends: linux-(image|headers)-6\.12/ { print $2 }'
}

# make deb: dpkg-buildpackage with debhelper and dh-dkms.  The package
# tests of make check (tests/pkg/) also want lintian, and debootstrap for
# the chroot test.
collect_deb() {
	need libdevmapper-dev have_file /usr/include/libdevmapper.h
	need dpkg-dev have_cmd dpkg-buildpackage
	need debhelper have_cmd dh
	need dh-dkms have_cmd dh_dkms
	if [ "$what" = check ]; then
		need lintian have_cmd lintian
		need debootstrap have_cmd debootstrap
	fi
}

collect() {
	need gcc have_cmd gcc
	need make have_cmd make
	need libc6-dev have_file /usr/include/stdio.h
	[ "$what" = deb ] && { collect_deb; return; }
	[ "$what" = lint ] && { need perl have_cmd perl; need linux-source-6.1 have_file /usr/src/linux-source-6.1.tar.xz; return; }
	need qemu-system-x86 have_cmd qemu-system-x86_64
	# qcow2 disks larger than a sparse file can be (test 88's 16 TiB).
	need qemu-utils have_cmd qemu-img
	need busybox-static have_file /bin/busybox
	need fio have_cmd fio
	need dmsetup have_cmd dmsetup
	need kmod have_cmd modprobe
	need cpio have_cmd cpio
	need xz-utils have_cmd xz
	need libdevmapper-dev have_file /usr/include/libdevmapper.h
	need pkg-config have_cmd pkg-config
	need libxml2-utils have_cmd xmllint
	if [ "$what" = check ]; then
		need dkms have_cmd dkms
		need clang have_cmd clang
		collect_deb
		# mkfs and fsck in the guest: tests 67 and 68.
		need e2fsprogs have_file /sbin/e2fsck
		need xfsprogs have_file /sbin/xfs_repair
	fi
	if [ "$what" = debug ]; then
		# make check-debug builds a kernel from Debian's source package
		# (linux-source-6.12 is in bookworm-backports).
		debug_src=linux-source-${VW_DEBUG_KVER:-6.1}
		need "$debug_src" have_file "/usr/src/$debug_src.tar.xz"
		need bc have_cmd bc
		need flex have_cmd flex
		need bison have_cmd bison
		need libelf-dev have_file /usr/include/libelf.h
		need libssl-dev have_file /usr/include/openssl/ssl.h
		need dwarves have_cmd pahole
		need xz-utils have_cmd xz
	fi
	if [ "$what" = bench ]; then
		need gnuplot-nox have_cmd gnuplot
		need python3 have_cmd python3
		# make-bcache goes into the guest's initramfs to format bcache.
		need bcache-tools have_file /usr/sbin/make-bcache
	fi
	have_kernel 6.1 || missing+=(linux-image-amd64 linux-headers-amd64)
	if [ "$what" != demo ] && [ "$what" != bench ] && [ "$what" != debug ] && ! have_kernel 6.12; then
		missing+=(@backports-6.12)
	fi
	# /bin/busybox may be the dynamic one: the initramfs needs it static.
	if [ -e /bin/busybox ] && ! file_is_static /bin/busybox; then
		missing+=(busybox-static)
	fi
}

file_is_static() {
	! LC_ALL=C ldd "$1" >/dev/null 2>&1
}

describe() {
	local p out=()
	for p in "${missing[@]}"; do
		if [ "$p" = @backports-6.12 ]; then
			out+=("linux-image-amd64/bookworm-backports" "linux-headers-amd64/bookworm-backports")
		else
			out+=("$p")
		fi
	done
	echo "${out[*]}"
}

install() {
	local pkgs=() kpkgs=() p
	apt_update || return 1
	for p in "${missing[@]}"; do
		# Both come from bookworm-backports.
		if [ "$p" = linux-source-6.12 ] || [ "$p" = @backports-6.12 ]; then
			backports_source
			apt_update || return 1
		fi
		if [ "$p" = @backports-6.12 ]; then
			mapfile -t kpkgs < <(backports_kernel_pkgs)
			[ "${#kpkgs[@]}" -gt 0 ] || { echo "deps: no 6.12 kernel in bookworm-backports" >&2; return 1; }
			pkgs+=("${kpkgs[@]}")
		else
			pkgs+=("$p")
		fi
	done
	echo "deps: installing ${pkgs[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${pkgs[@]}" >/tmp/dm-vwcache-apt.log 2>&1 || {
		tail -n 20 /tmp/dm-vwcache-apt.log >&2
		echo "deps: apt-get install failed (log: /tmp/dm-vwcache-apt.log)" >&2
		return 1
	}
}

collect
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing for 'make $what': $(describe)" >&2
	echo "deps: run 'make $what' as root to install them, or: apt-get install $(describe)" >&2
	[[ " ${missing[*]} " == *" @backports-6.12 "* || " ${missing[*]} " == *" linux-source-6.12 "* ]] &&
		echo "deps: (the 6.12 kernel and its source need 'deb http://deb.debian.org/debian bookworm-backports main' in an apt source)" >&2
	exit 1
fi
install || exit 1
missing=()
collect
if [ "${#missing[@]}" -ne 0 ]; then
	echo "deps: still missing after apt-get: $(describe)" >&2
	exit 1
fi
exit 0
