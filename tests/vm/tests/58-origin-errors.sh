#!/bin/sh
# A VM's origin fails its writeback, then recovers.  Checked:
#  - the VM says "error" and stats/writeback_errors counts the failed runs
#    while its dirty blocks cannot be written back; the pool stays "ok"
#    (the "error" target passes empty flushes, so no commit fails);
#  - the backoff doubles once per failed round, not once per failed run:
#    an urgent flush of 256 scattered blocks (256 runs in flight) against
#    an origin failing for about a second is out of "error" and clean a
#    few seconds after the origin is back (it took 13-18 s when each run
#    doubled it);
#  - a VM whose dirty blocks are all discarded while it backs off has
#    nothing left to retry: it leaves "error" at once (it stayed there
#    until its next write was written back);
#  - the data: the origin holds the last writes after all.
# vwtest-disks: 1x16M 1x16M
# vwtest-timeout: 200
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
S=$(sectors "$origin")
vw_load_module

# oleg healthy|error: the VM's origin leg, switched live.
oleg() {
	if [ "$1" = healthy ]; then
		_t="0 $S linear $origin 0"
	else
		_t="0 $S error"
	fi
	dm_set_table oleg "$_t" || fail "origin leg $1"
}

werrors() { cat "$(dm_sys vm1)/vwcache/stats/writeback_errors"; }

# wait_error: until vm1 says "error" (its flush failed).
wait_error() {
	wait_state vm1 error 10 "$1: the failed writeback is not reported"
	[ "$(field 1 pool)" = ok ] || fail "$1: pool $(dmsetup status pool)"
	[ "$(werrors)" -gt 0 ] || fail "$1: state error, stats/writeback_errors $(werrors)"
}

zero_head "$ssd"
oleg healthy
pool_create pool "$ssd" 4096 max_age 0 high_watermark 95
vm_create vm1 pool /dev/mapper/oleg guest-58

# --- 1: a failing second, 256 runs in flight --------------------------------
# 256 blocks, every other one: no two adjacent, one run each.
for i in $(seq 0 255); do
	printf 'round1 block %d\n' "$i" | dd of=/dev/mapper/vm1 bs=4096 seek=$((2 * i)) \
		conv=sync oflag=direct 2>/dev/null || fail "write $i"
done
assert_eq "$(field 4 vm1)" 256 "dirty blocks before the fault"
oleg error
assert_ok dmsetup message vm1 0 flush
wait_error "origin failing"
sleep 1
e1=$(werrors)
oleg healthy
wait_state vm1 ok 8 "backoff after a 1 s fault: still not out of error 8 s after the origin came back"
back=$WAITED
wait_clean vm1 8
log "1: $e1 failed runs during the fault; out of error $((back / 10)).$((back % 10)) s after the origin came back, $(field 10 vm1) blocks written back"
[ "$e1" -ge 1 ] || fail "no failed run counted"
for i in 0 100 255; do
	dd if="$origin" bs=4096 skip=$((2 * i)) count=1 iflag=direct 2>/dev/null |
		grep -aq "^round1 block $i\$" || fail "origin block $((2 * i)) after the writeback"
done

# --- 2: dirty blocks discarded while backing off ---------------------------------
dd if=/dev/urandom of=/dev/mapper/vm1 bs=64k count=4 oflag=direct 2>/dev/null ||
	fail "writing 256 KiB"
[ "$(field 4 vm1)" -gt 0 ] || fail "no dirty blocks: $(dmsetup status vm1)"
oleg error
assert_ok dmsetup message vm1 0 flush
wait_error "origin failing again"
oleg healthy
blkdiscard -o 0 -l 262144 /dev/mapper/vm1 || fail "blkdiscard"
assert_eq "$(field 4 vm1)" 0 "dirty blocks after the discard"
wait_state vm1 ok 2 "nothing dirty left, yet still in error"
log "2: all dirty blocks discarded while backing off: state $(field 2 vm1) after $((WAITED / 10)).$((WAITED % 10)) s"

# A new write is written back at once (no backoff left).
printf 'after the discard\n' | dd of=/dev/mapper/vm1 bs=4096 seek=300 conv=sync \
	oflag=direct 2>/dev/null || fail "write after the discard"
assert_ok dmsetup message vm1 0 flush
wait_clean vm1 5
dd if="$origin" bs=4096 skip=300 count=1 iflag=direct 2>/dev/null |
	grep -aq '^after the discard$' || fail "origin block 300 after the flush"
assert_eq "$(field 2 vm1)" ok "state at the end"

dmsetup remove vm1 pool oleg || fail "removing the devices"
log "origin errors reported, counted and recovered from"
