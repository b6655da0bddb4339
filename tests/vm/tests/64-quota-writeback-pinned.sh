#!/bin/sh
# 64-quota-writeback-pinned: a VM at its cache_quota writes back and drops
# its blocks (issue 15, item 4).  A block rewritten in place while its
# writeback runs must keep the rewrite: here the rewrite is mapped before
# the writeback reads the block and completes after the writeback ends
# (the SSD leg holds writes 4 s, not reads).  Before the fix the writeback's
# end dropped the block (the VM over its quota's low mark) while the
# rewrite was in flight into it, and the rewrite was lost: reads came from
# the origin, which holds the data written back.  Now a block with other
# I/O in flight is made clean, not dropped, and the rewrite makes it dirty.
# vwtest-disks: 1x64M 1x64M
# vwtest-timeout: 200
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
vw_load_module
. /lib/vwcache/lib-legs.sh

zero_head "$ssd"
ssd_leg whole
origin_leg linear
pool_create pool /dev/mapper/ssdleg 4096 max_age 0 high_watermark 95
vm_create vm pool /dev/mapper/oleg guest-64 cache_quota 16
for b in $(seq 0 15); do put "$b" "first $b"; done
flush_dev /dev/mapper/vm || fail "flush"
assert_eq "$(field 4 vm)" 16 "dirty blocks at the quota"

ssd_leg slow
put 0 "rewrite 0" &
pid=$!
sleep 1
assert_ok dmsetup message vm 0 flush
t=0
until [ "$(raw 0)" = "first 0" ]; do
	t=$((t + 1))
	[ $t -le "$(scaled 100)" ] || fail "block 0 was not written back"
	sleep 0.1
done
wait $pid || fail "the rewrite failed"
ssd_leg whole
expect 0 "rewrite 0" "the rewrite that completed after the writeback"
flush_dev /dev/mapper/vm || fail "flush after the rewrite"
assert_ok dmsetup message vm 0 flush
wait_clean vm 30
[ "$(raw 0)" = "rewrite 0" ] || fail "the origin holds '$(raw 0)' after the last writeback"
for b in 1 8 15; do expect "$b" "first $b" "a block written back"; done
[ "$(field 3 vm)" -le 16 ] || fail "cached $(field 3 vm) blocks, quota 16"
log "a rewrite in flight across its block's writeback at the quota kept; cached $(field 3 vm)"
down
dmsetup remove ssdleg oleg || fail "removing the legs"
