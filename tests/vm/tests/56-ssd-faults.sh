#!/bin/sh
# SSD faults: the cache device (under dm-flakey) starts failing writes
# while VM devices hold dirty data.  The pool reports the fault (degraded
# or failed), every read still returns the right data, no oops, the
# devices can be removed; once the fault clears the pool loads again and
# every flushed write is there.
# vwtest-disks: 1x64M 1x64M 1x64M
# vwtest-timeout: 300
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
S=$(sectors "$ssd")
command -v vwc-model >/dev/null || fail "vwc-model not in the guest"
vw_load_module
zero_head "$ssd"
dd if=/dev/zero of="$(disk 1)" bs=1M count=64 conv=fsync 2>/dev/null

create_all() {
	dmsetup create pool --table \
		"0 $S vwcache-pool /dev/mapper/ssdf 4096 4 max_age 0 high_watermark 90" ||
		fail "create pool"
	vm_create vm1 pool "$(disk 1)" fault-1
	vm_create vm2 pool "$(disk 2)" fault-2
}

flakey_set ssdf "$ssd" up
create_all
vwc-model --ops 4000 --seed 56 --initial-zero --crash-check --mix 45,50,5,0 \
	--state /tmp/f.state /dev/mapper/vm1 >/tmp/m1.out 2>&1 ||
	{ cat /tmp/m1.out; fail "model before the fault"; }
dirty=$(field 4 vm1)
log "before the fault: $(dmsetup status vm1)"
[ "$dirty" -gt 0 ] || fail "no dirty data to protect"

flakey_set ssdf "$ssd" error_writes
# Writes to the other VM now hit a failing SSD: they must not be lost
# silently (the pool turns degraded, then failed when a commit fails).
dd if=/dev/urandom of=/dev/mapper/vm2 bs=4096 count=64 oflag=direct 2>/dev/null
dd if=/dev/urandom of=/dev/mapper/vm2 bs=4096 count=64 seek=64 \
	oflag=direct conv=fsync 2>/dev/null &&
	log "vm2 writes with fsync succeeded after the fault"
state=$(field 1 pool)
log "pool after the fault: $(dmsetup status pool)"
case $state in
degraded | failed) ;;
*) fail "pool state '$state' does not report the SSD fault" ;;
esac
# Every read of vm1 still returns what the model expects.
vwc-model --load /tmp/f.state --verify-only /dev/mapper/vm1 >/tmp/m2.out 2>&1 ||
	{ cat /tmp/m2.out; fail "reads wrong during the SSD fault"; }
log "vm1 verified during the fault"

# Removable while failing.
dmsetup remove vm1 || fail "remove vm1 during the fault"
dmsetup remove vm2 || fail "remove vm2 during the fault"
dmsetup remove pool || fail "remove pool during the fault"

# The fault clears: the pool loads what was committed, vm1's flushed data
# is all there (its dirty blocks included).
flakey_set ssdf "$ssd" up
create_all
log "after the fault: $(dmsetup status vm1)"
vwc-model --load /tmp/f.state --verify-only --crash-check /dev/mapper/vm1 \
	>/tmp/m3.out 2>&1 || { cat /tmp/m3.out; fail "data lost over the fault"; }
assert_ok dmsetup message vm1 0 flush
wait_clean vm1
a=$(md5sum </dev/mapper/vm1)
b=$(md5sum <"$(disk 1)")
assert_eq "$a" "$b" "vm1 and its origin after the flush"
dmsetup remove vm1
dmsetup remove vm2
dmsetup remove pool
dmsetup remove ssdf
