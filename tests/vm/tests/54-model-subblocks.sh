#!/bin/sh
# Model-checked I/O on 16 KiB blocks of four 4 KiB sub-blocks, live, under
# constant pressure: three VM devices of 16 MiB on a 24 MiB pool at
# high_watermark 20, low_watermark 5, max_age 1 s, so eviction, first-miss
# promotion and merged writeback run all the time while vwc-model issues
# reads, writes, flushes and discards of 512 bytes to 64 KiB, half of them
# 4 KiB aligned, the rest at any 512-byte offset: blocks held in part,
# growing while dirty, reads split between the devices, bios mapped as runs
# and cut.  Each round ends with a full verify of every sector, then the
# devices are zeroed through the cache for the next round (another seed).
# The workload of 60-crash-log-writes, without the crash replay: a wrong
# sector here is a live data path bug, not a crash-consistency one.
# vwtest-disks: 1x24M 3x16M
# vwtest-timeout: 600
# shellcheck disable=SC1091,SC2086 # guest paths; $devs is a list
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ROUNDS=4
OPS=3000
ssd=$(disk 0)
devs="/dev/mapper/vm1 /dev/mapper/vm2 /dev/mapper/vm3"
command -v vwc-model >/dev/null || fail "vwc-model not in the guest"

vw_load_module
zero_head "$ssd"
for i in 1 2 3; do
	dd if=/dev/zero of="$(disk "$i")" bs=1M count=16 conv=fsync 2>/dev/null ||
		fail "zeroing origin $i"
done
pool_create pool "$ssd" 16384 high_watermark 20 low_watermark 5 \
	max_age 1000 commit_interval 500
vms_create guest 3

r=1
while [ $r -le $ROUNDS ]; do
	vwc-model --ops $OPS --seed $((540 + r)) --initial-zero --threads 3 \
		--mix 30,50,15,5 --max-io 64k --align4k 50 --report \
		--state /tmp/s.state $devs >/tmp/m.out 2>&1 ||
		{ grep -v '^vwc-model: [0-9]*/' /tmp/m.out | head -40; fail "round $r: vwc-model"; }
	vwc-model --load /tmp/s.state --verify-only --threads 3 --report \
		$devs >/tmp/v.out 2>&1 ||
		{ grep -v '^vwc-model: [0-9]*/' /tmp/v.out | head -40; fail "round $r: full verify"; }
	log "round $r: $(awk '$1 == "sectors-verified:" { print $2 }' /tmp/v.out) sectors verified; pool: $(dmsetup status pool)"
	for i in 1 2 3; do
		dd if=/dev/zero of=/dev/mapper/vm$i bs=1M count=16 oflag=direct \
			2>/dev/null || fail "round $r: zeroing vm$i"
	done
	r=$((r + 1))
done
# The pressure was there: blocks written back, and read hits.
[ "$(field 11 pool)" -gt 1000 ] || fail "little writeback: $(dmsetup status pool)"
[ "$(field 8 pool)" -gt 1000 ] || fail "few read hits: $(dmsetup status pool)"
remove_all 3
