#!/bin/sh
# Writeback above high_watermark keeps pace with the writes instead of
# racing to low_watermark (the admin guide, "Data path"): with dirty data
# just above the high watermark little writeback is in flight at once,
# more the nearer the pool is to all dirty.  Seen through an origin
# slowed by dm-delay to 1 s a write (and a flush), so that the blocks
# written back in a few seconds count what writeback had in flight;
# single-block runs (every other block written), so a block is a run.
# The dirty data is made at high_watermark 100 (no writeback), then the
# mark is set to 50, while the VM device reads (I/O that writeback yields
# to).  With no VM I/O at all (the pool idle) writeback has all it may
# in flight at once, also just above the mark, and stops at the low mark.  Then the data is right on
# the VM device and, after a flush, on the origin.
# vwtest-disks: 1x64M 1x256M
# vwtest-timeout: 300
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
odisk=$(disk 1)
dev=/dev/mapper/vm1

vw_load_module
zero_head "$ssd"
osect=$(sectors "$odisk")
delay() { # MS: the origin's write delay
	dm_set_table origin "0 $osect delay $odisk 0 0 $odisk 0 $1"
}
delay 1000
pool_create pool "$ssd" 4096 high_watermark 100 low_watermark 10 max_age 0
vm_create vm1 pool /dev/mapper/origin guest-1
total=$(field 3 pool)

# write_until PCT: 4 KiB writes to every other block, on from where the
# last call stopped (new blocks), until PCT % of the pool's blocks are
# dirty.
done_blocks=0
write_until() {
	_d0=$(field 5 pool)
	_n=$(($1 * total / 100 - _d0))
	fio --name=w --filename=$dev --direct=1 --ioengine=libaio --iodepth=16 \
		--bs=4k --rw=write:4k --offset=$((done_blocks * 8192)) \
		--number_ios=$_n --size=$((_n * 8192)) \
		--output=/tmp/fio.out || { cat /tmp/fio.out; fail "fio"; }
	done_blocks=$((done_blocks + _n))
	assert_eq "$(field 5 pool)" $((_d0 + _n)) "dirty blocks at $1 %"
}
# written_back busy|idle: blocks written back in the 5 s after
# high_watermark 50 (low 10), busy: while the VM device reads its first
# MiB (SSD hits, 200 a second); then writeback stops (low_watermark 99
# ends it, high 100 keeps it from starting again) and what it had in
# flight lands.
written_back() {
	if [ "$1" = busy ]; then
		fio --name=r --filename=$dev --direct=1 --ioengine=psync \
			--bs=4k --rw=randread --size=1m --rate_iops=200 \
			--time_based --runtime=8 --eta=never --output=/tmp/fio-r.out &
		_reader=$!
		sleep 1
	fi
	_wb0=$(field 11 pool)
	assert_ok dmsetup message pool 0 set low_watermark 10
	assert_ok dmsetup message pool 0 set high_watermark 50
	sleep 5
	_wb1=$(field 11 pool)
	field 5 pool >/tmp/dirty-left
	assert_ok dmsetup message pool 0 set high_watermark 100
	assert_ok dmsetup message pool 0 set low_watermark 99
	if [ "$1" = busy ]; then
		wait $_reader || { cat /tmp/fio-r.out >&2; fail "reader"; }
	fi
	sleep 3
	echo $((_wb1 - _wb0))
}

write_until 52
near=$(written_back busy)
log "52 % dirty ($((52 * total / 100)) of $total blocks): $near written back in 5 s"
[ "$near" -gt 0 ] || fail "no writeback above the high watermark"
# 2 % above a 50 % mark: 2/50 of the 16 MiB that writeback may have in
# flight (164 blocks), then one run at a time; racing to the low mark,
# it had all 16 MiB in flight (4096 blocks a 2-second round trip).
[ "$near" -le 1000 ] || fail "$near blocks written back just above the high watermark"

# The same, idle: all 16 MiB in flight, down towards the low mark.
write_until 52
idle=$(written_back idle)
log "52 % dirty, no VM I/O: $idle written back in 5 s"
[ "$idle" -ge $((near * 4)) ] && [ "$idle" -ge 2000 ] ||
	fail "idle pool wrote back $idle blocks in 5 s (busy: $near)"
# ... and it stops at the low mark (10 %), less what was in flight when
# it got there: no more than what is above the mark is in flight at once.
left=$(cat /tmp/dirty-left)
log "idle: $left blocks left dirty, low mark $((total / 10))"
[ "$left" -ge $((total / 10 - 64)) ] ||
	fail "idle writeback went on past the low mark: $left dirty blocks left"

write_until 90
far=$(written_back busy)
log "90 % dirty: $far written back in 5 s"
[ "$far" -ge $((near * 4)) ] ||
	fail "writeback did not grow with the dirty share: $near then $far"

delay 0
got=$(dd if=$dev bs=1M iflag=direct 2>/dev/null | md5sum) || fail "read back"
assert_ok dmsetup message pool 0 flush
wait_clean vm1 120
dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"
org=$(dd if=/dev/mapper/origin bs=1M iflag=direct 2>/dev/null | md5sum) ||
	fail "read origin"
[ "$got" = "$org" ] || fail "origin differs from the VM device after the flush"
dmsetup remove origin || fail "remove origin"
log "PASS"
