#!/bin/sh
# Pool-wide lock acquisitions per I/O (issue 18 item 6): the pool's sysfs
# locks/ counts every acquisition of cache_lock, share_lock, pool_lock,
# commit_lock and wbbuf_lock.  Checked:
#  - the five files: numbers, read-only, growing with I/O;
#  - 4 KiB direct I/O at depth 8 over 2048 blocks of one VM device, each
#    phase ~20000 I/Os: read hits of dirty blocks, in-place writes to
#    dirty blocks (write hits, coalesced), read hits of clean blocks (after
#    a flush) take at most 0.1 acquisitions of all pool-wide locks
#    together per I/O, whatever the pool did meanwhile (ticks, commits)
#    included.  The module before took cache_lock at least once per hit
#    (to map it);
#  - with sequential_cutoff set, read hits still count and lock (the
#    streams' table is under cache_lock), data stays right;
#  - the data: what was written is read back, and is on the origin after
#    the flush.
# vwtest-disks: 1x64M 1x64M
# vwtest-mem: 512
# vwtest-timeout: 240
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
vw_load_module
zero_head "$ssd"
pool_create pool "$ssd" 4096 max_age 0 high_watermark 95
vm_create vm pool "$origin" guest-92
psys=$(dm_sys pool)/vwcache_pool
vsys=$(dm_sys vm)/vwcache

locks_sum() {
	_s=0
	for _l in cache_lock share_lock pool_lock commit_lock wbbuf_lock; do
		_v=$(cat "$psys/locks/$_l") || fail "no locks/$_l"
		case $_v in
		'' | *[!0-9]*) fail "locks/$_l is not a number: '$_v'" ;;
		esac
		_s=$((_s + _v))
	done
	echo "$_s"
}

stat_of() { cat "$vsys/stats/$1"; }

# same_8m DEV: the first 8 MiB of DEV (read direct) are /tmp/data.
same_8m() {
	dd if="$1" of=/tmp/got bs=1M count=8 iflag=direct 2>/dev/null &&
		cmp -s /tmp/data /tmp/got
}

# phase NAME STAT FIO-RW [FIO-ARGS...]: run ~20000 4 KiB I/Os over the
# first 8 MiB, and check the pool-wide lock acquisitions per STAT event.
phase() {
	_name=$1 _stat=$2 _rw=$3
	shift 3
	_l0=$(locks_sum) _h0=$(stat_of "$_stat")
	fio --name="$_name" --filename=/dev/mapper/vm --rw="$_rw" --bs=4k \
		--size=8M --io_size=80M --direct=1 --ioengine=libaio \
		--iodepth=8 --numjobs=1 --randrepeat=0 "$@" \
		--output=/tmp/fio.out >/dev/null 2>&1 ||
		fail "fio $_name: $(cat /tmp/fio.out)"
	_l1=$(locks_sum) _h1=$(stat_of "$_stat")
	_ios=$((_h1 - _h0)) _locks=$((_l1 - _l0))
	[ "$_ios" -ge 19000 ] || fail "$_name: $_ios $_stat, expected ~20480"
	_per=$(awk -v l="$_locks" -v n="$_ios" 'BEGIN { printf "%.4f", l / n }')
	echo "RESULT $_name locks_per_io=$_per locks=$_locks $_stat=$_ios"
	awk -v p="$_per" 'BEGIN { exit !(p <= 0.1) }' ||
		fail "$_name: $_per pool-wide lock acquisitions per I/O (at most 0.1)"
}

# --- the files -------------------------------------------------------------
for l in cache_lock share_lock pool_lock commit_lock wbbuf_lock; do
	[ -f "$psys/locks/$l" ] || fail "no $psys/locks/$l"
	echo 0 >"$psys/locks/$l" 2>/dev/null &&
		fail "locks/$l took a write"
done
c0=$(cat "$psys/locks/cache_lock")

# --- dirty data, then read hits of it ----------------------------------------
head -c 8388608 /dev/urandom >/tmp/data
dd if=/tmp/data of=/dev/mapper/vm bs=1M oflag=direct 2>/dev/null ||
	fail "write 8 MiB"
[ "$(cat "$psys/locks/cache_lock")" -gt "$c0" ] ||
	fail "cache_lock count did not grow with writes"
assert_eq "$(field 4 vm)" 2048 "dirty blocks after 8 MiB"
phase dirty-read-hits read_hits randread
same_8m /dev/mapper/vm || fail "data read back differs"

# --- sequential cutoff on: hits take the lock, data still right ----------------
assert_ok dmsetup message pool 0 set sequential_cutoff 1048576
l0=$(cat "$psys/locks/cache_lock") h0=$(stat_of read_hits)
dd if=/dev/mapper/vm of=/tmp/back bs=4k iflag=direct 2>/dev/null count=2048 ||
	fail "read with sequential_cutoff"
cmp -s /tmp/data /tmp/back || fail "data read back with sequential_cutoff differs"
assert_eq $(($(stat_of read_hits) - h0)) 2048 "read hits with sequential_cutoff"
[ $(($(cat "$psys/locks/cache_lock") - l0)) -ge 2048 ] ||
	fail "read hits with sequential_cutoff took fewer cache_locks than hits"
assert_ok dmsetup message pool 0 set sequential_cutoff 0

# --- in-place writes to dirty blocks -----------------------------------------
phase dirty-write-hits write_hits randwrite
assert_eq "$(field 4 vm)" 2048 "dirty blocks after rewrites"
dd if=/dev/mapper/vm of=/tmp/data bs=1M count=8 iflag=direct 2>/dev/null ||
	fail "read back rewrites"

# --- clean blocks: flush, then read hits ---------------------------------------
assert_ok dmsetup message vm 0 flush
wait_clean vm 60
same_8m "$origin" || fail "origin differs after flush"
assert_eq "$(field 3 vm)" 2048 "cached blocks after the flush"
phase clean-read-hits read_hits randread
same_8m /dev/mapper/vm || fail "clean read back differs"

dmsetup remove vm || fail "remove vm"
dmsetup remove pool || fail "remove pool"
