#!/bin/sh
# The dtr of a table never waits without bound on another table's
# writeback (issue 15 item 5): "dmsetup clear" of a loaded, never resumed
# table of a VM device returns at once while the live table writes back
# to an origin that holds every write 8 s (a dm-delay leg).  The dtr used
# to wait until no writeback of the slot was in flight, the live table's
# included.  Then the live device's writeback completes and the device
# goes.
# vwtest-disks: 1x64M 1x16M
# vwtest-timeout: 200
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
S=$(sectors "$origin")
leg_table oleg "0 $S delay $origin 0 0 $origin 0 8000\n"
zero_head "$ssd"
pool_create pool "$ssd" 4096
vm_create vm pool /dev/mapper/oleg g1

byte_file 252 1048576 >/tmp/data
dd if=/tmp/data of=/dev/mapper/vm bs=4096 count=256 oflag=direct 2>/dev/null ||
	fail "writing the device"
assert_ok dmsetup reload vm --table "$(dmsetup table vm)"
assert_ok dmsetup message vm 0 flush
sleep 1
[ "$(field 2 vm)" = flushing ] || fail "not flushing: $(dmsetup status vm)"

t0=$(now_ms)
assert_ok dmsetup clear vm
ms=$(($(now_ms) - t0))
log "dmsetup clear took $ms ms with the live table's writeback in flight"
[ "$ms" -lt 3000 ] ||
	fail "dmsetup clear of an inactive table took $ms ms: it waited for the live table's writeback"

wait_clean vm 60
dd if=/dev/mapper/oleg of=/tmp/got bs=4096 count=256 iflag=direct 2>/dev/null ||
	fail "reading the origin"
cmp -s /tmp/data /tmp/got || fail "the writeback did not reach the origin"
dmsetup remove vm || fail "remove vm"
dmsetup remove pool || fail "remove pool"
dmsetup remove oleg || fail "remove oleg"
log "ok"
