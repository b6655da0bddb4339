#!/bin/sh
# 63-write-around-durable: writes that go around the cache to a block whose
# durable entry still says dirty (issue 15, item 3).  A dirty block is
# committed, then written back (max_age), so it is clean in RAM while its
# committed entry says dirty until the next commit (commit_interval 60 s:
# none comes by itself).  Then a write goes around the cache to the origin:
#  a. a partial-block FUA write (512 bytes; no flush after it: through the
#     test target dm-vwtest-fua, since O_DSYNC on a block device always
#     flushes after the write, which hid the hole from userspace);
#  b. a whole-block FUA write in writethrough mode;
#  c. a partial-block write, then a FLUSH.
# Power cut right after it (every leg drops writes, devices removed), load:
# the write must be there.  Before the fix, a and b completed at once, and
# after the cut the old dirty block came back and was served (and would
# have been written back) over them: reads gave the data written back.
# I5 (design.rst): such a FUA write completes only after a commit.
# vwtest-disks: 1x64M 1x64M
# vwtest-timeout: 300
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
vw_load_module
insmod /lib/vwcache/dm-vwtest-fua.ko || fail "insmod dm-vwtest-fua (tests/kmod)"
. /lib/vwcache/lib-legs.sh

up() {
	pool_create pool /dev/mapper/ssdleg 4096 max_age "$1" high_watermark 95 \
		commit_interval 60000
	vm_create vm pool /dev/mapper/oleg guest-63
}

# around_write BLOCK SECTOR BYTES TEXT FUA: BYTES of TEXT (repeated) at
# 512-byte SECTOR of BLOCK, O_DIRECT; with FUA 1 through dm-vwtest-fua
# (tests/kmod/): one FUA write that no flush follows.
around_write() {
	_dev=/dev/mapper/vm
	if [ "$5" = 1 ]; then
		dmsetup create fua --table "0 $(sectors /dev/mapper/vm) vwtest-fua /dev/mapper/vm 0" ||
			fail "vwtest-fua over the VM device"
		_dev=$(dm_dev_of fua)
	fi
	fio --name=around --filename="$_dev" --direct=1 --rw=write \
		--bs="$3" --size="$3" --offset=$(($1 * 4096 + $2 * 512)) \
		--invalidate=0 --buffer_pattern="\"$4\"" >/tmp/fio.out 2>&1 ||
		{ cat /tmp/fio.out; fail "write around at block $1"; }
	if [ "$5" = 1 ]; then
		dmsetup remove fua || fail "remove fua"
	fi
}

# sector_has BLOCK SECTOR TEXT: that 512-byte sector of the VM starts with TEXT.
sector_has() {
	dd if=/dev/mapper/vm bs=512 skip=$(($1 * 8 + $2)) count=1 iflag=direct \
		2>/dev/null | head -c ${#3}
}

# written_back BLOCK TEXT: wait until the origin holds TEXT at BLOCK and
# the VM has no dirty block (clean in RAM, its entry still dirty on disk).
written_back() {
	_t=0
	until [ "$(raw "$1")" = "$2" ] && [ "$(field 4 vm)" = 0 ]; do
		_t=$((_t + 1))
		[ $_t -le "$(scaled 100)" ] || fail "block $1 was not written back: $(dmsetup status vm)"
		sleep 0.1
	done
}

ssd_leg whole
origin_leg linear

# case NAME: block 7 dirty and committed, then written back.
setup() {
	zero_head "$ssd"
	dd if=/dev/zero of="$origin" bs=1M count=1 conv=fsync 2>/dev/null
	up 1000
	put 7 "dirty $1"
	flush_dev /dev/mapper/vm || fail "$1: flush after the first write"
	written_back 7 "dirty $1"
	dmsetup message pool 0 set max_age 0 || fail "max_age 0"
}

check() {
	up 0
	_g=$(sector_has 7 "$2" "$3")
	[ "$_g" = "$3" ] || fail "$1: after the power cut, sector $2 of block 7 reads '$_g', expected '$3' (cached $(field 3 vm), dirty $(field 4 vm))"
	down
}

# a. partial FUA write around
setup a
around_write 7 1 512 "fua-a" 1
power_cut
check a 1 "fua-a"
log "a: a partial FUA write around a written-back dirty block survived a power cut"

# b. writethrough FUA whole-block write
setup b
dmsetup message vm 0 set mode writethrough || fail "writethrough"
around_write 7 0 4096 "fua-b" 1
power_cut
check b 0 "fua-b"
log "b: a FUA write in writethrough mode survived a power cut"

# c. partial write, then FLUSH
setup c
around_write 7 2 512 "flushed-c" 0
flush_dev /dev/mapper/vm || fail "c: flush"
power_cut
check c 2 "flushed-c"
log "c: a write around followed by a FLUSH survived a power cut"

dmsetup remove ssdleg oleg || fail "removing the legs"
