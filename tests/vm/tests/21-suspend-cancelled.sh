#!/bin/sh
# A suspend cancelled after presuspend is undone (issue 15 item 5): dm
# calls presuspend_undo when the wait for the I/O in flight is
# interrupted by a signal.  Presuspend stops throttling (nothing waits
# for tokens while suspending); a VM device whose suspend was cancelled
# must be throttled again (it used to stay unthrottled until a resume).
# A read stuck in a suspended origin leg keeps "dmsetup suspend" of the
# VM device waiting; a SIGKILL cancels it.
# vwtest-disks: 1x64M 1x16M
# vwtest-timeout: 200
# vwtest-exclusive: yes
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
# shellcheck disable=SC2034 # lib-legs.sh's
origin=$(disk 1)
down() { :; }
. /lib/vwcache/lib-legs.sh

vw_load_module
origin_leg linear
zero_head "$ssd"
pool_create pool "$ssd" 4096
vm_create vm pool /dev/mapper/oleg g1 iops_limit 50

# The limit works: 50 writes are throttled (all but the burst, 50 ms of
# the rate: 2 writes), in 1 s (200 took 4 s, here and below, and showed
# no more).
dd if=/dev/zero of=/dev/mapper/vm bs=4096 count=50 oflag=direct 2>/dev/null ||
	fail "writing"
t0=$(field 11 vm)
[ "$t0" -gt 0 ] || fail "iops_limit 50 throttled nothing: $(dmsetup status vm)"

# A read stuck at the origin; the suspend waits for it; cancelled.
assert_ok dmsetup suspend oleg
dd if=/dev/mapper/vm of=/dev/null bs=4096 count=1 skip=1000 iflag=direct 2>/dev/null &
rd=$!
sleep 1
dmsetup suspend vm &
sp=$!
sleep 2
kill -KILL $sp
wait $sp && fail "the suspend of vm was not cancelled"
dmsetup info vm | grep -q 'State: *ACTIVE' || fail "vm not active: $(dmsetup info vm)"
assert_ok dmsetup resume oleg
wait $rd || fail "the read failed"
log "suspend cancelled"

dd if=/dev/zero of=/dev/mapper/vm bs=4096 count=50 seek=200 oflag=direct 2>/dev/null ||
	fail "writing after the cancelled suspend"
t1=$(field 11 vm)
log "throttled: $t0 before, $t1 after the cancelled suspend"
[ "$t1" -gt "$t0" ] || fail "iops_limit not in force after a cancelled suspend (presuspend not undone)"

dmsetup remove vm || fail "remove vm"
dmsetup remove pool || fail "remove pool"
dmsetup remove oleg || fail "remove oleg"
log "ok"
