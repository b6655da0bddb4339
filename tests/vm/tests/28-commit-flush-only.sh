#!/bin/sh
# A FLUSH after writes that change no block's state (rewrites of dirty
# blocks) is one flush of the SSD and writes nothing else: no metadata
# page, no superblock (dm-vwcache-io.c, vwc_map_flush(); and a commit
# with no page to write is its flush alone, dm-vwcache-commit.c, step 5).
# A FLUSH after a write that makes a new dirty block commits: its entry
# page and the superblock.  Counted in the SSD's sectors written and
# flushes; the data reads back right after the pool is loaded again.
# vwtest-disks: 1x64M 1x64M
# vwtest-timeout: 120
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
org=$(disk 1)
dev=/dev/mapper/vm1
ssd_stat=/sys/block/$(basename "$ssd")/stat

vw_load_module
zero_head "$ssd"
# No commit but the FLUSHes' own, no writeback.
set -- high_watermark 100 low_watermark 90 max_age 0 commit_interval 60000
pool_create pool "$ssd" 4096 "$@"
vm_create vm1 pool "$org" guest-1
written() { awk '{ print $7 }' "$ssd_stat"; }
flushes() { awk '{ print $16 }' "$ssd_stat"; }
commits() { field 12 pool; }
head -c 65536 /dev/urandom >/tmp/a
head -c 65536 /dev/urandom >/tmp/b

# write_flushed FILE OFFSET-KIB: 64 KiB written, then a FLUSH (fsync).
write_flushed() {
	dd if="$1" of=$dev bs=64k seek=$(($2 / 64)) oflag=direct conv=fsync,notrunc \
		2>/dev/null || fail "write $1 at $2 KiB"
}

write_flushed /tmp/a 0
s0=$(written) c0=$(commits) f0=$(flushes)
write_flushed /tmp/b 0
s1=$(written) c1=$(commits) f1=$(flushes)
log "rewrite of 16 dirty blocks and a FLUSH: $((s1 - s0)) sectors written to the SSD, $((f1 - f0)) flushes, $((c1 - c0)) commits"
[ $((f1 - f0)) -ge 1 ] || fail "the FLUSH did not flush the SSD"
assert_eq $((s1 - s0)) 128 "sectors written for 64 KiB of rewrites and a FLUSH"

write_flushed /tmp/a 64
s2=$(written) c2=$(commits)
log "16 new dirty blocks and a FLUSH: $((s2 - s1)) sectors written, $((c2 - c1)) commits"
[ $((c2 - c1)) -ge 1 ] || fail "the FLUSH after new dirty blocks did not commit"
[ $((s2 - s1)) -ge 144 ] || fail "a FLUSH after new dirty blocks wrote $((s2 - s1)) sectors: no metadata"

dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"
pool_create pool "$ssd" 4096 "$@"
vm_create vm1 pool "$org" guest-1
assert_eq "$(field 4 vm1)" 32 "dirty blocks after the load"
cat /tmp/b /tmp/a >/tmp/want
dd if=$dev of=/tmp/got bs=64k count=2 iflag=direct 2>/dev/null || fail "read back"
cmp /tmp/want /tmp/got || fail "data differs after the load"
dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"
log "PASS"
