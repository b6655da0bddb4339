# shellcheck shell=sh
# lib.sh: helpers for the dm-vwcache guest tests (busybox ash).
# Source it first in every tests/vm/tests/*.sh:   . /lib/vwcache/lib.sh
#
#   log MSG...            print a progress line
#   arg KEY DEFAULT       the value of KEY=VALUE on the kernel command line
#                         (what the runner appended), else DEFAULT
#   fail MSG...           print "FAIL: MSG" and exit 1 (from a $(...)
#                         subshell it only leaves the subshell)
#   assert_eq A B WHAT    fail unless A = B (string compare)
#   assert_ne A B WHAT    fail if A = B
#   assert_ok CMD...      run CMD, fail if it exits non-zero
#   assert_fails CMD...   run CMD, fail if it exits zero
#   vw_load_module [ARGS] insmod /lib/vwcache/dm-vwcache.ko
#   vw_unload_module      rmmod dm_vwcache
#   kmod_load NAME [ARGS] modprobe a shipped kernel module (brd, null_blk,
#                         loop...) with parameters
#   disk N                /dev/vda for 0, /dev/vdb for 1, ...
#   sectors DEV           size of DEV in 512-byte sectors
#   dm_dev_of NAME        /dev/mapper/NAME, once the node exists (2 s max)
#   mk_null_blk NAME MiB  create a memory-backed null_blk through configfs;
#                         prints its /dev path (rm_null_blk NAME removes it)
#   byte_file OCT N       N bytes of the value OCT (octal: 252 is 0xaa) on
#                         stdout, in two processes (a loop of N/4096
#                         cats costs seconds under TCG)
#   scaled SECONDS        SECONDS times VW_TIMEOUT_SCALE (1, or more on the
#                         slow make check-debug kernel): for waits in tests
#   slow_kernel           true on such a kernel (rate checks adapt to it)
#
# init exports DM_DISABLE_UDEV=1 (dmsetup makes the /dev/mapper nodes itself),
# VWTEST (the test name) and VWDEMO (non-empty under run --demo).

VW_KO=/lib/vwcache/dm-vwcache.ko
VW_TIMEOUT_SCALE=${VW_TIMEOUT_SCALE:-1}
VW_MODNAME=dm_vwcache

log() { echo "[$VWTEST] $*"; }

arg() {
	for _a in $(cat /proc/cmdline); do
		case $_a in "$1"=*) echo "${_a#*=}"; return 0 ;; esac
	done
	echo "$2"
}

scaled() { echo $(($1 * VW_TIMEOUT_SCALE)); }

byte_file() { head -c "$2" /dev/zero | tr '\000' "\\$1"; }

# slow_kernel: true on a kernel whose timeouts are scaled (the debug one).
slow_kernel() { [ "$VW_TIMEOUT_SCALE" -gt 1 ]; }

fail() {
	echo "FAIL: $*"
	exit 1
}

assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-values differ}: got '$1', expected '$2'"
}

assert_ne() {
	[ "$1" != "$2" ] || fail "${3:-values equal}: both are '$1'"
}

assert_ok() {
	"$@" || fail "command failed (status $?): $*"
}

assert_fails() {
	if "$@"; then
		fail "command succeeded but should have failed: $*"
	fi
	return 0
}

vw_load_module() {
	insmod "$VW_KO" "$@" || fail "insmod $VW_KO failed"
	grep -q "^$VW_MODNAME " /proc/modules || fail "$VW_MODNAME not in /proc/modules"
}

vw_unload_module() {
	rmmod "$VW_MODNAME" || fail "rmmod $VW_MODNAME failed"
	! grep -q "^$VW_MODNAME " /proc/modules || fail "$VW_MODNAME still loaded"
}

kmod_load() {
	modprobe "$@" || fail "modprobe $* failed"
}

disk() {
	_l=$(echo abcdefghijklmnopqrstuvwxyz | cut -c$(($1 + 1)))
	[ -n "$_l" ] || fail "disk $1: out of range"
	echo "/dev/vd$_l"
}

sectors() {
	if command -v blockdev >/dev/null 2>&1; then
		blockdev --getsz "$1"
	else
		cat "/sys/class/block/$(basename "$(readlink -f "$1")")/size"
	fi
}

dm_dev_of() {
	_i=0
	while [ ! -b "/dev/mapper/$1" ]; do
		_i=$((_i + 1))
		[ $_i -le 20 ] || fail "/dev/mapper/$1 did not appear"
		sleep 0.1
	done
	echo "/dev/mapper/$1"
}

# mk_null_blk NAME SIZE_MiB [BLOCKSIZE [ATTR=VALUE]...]: memory-backed
# null_blk via configfs, with more of its configfs attributes if given
# (irqmode=2 completion_nsec=N: every I/O completes N ns after submission).
mk_null_blk() {
	grep -q '^null_blk ' /proc/modules || kmod_load null_blk nr_devices=0
	grep -q ' /sys/kernel/config ' /proc/mounts ||
		mount -t configfs configfs /sys/kernel/config || fail "mount configfs"
	_nb=$1 _d=/sys/kernel/config/nullb/$1
	mkdir "$_d" || fail "mk_null_blk: mkdir $_d"
	echo "$2" >"$_d/size"
	echo 1 >"$_d/memory_backed"
	echo "${3:-512}" >"$_d/blocksize"
	shift 3 2>/dev/null || shift $#
	for _a in "$@"; do
		echo "${_a#*=}" >"$_d/${_a%%=*}" || fail "mk_null_blk: $_a"
	done
	echo 1 >"$_d/power" || fail "mk_null_blk: power on $_nb"
	# Newer kernels name the disk after the directory, older nullb<index>.
	_i=0
	while :; do
		for _n in "$_nb" "nullb$(cat "$_d/index")"; do
			[ -b "/dev/$_n" ] && { echo "/dev/$_n"; return 0; }
		done
		_i=$((_i + 1))
		[ $_i -le 20 ] || fail "null_blk $_nb did not appear"
		sleep 0.1
	done
}

rm_null_blk() {
	echo 0 >"/sys/kernel/config/nullb/$1/power"
	rmdir "/sys/kernel/config/nullb/$1"
}
