#!/bin/sh
# 81-dm-events: a change of the state that status shows raises a dm event
# on that device (issue 16 item 5), so that "dmsetup wait DEV N" and
# dmeventd wake up:
#  1. no change, no event: an idle pool's wait times out;
#  2. VM device: migrate_prepare (ok -> migrating -> clean), then
#     migrate_abort (clean -> ok);
#  3. VM device: its origin fails the writeback (ok -> error), then comes
#     back and the flush ends (error -> ok);
#  4. pool: the SSD fails writes (ok -> degraded or failed).
# Each case takes the device's event number before the change; after it,
# "dmsetup wait DEV N" must return within 10 s and the number must have
# grown.  The module samples the states every tick (0.1 s).
# vwtest-disks: 1x64M 1x64M
# vwtest-timeout: 240
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
S=$(sectors "$ssd")
O=$(sectors "$origin")
vw_load_module
zero_head "$ssd"

# ev DEV: the device's event number.
ev() {
	dmsetup info "$1" | sed -n 's/^Event number: *//p'
}

# expect_event DEV N WHAT: an event on DEV after number N, within 10 s.
expect_event() {
	timeout "$(scaled 10)" dmsetup wait "$1" "$2" >/dev/null 2>&1 ||
		fail "no dm event on $1 after $3 (event number $(ev "$1"), was $2; $(dmsetup status "$1"))"
	[ "$(ev "$1")" -gt "$2" ] || fail "$1: event number $(ev "$1") after $3, was $2"
	log "$3: event on $1 ($2 -> $(ev "$1"))"
}

flakey_set ssdf "$ssd" up
dm_set_table orig "0 $O linear $origin 0" || fail "origin linear"
dmsetup create pool --table \
	"0 $S vwcache-pool /dev/mapper/ssdf 4096 4 max_age 0 high_watermark 90" ||
	fail "create pool"
vm_create vm1 pool /dev/mapper/orig ev-1

# 1. Dirty data written, nothing changes state: no event.
n=$(ev pool)
m=$(ev vm1)
dd if=/dev/urandom of=/dev/mapper/vm1 bs=4096 count=256 oflag=direct 2>/dev/null ||
	fail "write vm1"
[ "$(field 4 vm1)" -gt 0 ] || fail "no dirty data: $(dmsetup status vm1)"
if timeout 3 dmsetup wait pool "$n" >/dev/null 2>&1; then
	fail "an event on the pool without a state change (event number $(ev pool), was $n)"
fi
[ "$(ev vm1)" = "$m" ] ||
	fail "an event on vm1 without a state change (event number $(ev vm1), was $m)"
log "no state change: no event (pool $n, vm1 $m)"

# 2. Migration: migrating, then clean; abort: ok.
n=$(ev vm1)
dmsetup message vm1 0 migrate_prepare || fail "migrate_prepare"
wait_state vm1 clean 30
expect_event vm1 "$n" "migrate_prepare (clean)"
n=$(ev vm1)
dmsetup message vm1 0 migrate_abort || fail "migrate_abort"
wait_state vm1 ok 10
expect_event vm1 "$n" "migrate_abort (ok)"

# 3. The origin fails the writeback: error; back: ok.
dd if=/dev/urandom of=/dev/mapper/vm1 bs=4096 count=256 oflag=direct 2>/dev/null ||
	fail "write vm1 again"
dm_set_table orig "0 $O error" || fail "origin error"
n=$(ev vm1)
dmsetup message vm1 0 flush || fail "flush"
wait_state vm1 error 30
expect_event vm1 "$n" "writeback failed (error)"
# The number before the origin comes back: a retry may end the error
# before the flush message.
n=$(ev vm1)
dm_set_table orig "0 $O linear $origin 0" || fail "origin back"
dmsetup message vm1 0 flush || fail "flush again"
wait_state vm1 ok 60
expect_event vm1 "$n" "origin back, flushed (ok)"

# 4. The SSD fails writes: the pool degraded (or failed).
n=$(ev pool)
flakey_set ssdf "$ssd" error_writes
dd if=/dev/urandom of=/dev/mapper/vm1 bs=4096 count=64 oflag=direct 2>/dev/null
dd if=/dev/urandom of=/dev/mapper/vm1 bs=4096 count=64 seek=64 oflag=direct \
	conv=fsync 2>/dev/null
state=$(field 1 pool)
case $state in
degraded | failed) ;;
*) fail "pool state '$state' after the SSD fault" ;;
esac
expect_event pool "$n" "SSD write errors ($state)"

flakey_set ssdf "$ssd" up
dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"
dmsetup remove orig
dmsetup remove ssdf
log "state changes raise dm events: passed"
