#!/bin/sh
# A loaded table that is not resumed leaves the live one alone (issue 15
# item 5, dm semantics): "dmsetup reload" runs the new table's ctr while
# the old table stays live; the new one is live only once resumed, and
# "dmsetup clear" destroys it without its ever having been live.
#  - A VM device live on origin A; a table of its vm_id on origin B
#    loaded, not resumed; writes to the live device, a flush message
#    (writeback), a write around and a FLUSH: the data reaches A, A is
#    flushed, B keeps its pattern and is not flushed (the ctr used to
#    take the slot: writeback and commit flushes went to B).
#  - dmsetup clear: the live device still works (writes, writeback to A,
#    removal).
#  - A reload on the same origin, resumed: as before, counters kept.
# vwtest-disks: 1x64M 1x16M 1x16M
# vwtest-timeout: 200
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
A=$(disk 1)
B=$(disk 2)
S=$(sectors "$A")

vw_load_module

# B: every byte of its first 4 MiB 0x55; the data written: 0xaa.
byte_file 125 4194304 >/tmp/b.img
byte_file 252 1048576 >/tmp/data
dd if=/tmp/b.img of="$B" bs=1M oflag=direct 2>/dev/null || fail "filling $B"
dd if=/dev/zero of="$A" bs=1M count=4 oflag=direct 2>/dev/null || fail "zeroing $A"

zero_head "$ssd"
pool_create pool "$ssd" 4096
vm_create vm pool "$A" g1

# a_has BLOCKS SKIP: blocks SKIP.. of A hold the data.
a_has() {
	dd if="$A" of=/tmp/got bs=4096 count="$1" skip="$2" iflag=direct 2>/dev/null ||
		fail "reading $A"
	head -c $(($1 * 4096)) /tmp/data | cmp -s - /tmp/got
}

b_intact() {
	dd if="$B" of=/tmp/got bs=1M count=4 iflag=direct 2>/dev/null ||
		fail "reading $B"
	cmp -s /tmp/b.img /tmp/got
}

# Flushes completed by a disk (field 16 of its stat: kernels >= 5.5).
flushes() { awk '{ print $16 }' "/sys/block/${1#/dev/}/stat"; }

live=$(dmsetup table vm)
assert_ok dmsetup reload vm --table "0 $S vwcache /dev/mapper/pool $B g1 0"
fa=$(flushes "$A")
fb=$(flushes "$B")
assert_eq "$(dmsetup table vm)" "$live" "live table after a reload"

dd if=/tmp/data of=/dev/mapper/vm bs=4096 count=64 oflag=direct 2>/dev/null ||
	fail "writing the live device"
assert_ne "$(field 4 vm)" 0 "dirty blocks after the writes"
assert_ok dmsetup message vm 0 flush
wait_clean vm 60
# Partial blocks go around to the origin: a FLUSH (a commit) flushes it.
dd if=/tmp/data of=/dev/mapper/vm bs=512 count=1 seek=2000 oflag=direct 2>/dev/null ||
	fail "writing around"
flush_dev /dev/mapper/vm || fail "FLUSH of the live device"
sleep 1
log "flushes: A $fa -> $(flushes "$A"), B $fb -> $(flushes "$B")"
errs=
b_intact || errs="$errs; B written (writeback went to B)"
[ "$(flushes "$B")" = "$fb" ] || errs="$errs; B flushed (the commit flushed B)"
a_has 64 0 || errs="$errs; writeback did not reach A"
[ "$(flushes "$A")" -gt "$fa" ] || errs="$errs; A not flushed"
[ -z "$errs" ] || fail "a loaded table's origin B took the live table's I/O$errs"

assert_ok dmsetup clear vm
[ -z "$(dmsetup table --inactive vm)" ] || fail "an inactive table left after clear"
dd if=/tmp/data of=/dev/mapper/vm bs=4096 count=64 seek=64 oflag=direct 2>/dev/null ||
	fail "writing the live device after clear"
assert_ok dmsetup message vm 0 flush
wait_clean vm 60
flush_dev /dev/mapper/vm || fail "FLUSH after clear"
a_has 64 64 || fail "writeback after clear did not reach A"
b_intact || fail "B written after clear"

# Same origin, resumed: the counters are the slot's and stay.
w=$(field 7 vm)
wb=$(field 10 vm)
assert_ok dmsetup reload vm --table "$live"
assert_ok dmsetup suspend vm
assert_ok dmsetup resume vm
assert_eq "$(field 7 vm)" "$w" "writes counted after a reload"
assert_eq "$(field 10 vm)" "$wb" "blocks written back after a reload"
dd if=/tmp/data of=/dev/mapper/vm bs=4096 count=64 seek=128 oflag=direct 2>/dev/null ||
	fail "writing after the reload"
assert_ok dmsetup message vm 0 flush
wait_clean vm 60
a_has 64 128 || fail "writeback after the reload did not reach A"
b_intact || fail "B written after the reload"

dmsetup remove vm || fail "remove vm"
dmsetup remove pool || fail "remove pool"
log "ok"
