#!/bin/sh
# A pool formats a zeroed cache device, loads it again after removal,
# refuses foreign data without writing to it, re-emits its settings, fails
# bios sent to the control device, and keeps its settings over a reload.
# vwtest-disks: 1x256M 1x64M
# vwtest-timeout: 180
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
other=$(disk 1)
vw_load_module

zero_head "$ssd"
pool_create pool "$ssd" 4096
st=$(dmsetup status pool)
log "status: $st"
assert_eq "$(echo "$st" | wc -w)" 15 "pool status field count (3 + 12)"
assert_eq "$(field 1 pool)" ok "state"
assert_eq "$(field 2 pool)" 4096 "block_size"
total=$(field 3 pool)
# 256 MiB of 4 KiB blocks, less the metadata: 65536 minus a little.
[ "$total" -gt 64000 ] && [ "$total" -lt 65536 ] || fail "total_blocks $total"
assert_eq "$(field 4 pool)" "$total" "free_blocks of an empty pool"
assert_eq "$(field 5 pool)" 0 "dirty_blocks"
assert_eq "$(field 6 pool)" 0 "nr_vms"

tbl=$(dmsetup table pool)
log "table: $tbl"
echo "$tbl" | grep -q " 4096 14 high_watermark 50 low_watermark 25 max_age 60000 commit_interval 1000 writeback_iops 0 io_capacity_iops 0 io_capacity_bw 0$" ||
	fail "default settings not re-emitted: $tbl"

# The control device fails I/O and nothing reaches the cache through it.
assert_fails dd if=/dev/mapper/pool of=/dev/null bs=4096 count=1 iflag=direct
assert_fails dd if=/dev/zero of=/dev/mapper/pool bs=4096 count=1 oflag=direct

# Settings by message appear in the table; a reload keeps them.
assert_ok dmsetup message pool 0 set max_age 5000
assert_ok dmsetup message pool 0 set high_watermark 70
tbl=$(dmsetup table pool)
echo "$tbl" | grep -q "high_watermark 70 low_watermark 25 max_age 5000 " ||
	fail "set not re-emitted: $tbl"
assert_ok dmsetup reload pool --table "$tbl"
assert_ok dmsetup suspend pool
assert_ok dmsetup resume pool
assert_eq "$(dmsetup table pool)" "$tbl" "table after reload"
assert_ok dmsetup message pool 0 flush
assert_ok dmsetup message pool 0 clear_stats
assert_eq "$(field 12 pool)" 0 "commits after clear_stats"

# Remove and create again: the superblock is loaded, not re-formatted.
# Nothing changed since the format (settings live in the table): the
# removal's commit has no page to write, so it writes no superblock
# either (dm-vwcache-commit.c, step 5).
head1=$(dd if="$ssd" bs=4096 count=2 2>/dev/null | md5sum)
dmsetup remove pool || fail "remove pool"
head2=$(dd if="$ssd" bs=4096 count=2 2>/dev/null | md5sum)
assert_eq "$head2" "$head1" "superblocks after a removal with nothing to commit"
pool_create pool "$ssd" 4096
assert_eq "$(field 3 pool)" "$total" "total_blocks after reload"
dmsetup remove pool || fail "remove pool"

# A loaded pool keeps its block size.
expect_refused "block size differs from the formatted one" \
	"Cache block size does not match the pool on the cache device" \
	p2 "0 $(sectors "$ssd") vwcache-pool $ssd 8192 0"

# Foreign data: refused and left untouched.
dd if=/dev/urandom of="$other" bs=4096 count=16 conv=fsync 2>/dev/null
before=$(md5sum <"$other")
expect_refused "foreign data on the cache device" \
	"zero the first 4 KiB to format" \
	p3 "0 $(sectors "$other") vwcache-pool $other 4096 0"
assert_eq "$(md5sum <"$other")" "$before" "foreign device unchanged"

# A damaged copy 0 that keeps its magic falls back to copy 1 (a torn
# superblock write); zeroing copy 0 formats afresh.
printf 'XXXX' | dd of="$ssd" bs=1 seek=100 conv=notrunc,fsync 2>/dev/null
pool_create pool "$ssd" 4096
assert_eq "$(field 3 pool)" "$total" "pool loaded from superblock copy 1"
dmsetup remove pool
zero_head "$ssd"
pool_create pool "$ssd" 65536
assert_eq "$(field 2 pool)" 65536 "re-formatted with a new block size"
dmsetup remove pool
log "format/load ok"
