#!/bin/sh
# 62-torn-commit: commits torn between their entry pages and their
# superblock (issue 15, items 1 and 2).  The pool's SSD is a dm device of
# two segments: the superblocks (sectors 0-15) and the rest.  Switching the
# first segment to dm-flakey drop_writes tears every commit after that
# point: its entry pages land, its superblock never does.  A "power cut"
# then drops every write to the SSD and the origin (dm-flakey drop_writes
# on all legs) and removes the devices; the legs come back linear and the
# pool loads what the disks hold.
#
#  1. A dirty block rewritten during its own writeback (its origin write
#     held by dm-delay) after a completed FLUSH: the writeback's end left it
#     dirty and marked for rewrite, and the next commit rewrote its entry
#     in place with the new sequence.  Torn there, recovery called the
#     entry uncommitted and the block free: the flushed rewrite was gone
#     (the origin holds the older data).  The commit rule (an entry is
#     rewritten only when its meaning changes) keeps the committed entry.
#  2. At tear points 1..8 (commits torn before the power cut): load, write
#     and commit more than that many times, remove cleanly, load again.
#     The torn commits' entries (sequence above the superblock's) stayed on
#     disk and the next commits reused their sequence numbers, so a later
#     superblock made them committed: blocks written only in the torn
#     commits came back with that data (or two entries claimed one block
#     and the load was refused).  Load now scrubs them to free first.
# vwtest-disks: 1x64M 1x64M
# vwtest-timeout: 400
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
vw_load_module
. /lib/vwcache/lib-legs.sh

up() {
	pool_create pool /dev/mapper/ssdleg 4096 max_age "$1" high_watermark 95 \
		commit_interval 60000
	vm_create vm pool /dev/mapper/oleg guest-62
}

zero_head "$ssd"
ssd_leg whole
origin_leg delay

# --- 1: a block rewritten during its writeback ------------------------------
# max_age 1 s: block 7, dirty and flushed, is written back 0.1-2 s later;
# the origin holds that write 4 s.  Meanwhile block 7 is rewritten and
# flushed, and max_age goes to 0 (no second writeback).
up 1000
put 7 "first"
flush_dev /dev/mapper/vm || fail "flush after the first write"
sleep 2.5
put 7 "second"
flush_dev /dev/mapper/vm || fail "flush after the rewrite"
assert_ok dmsetup message pool 0 set max_age 0
t=0
while o=$(raw 7); [ "$o" != first ]; do
	[ -z "$o" ] || fail "the origin got '$o': the writeback began after the rewrite"
	t=$((t + 1))
	[ $t -le "$(scaled 200)" ] || fail "the writeback of block 7 did not reach the origin"
	sleep 0.1
done
sleep 0.5
[ "$(field 4 vm)" = 1 ] || fail "block 7 is not dirty after its writeback: $(dmsetup status vm)"
ssd_leg torn
flush_dev /dev/mapper/vm || fail "flush with the superblocks torn"
power_cut
up 0
expect 7 second "1: the rewrite flushed during the writeback, after a torn commit"
log "1: a block rewritten during its writeback kept its flushed data across a torn commit"
down

# --- 2: torn commits, load, commit, load again --------------------------------
# Blocks 0-15 committed first; block 100+k written and flushed in torn
# commit k (k < tears); after the cut, block 200 written and flushed
# (tears + 4) times; all checked after a clean removal and a second load.
origin_leg linear
for tears in 1 2 3 5 8; do
	zero_head "$ssd"
	dd if=/dev/zero of="$origin" bs=1M count=2 conv=fsync 2>/dev/null
	up 0
	for b in $(seq 0 15); do put "$b" "base $b"; done
	flush_dev /dev/mapper/vm || fail "flush of the base"
	ssd_leg torn
	k=0
	while [ $k -lt $tears ]; do
		put $((100 + k)) "torn $k"
		flush_dev /dev/mapper/vm || fail "torn flush $k"
		k=$((k + 1))
	done
	power_cut
	up 0
	for b in 0 5 15; do expect "$b" "base $b" "2: tears $tears, first load"; done
	expect 100 "" "2: tears $tears, first load"
	put 200 "after"
	k=0
	while [ $k -lt $((tears + 4)) ]; do
		flush_dev /dev/mapper/vm || fail "flush $k after the load"
		k=$((k + 1))
	done
	down
	up 0
	for b in $(seq 0 15); do expect "$b" "base $b" "2: tears $tears, second load"; done
	k=0
	while [ $k -lt $tears ]; do
		expect $((100 + k)) "" "2: tears $tears, second load (written only in a torn commit)"
		k=$((k + 1))
	done
	expect 200 after "2: tears $tears, second load"
	down
	log "2: $tears torn commits: the second load holds the committed data only"
done
dmsetup remove ssdleg oleg || fail "removing the legs"
log "torn commits recovered: no flushed data lost, no torn entry revived"
