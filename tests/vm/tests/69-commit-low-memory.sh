#!/bin/sh
# 69-commit-low-memory: a commit that changes many metadata pages while
# dm-bufio can get no memory at all (issue 15, item 8).  dm-bufio's
# max_cache_size_bytes set to 1 before the pool is created is its own
# debugging switch for "every allocation fails": the client then has only
# the buffers it reserved at creation, and reuses released ones.  The pool
# holds 12288 dirty blocks that no commit has recorded (48 pages of
# entries); one FLUSH then commits them all.
# Before the fix the commit held every changed page at once while the
# client reserved one buffer: it took the reserve for the first page and
# waited for ever for a second (the FLUSH never completed; the hung-task
# watchdog showed vwc_commit in __wait_for_free_buffer).  Now it holds a batch
# of pages at a time, within the client's reserve.
# The data is then checked after the pool is removed and loaded again,
# and the pool's commit counter must count that FLUSH's commit once (it
# counted every commit twice before).
# vwtest-disks: 1x160M 1x64M
# vwtest-timeout: 300
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
NBLK=12288
vw_load_module
cache_size=/sys/module/dm_bufio/parameters/max_cache_size_bytes
[ -w $cache_size ] || fail "no $cache_size"

zero_head "$ssd"
dd if=/dev/urandom of=/tmp/data bs=4096 count=$NBLK 2>/dev/null ||
	fail "making the data"
echo 1 >$cache_size
pool_create pool "$ssd" 4096 commit_interval 60000 max_age 0 \
	high_watermark 95 low_watermark 90
vm_create vm pool "$origin" guest-69
dd if=/tmp/data of=/dev/mapper/vm bs=1M oflag=direct 2>/dev/null ||
	fail "writing $NBLK blocks"
assert_eq "$(field 4 vm)" $NBLK "dirty blocks before the FLUSH"

flush_dev /dev/mapper/vm &
pid=$!
t=0
while kill -0 $pid 2>/dev/null; do
	t=$((t + 1))
	[ $t -le "$(scaled 600)" ] ||
		fail "the FLUSH (a commit of $NBLK entries) did not complete in $(scaled 60) s with no memory for dm-bufio"
	sleep 0.1
done
wait $pid || fail "the FLUSH failed"
log "FLUSH committed $NBLK new entries in $((t / 10)).$((t % 10)) s, dm-bufio at its reserve"
[ "$(field 1 pool)" = ok ] || fail "pool state after the commit: $(dmsetup status pool)"

dmsetup remove vm pool || fail "removing the devices"
echo 0 >$cache_size
pool_create pool "$ssd" 4096 commit_interval 60000 max_age 0 \
	high_watermark 95 low_watermark 90
vm_create vm pool "$origin" guest-69
assert_eq "$(field 4 vm)" $NBLK "dirty blocks after the reload"
cmp /tmp/data /dev/mapper/vm -n $((NBLK * 4096)) ||
	fail "the data read back after the reload differs"
rm -f /tmp/data

# One FLUSH with a change to commit: one commit counted.
echo counted | dd of=/dev/mapper/vm bs=4096 conv=sync oflag=direct 2>/dev/null ||
	fail "writing block 0"
assert_ok dmsetup message pool 0 clear_stats
flush_dev /dev/mapper/vm || fail "flush"
assert_eq "$(field 12 pool)" 1 "commits counted for one FLUSH"
log "reloaded: $NBLK blocks read back; one FLUSH counted as one commit"
dmsetup remove vm pool || fail "removing the devices"
