#!/bin/sh
# A suspended VM device does no I/O of its own to its origin (issue 15
# item 5, dm semantics: the operator may be swapping the devices under a
# suspended one, as lvm does).  Dirty blocks, max_age 1 s, the origin
# behind a leg that holds writes 4 s, so writeback runs one slow run
# after another; the VM device is suspended with a run in flight:
#  - the suspend waits for the run (bounded: the 4 s of the leg);
#  - while suspended, for 9 s, the origin does not change and neither
#    does the dirty count (writeback used to go on);
#  - the leg is switched to linear while the device is suspended, then
#    the device resumed: writeback resumes and the data reaches the origin.
# vwtest-disks: 1x64M 1x16M
# vwtest-timeout: 300
# vwtest-exclusive: yes
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
down() { :; }
. /lib/vwcache/lib-legs.sh

vw_load_module
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
dd if=/dev/zero of="$origin" bs=1M count=4 oflag=direct 2>/dev/null ||
	fail "zeroing $origin"
origin_leg delay
zero_head "$ssd"
pool_create pool "$ssd" 4096 max_age 1000
vm_create vm pool /dev/mapper/oleg g1

byte_file 252 2097152 >/tmp/data
dd if=/tmp/data of=/dev/mapper/vm bs=4096 count=512 oflag=direct 2>/dev/null ||
	fail "writing the device"
snap() { dd if="$origin" bs=4096 count=512 iflag=direct 2>/dev/null | md5sum; }
zeros=$(head -c 2097152 /dev/zero | md5sum)
d0=$(field 4 vm)
log "$d0 dirty blocks"
# Writeback starts after max_age: one run of 64 blocks at a time, 4 s each.
i=0
while [ "$(field 4 vm)" = "$d0" ] && [ "$(snap)" = "$zeros" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "no writeback started: $(dmsetup status vm)"
	sleep 0.1
done
sleep 1

t0=$(now_ms)
assert_ok dmsetup suspend vm
ms=$(($(now_ms) - t0))
log "suspend took $ms ms"
[ "$ms" -lt $((20000 * VW_TIMEOUT_SCALE)) ] || fail "suspend took $ms ms"

o1=$(snap)
d1=$(field 4 vm)
log "suspended: $d1 dirty blocks"
[ "$d1" -gt 0 ] || fail "nothing left dirty to test with"
sleep 9
o2=$(snap)
d2=$(field 4 vm)
[ "$o1" = "$o2" ] || fail "the origin of a suspended VM device was written (writeback went on)"
assert_eq "$d2" "$d1" "dirty blocks of a suspended VM device"

origin_leg linear
assert_ok dmsetup resume vm
assert_ok dmsetup message vm 0 flush
wait_clean vm 60
dd if="$origin" of=/tmp/got bs=4096 count=512 iflag=direct 2>/dev/null ||
	fail "reading the origin"
cmp -s /tmp/data /tmp/got || fail "the writeback after resume did not reach the origin"
dmsetup remove vm || fail "remove vm"
dmsetup remove pool || fail "remove pool"
dmsetup remove oleg || fail "remove oleg"
log "ok"
