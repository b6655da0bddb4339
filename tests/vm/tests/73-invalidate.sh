#!/bin/sh
# The VM message "invalidate": every clean block of the VM goes, its dirty
# blocks stay.  Data written through the cache and written back (clean
# cached blocks) is then changed on the origin behind the cache: the VM
# device reads the stale cached copy (the problem), and after "invalidate"
# the origin's new data; the cached count falls to the dirty count, the
# dirty blocks read back as written and are written back intact.  Bad
# arguments are refused.  Invalidate right after read hits leaves nothing
# cached.  Then "invalidate" and "flush" in a loop while
# the same VM device writes with verify (in-place rewrites of blocks whose
# writeback just completed, first writes in flight) and reads a clean
# region with verify (read hits and promotions in flight): no data lost,
# no stale read, no warning in the kernel log.
# vwtest-disks: 1x256M 1x256M
# vwtest-timeout: 300
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
vw_load_module
zero_head "$ssd"
pool_create pool "$ssd" 4096
vm_create vm1 pool "$origin" guest-1.vda

rd() { # DEV FIRST_BLOCK COUNT: 4 KiB blocks, direct
	dd if="$1" bs=4096 skip="$2" count="$3" iflag=direct 2>/dev/null
}
wr() { # FILE DEV FIRST_BLOCK
	dd if="$1" of="$2" bs=4096 seek="$3" oflag=direct conv=notrunc,fsync \
		2>/dev/null || fail "write $1 to $2 at block $3"
}
sum() { md5sum | cut -d' ' -f1; }

head -c $((64 * 4096)) /dev/urandom >/tmp/a
head -c $((16 * 4096)) /dev/urandom >/tmp/b
head -c $((64 * 4096)) /dev/urandom >/tmp/c

# 64 blocks through the cache, written back: 64 clean cached blocks.
wr /tmp/a /dev/mapper/vm1 0
assert_ok dmsetup message vm1 0 flush
wait_clean vm1
assert_eq "$(field 3 vm1)" 64
# 16 more, dirty (writeback stays below the watermark).
wr /tmp/b /dev/mapper/vm1 64
assert_eq "$(field 4 vm1)" 16
assert_eq "$(field 3 vm1)" 80
log "before: $(dmsetup status vm1)"

# The origin changes behind the cache: the clean copies are stale.
wr /tmp/c "$origin" 0
assert_eq "$(rd /dev/mapper/vm1 0 64 | sum)" "$(sum </tmp/a)"
log "stale before invalidate: the VM device reads the old cached data"

assert_ok dmsetup message vm1 0 invalidate
log "after: $(dmsetup status vm1)"
assert_eq "$(field 3 vm1)" 16
assert_eq "$(field 4 vm1)" 16
assert_eq "$(cat "$(dm_sys vm1)/vwcache/cached_blocks")" 16
assert_eq "$(rd /dev/mapper/vm1 0 64 | sum)" "$(sum </tmp/c)"
assert_eq "$(rd /dev/mapper/vm1 64 16 | sum)" "$(sum </tmp/b)"

expect_msg_refused vm1 invalidate now
expect_msg_refused vm1 invalidate 1 2
expect_msg_refused vm1 invalidat

# The dirty blocks were kept intact: written back, the origin holds them.
assert_ok dmsetup message vm1 0 flush
wait_clean vm1
assert_eq "$(rd "$origin" 64 16 | sum)" "$(sum </tmp/b)"
assert_eq "$(rd "$origin" 0 64 | sum)" "$(sum </tmp/c)"
# Invalidating a VM with nothing dirty empties it.
assert_ok dmsetup message vm1 0 invalidate
assert_eq "$(field 3 vm1)" 0

# Right after read hits: their completions give their pins back without
# the pool lock, applied later (dm-vwcache-unpin.h); invalidate sees none
# of them, so every clean block goes at once, not at the next tick.
for i in 1 2 3 4 5; do
	rd /dev/mapper/vm1 0 16 >/dev/null # misses: promoted
	wait_field vm1 3 16 10 "16 reads not promoted"
	h=$(field 6 vm1)
	rd /dev/mapper/vm1 0 16 >/dev/null # hits
	dmsetup message vm1 0 invalidate || fail "invalidate $i"
	assert_eq "$(field 3 vm1)" 0
	assert_eq "$(field 6 vm1)" $((h + 16))
done

# ---- live: invalidate and flush in a loop during verified I/O ----------
# A clean region (32-48 MiB) for the reader: written, then written back.
fio --name=region --filename=/dev/mapper/vm1 --direct=1 --ioengine=psync \
	--rw=write --bs=4k --offset=32m --size=16m --verify=crc32c \
	--do_verify=0 --randseed=7 --output=/tmp/fio-w.out ||
	{ cat /tmp/fio-w.out; fail "region write"; }
assert_ok dmsetup message vm1 0 flush
wait_clean vm1

rm -f /tmp/stop
(
	n=0
	while [ ! -e /tmp/stop ]; do
		dmsetup message vm1 0 invalidate || { echo fail >/tmp/inv-failed; break; }
		dmsetup message vm1 0 flush
		n=$((n + 1))
		sleep 0.05
	done
	echo "$n" >/tmp/inv-count
) &
loop=$!

# Reads of the clean region, verified, many times over: read hits, and
# promotions of hot blocks, in flight across invalidations.
fio --name=region --filename=/dev/mapper/vm1 --direct=1 --ioengine=psync \
	--rw=write --bs=4k --offset=32m --size=16m --verify=crc32c \
	--verify_only=1 --loops=6 --randseed=7 --output=/tmp/fio-r.out &
reader=$!
# Writes with verify behind them, three passes over 8 MiB.
fio --name=rw --filename=/dev/mapper/vm1 --direct=1 --ioengine=psync \
	--rw=randwrite --bs=4k --offset=64m --size=8m --loops=3 \
	--verify=crc32c --verify_fatal=1 --verify_backlog=32 --do_verify=1 \
	--randseed=11 --output=/tmp/fio-rw.out
rw_rc=$?
wait $reader
r_rc=$?
touch /tmp/stop
wait $loop
[ -e /tmp/inv-failed ] && fail "invalidate refused during I/O"
log "invalidations during I/O: $(cat /tmp/inv-count); $(dmsetup status vm1)"
[ "$rw_rc" = 0 ] && grep -q "err= 0" /tmp/fio-rw.out ||
	{ cat /tmp/fio-rw.out; fail "writes lost across invalidate"; }
[ "$r_rc" = 0 ] && grep -q "err= 0" /tmp/fio-r.out ||
	{ cat /tmp/fio-r.out; fail "wrong reads across invalidate"; }
[ "$(cat /tmp/inv-count)" -gt 5 ] || fail "too few invalidations"

# What the VM device reads now (cache and origin) is what the origin holds
# after a last writeback, read through the VM device with nothing cached.
before=$(rd /dev/mapper/vm1 16384 2048 | sum)
assert_ok dmsetup message vm1 0 flush
wait_clean vm1
assert_ok dmsetup message vm1 0 invalidate
assert_eq "$(field 3 vm1)" 0
assert_eq "$(rd /dev/mapper/vm1 16384 2048 | sum)" "$before"
assert_eq "$(rd "$origin" 16384 2048 | sum)" "$before"
dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"
log "ok"
