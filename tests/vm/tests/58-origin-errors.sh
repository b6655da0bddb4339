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
#  - the data: the origin holds the last writes after all;
#  - an origin that fails its flushes too (dm-flakey down) fails the
#    flushes of its own VM device (fsync: EIO), not the pool: a second
#    VM's writes and flushes go on, the pool stays "ok", and once the
#    origin is back the first VM's flush succeeds and its write around
#    is on the origin.
# vwtest-disks: 1x16M 1x16M 1x16M
# vwtest-timeout: 200
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
origin2=$(disk 2)
S=$(sectors "$origin")
vw_load_module
dmsetup targets | grep -q '^flakey' || kmod_load dm-flakey

# oleg healthy|error: the VM's origin leg, switched live.
oleg() {
	case $1 in
	healthy) _t="0 $S linear $origin 0" ;;
	down) _t="0 $S flakey $origin 0 0 86400" ;;
	*) _t="0 $S error" ;;
	esac
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

# --- 3: an origin failing its flushes fails its own VM only -----------------
# around DEV TEXT: a 512-byte O_DIRECT write of TEXT (repeated) at sector
# 9000: part of a block not cached, so it goes around to the origin.
around() {
	fio --name=around --filename="$1" --direct=1 --rw=write --bs=512 \
		--size=512 --offset=$((9000 * 512)) --buffer_pattern="\"$2\"" \
		>/tmp/around.out 2>&1 || { cat /tmp/around.out; fail "write around on $1"; }
}
vm_create vm2 pool "$origin2" guest-58b
# No periodic commit may flush vm1's origin before it goes down.
echo 60000 >"$(dm_sys pool)/vwcache_pool/commit_interval" || fail "commit_interval"
flush_dev /dev/mapper/vm1 || fail "vm1's flush before the fault"
c0=$(field 3 vm1)
around /dev/mapper/vm1 "around 1"
assert_eq "$(field 3 vm1)" "$c0" "vm1's cached blocks after a write around"
oleg down
flush_dev /dev/mapper/vm1 && fail "vm1's flush succeeded with its origin down"
around /dev/mapper/vm2 "around 2"
printf 'cached 2\n' | dd of=/dev/mapper/vm2 bs=4096 seek=10 count=1 conv=sync \
	oflag=direct 2>/dev/null || fail "whole-block write on vm2"
flush_dev /dev/mapper/vm2 || fail "vm2's flush failed while only vm1's origin is down"
assert_eq "$(field 1 pool)" ok "pool state with vm1's origin down"
flush_dev /dev/mapper/vm1 && fail "vm1's second flush succeeded with its origin still down"
oleg healthy
flush_dev /dev/mapper/vm1 || fail "vm1's flush failed with its origin back"
dd if="$origin" bs=512 skip=9000 count=1 iflag=direct 2>/dev/null |
	grep -aq 'around 1around 1' || fail "vm1's write around is not on its origin"
assert_eq "$(field 1 pool)" ok "pool state at the end"
log "3: vm1's flushes failed while its origin was down, vm2 and the pool went on"

dmsetup remove vm1 vm2 pool oleg || fail "removing the devices"
log "origin errors reported, counted and recovered from"
