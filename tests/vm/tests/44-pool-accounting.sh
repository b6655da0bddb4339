#!/bin/sh
# The pool's counters (reads, read_hits, writes, write_hits of its status
# line) are those of all its VM devices since the pool was loaded or its
# clear_stats: equal to the sum of the VMs' while no VM's counters were
# cleared or removed; never lower after a VM device's clear_stats, table
# reload or removal (its counts stay in the pool's, whether they were
# made before or after a clear of the VM or of the pool); zeroed by the
# pool's clear_stats, which leaves the VMs' counters alone; a vm_id
# attached again starts its own counters at 0.
# vwtest-disks: 1x256M 1x64M 1x64M 1x64M
# vwtest-timeout: 300
# shellcheck disable=SC2086 # lists of words
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
vw_load_module
zero_head "$ssd"
pool_create pool "$ssd" 4096
vm_create vm1 pool "$(disk 1)" guest-1.vda
vm_create vm2 pool "$(disk 2)" guest-2.vda

# reads read_hits writes write_hits, of the pool and of a VM device.
pool_fig() { echo "$(field 7 pool) $(field 8 pool) $(field 9 pool) $(field 10 pool)"; }
vm_fig() { echo "$(field 5 $1) $(field 6 $1) $(field 7 $1) $(field 8 $1)"; }
# add FIGURES...: the sum of lists of four.
add() {
	echo "$@" | awk '{ for (i = 1; i <= NF; i++) s[(i - 1) % 4] += $i }
		END { print s[0] + 0, s[1] + 0, s[2] + 0, s[3] + 0 }'
}
# io VM WRITES READS: 4 KiB random writes, then reads of the same 8 MiB
# (some of them hits).
io() {
	fio --name=w --filename=/dev/mapper/$1 --direct=1 --ioengine=psync \
		--rw=randwrite --bs=4k --size=8m --number_ios=$2 \
		--randrepeat=0 --output=/tmp/w.out || fail "fio w $1"
	fio --name=r --filename=/dev/mapper/$1 --direct=1 --ioengine=psync \
		--rw=randread --bs=4k --size=8m --number_ios=$3 \
		--randrepeat=0 --output=/tmp/r.out || fail "fio r $1"
}
neg() { echo "$1" | awk '{ print -$1, -$2, -$3, -$4 }'; }
check_pool() { # WANT WHAT
	log "pool $(pool_fig), want $1: $2"
	assert_eq "$(pool_fig)" "$1" "pool counters $2"
}

assert_eq "$(pool_fig)" "0 0 0 0"
io vm1 300 200
io vm2 150 100
assert_eq "$(field 7 vm1)" 300
assert_eq "$(field 5 vm2)" 100
[ "$(field 6 vm1)" -gt 0 ] || fail "no read hit on vm1"
[ "$(field 8 vm1)" -gt 0 ] || fail "no write hit on vm1"
check_pool "$(add "$(vm_fig vm1)" "$(vm_fig vm2)")" "sum of the VMs"
assert_eq "$(field 9 pool)" 450
assert_eq "$(field 7 pool)" 300

# A VM's clear_stats zeroes its counters only.
p=$(pool_fig)
assert_ok dmsetup message vm1 0 clear_stats
assert_eq "$(vm_fig vm1)" "0 0 0 0"
check_pool "$p" "after vm1's clear_stats"
io vm1 50 40
p=$(add "$p" "$(vm_fig vm1)")
check_pool "$p" "vm1's I/O since its clear added"

# Removal of a VM device whose counters were cleared: all it counted,
# before and after the clear, stays in the pool's.
assert_ok dmsetup remove vm1
check_pool "$p" "after vm1 was removed"
assert_eq "$(field 6 pool)" 1

# A reload shares the counters between the two tables: counted once.
v2=$(vm_fig vm2)
assert_ok dmsetup reload vm2 --table "$(dmsetup table vm2)"
check_pool "$p" "with vm2's reload loaded"
assert_ok dmsetup suspend vm2
assert_ok dmsetup resume vm2
check_pool "$p" "after vm2's reload"
assert_eq "$(vm_fig vm2)" "$v2"
io vm2 20 10
p=$(add "$p" "$(vm_fig vm2)" "$(neg "$v2")")
check_pool "$p" "vm2's I/O after the reload added"

# The pool's clear_stats: the pool's counters only.
assert_ok dmsetup message pool 0 clear_stats
check_pool "0 0 0 0" "after the pool's clear_stats"
v2=$(vm_fig vm2)
assert_eq "$(field 7 vm2)" 170

# vm_id guest-1.vda attached again: its counters start at 0.
vm_create vm1 pool "$(disk 1)" guest-1.vda
vm_create vm3 pool "$(disk 3)" guest-3.vda
assert_eq "$(vm_fig vm1)" "0 0 0 0"
check_pool "0 0 0 0" "with vm1 attached again and vm3"
io vm1 30 20
io vm3 10 10
io vm2 5 5
p=$(add "$(vm_fig vm1)" "$(vm_fig vm3)" "$(vm_fig vm2)" \
	"$(neg "$v2")")
check_pool "$p" "I/O since the pool's clear_stats"

# Removal of a VM device that counted before and after the pool's clear:
# the pool keeps what it counted since that clear, no more, no less.
assert_ok dmsetup remove vm2
check_pool "$p" "after vm2 was removed"
assert_ok dmsetup message vm3 0 clear_stats
assert_ok dmsetup remove vm3
check_pool "$p" "after vm3's clear_stats and removal"
v1=$(vm_fig vm1)
io vm1 7 3
p=$(add "$p" "$(vm_fig vm1)" "$(neg "$v1")")
check_pool "$p" "vm1's last I/O added"
assert_eq "$(field 9 pool)" $((30 + 10 + 5 + 7))
assert_eq "$(field 7 pool)" $((20 + 10 + 5 + 3))
assert_ok dmsetup remove vm1
check_pool "$p" "after every VM device was removed"
assert_eq "$(field 6 pool)" 0
dmsetup remove pool || fail "remove pool"
