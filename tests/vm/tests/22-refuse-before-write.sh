#!/bin/sh
# 22-refuse-before-write: a cache device that a pool cannot take at the
# block size asked for is refused before anything is written to it
# (issue 17, item 6).  The device: a 64 MiB disk (zeroed, as a new SSD)
# followed by dm-zero, so that it can be far larger than any disk image.
# - 17 TiB at 4 KiB blocks: more than 2^32 - 1 blocks, the most a pool
#   numbers (u32 cblocks), refused as such;
# - 17 TiB at 64 KiB blocks: 285 million blocks, whose table (about 8.5
#   GiB) is more than this 1 GiB guest has, refused as such, before any
#   of it is allocated;
# - 320 GiB at 4 KiB blocks: 84 million blocks, 2.6 GiB of table,
#   refused for RAM too (before the block table was in chunks, this was
#   the too-many-blocks case: the cap was 76.7 million).
# Before the fix the pool was formatted first (metadata zeroed, both
# superblocks written) and refused after, when the block table was sized
# or allocated: the device was left with a pool's superblocks that no
# table had accepted.  The table is now allocated before the format
# writes.  A larger block size is then accepted on the 320 GiB device.
# vwtest-disks: 1x64M
# vwtest-timeout: 300
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

disk0=$(disk 0)
vw_load_module
kmod_load dm-zero

head_sectors=$(sectors "$disk0")
dd if=/dev/zero of="$disk0" bs=1M count=64 conv=fsync 2>/dev/null ||
	fail "zeroing $disk0"
# big_device GIB: /dev/mapper/big, $disk0 then dm-zero, GIB GiB in all.
big_device() {
	total=$(($1 * 1024 * 1024 * 2))
	dmsetup create big --table "0 $head_sectors linear $disk0 0
$head_sectors $((total - head_sectors)) zero" || fail "creating the $1 GiB device"
}
untouched() {
	blockdev --flushbufs "$disk0" || fail "flushbufs"
	nz=$(od -An -v -tx1 -N 1048576 "$disk0" | tr -d ' \n' | tr -d 0 | wc -c)
	assert_eq "$nz" 0 "non-zero bytes in the first MiB after refusing $1"
	log "$1 refused with nothing written: the first MiB of the device is still zero"
}

big_device $((17 * 1024))
expect_refused "17 TiB at 4 KiB blocks" \
	"Cache device has more than 2^32 - 1 blocks of this size: use a larger block_size" \
	pool "0 $total vwcache-pool /dev/mapper/big 4096 0"
untouched "17 TiB at 4 KiB blocks"
expect_refused "17 TiB at 64 KiB blocks in a 1 GiB guest" \
	"Cache device needs more RAM for its block table than the machine has: use a larger block_size" \
	pool "0 $total vwcache-pool /dev/mapper/big 65536 0"
untouched "17 TiB at 64 KiB blocks"
dmsetup remove big || fail "removing big"

big_device 320
expect_refused "320 GiB at 4 KiB blocks in a 1 GiB guest" \
	"Cache device needs more RAM for its block table than the machine has: use a larger block_size" \
	pool "0 $total vwcache-pool /dev/mapper/big 4096 0"
untouched "320 GiB at 4 KiB blocks"

pool_create pool /dev/mapper/big 65536
blockdev --flushbufs "$disk0" || fail "flushbufs"
nz=$(od -An -v -tx1 -N 8192 "$disk0" | tr -d ' \n' | tr -d 0 | wc -c)
assert_ne "$nz" 0 "non-zero bytes in the superblocks of the accepted pool"
log "accepted at 64 KiB blocks: $(field 3 pool) blocks"
dmsetup remove pool big || fail "removing the devices"
