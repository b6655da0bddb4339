#!/bin/sh
# 22-refuse-before-write: a cache device with more blocks than a pool can
# hold at the block size asked for is refused before anything is written
# to it (issue 17, item 6).  The device: a 64 MiB disk (zeroed, as a new
# SSD) followed by dm-zero up to 320 GiB, so 4 KiB blocks are too many
# (about 76 million at most).  Before the fix the pool was formatted
# first (metadata zeroed, both superblocks written) and refused after,
# when the block table was sized: the device was left with a pool's
# superblocks that no table had accepted.  A larger block size is then
# accepted on the same device.
# vwtest-disks: 1x64M
# vwtest-timeout: 300
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

disk0=$(disk 0)
vw_load_module
kmod_load dm-zero

head_sectors=$(sectors "$disk0")
total=$((320 * 1024 * 1024 * 2))
dd if=/dev/zero of="$disk0" bs=1M count=64 conv=fsync 2>/dev/null ||
	fail "zeroing $disk0"
dmsetup create big --table "0 $head_sectors linear $disk0 0
$head_sectors $((total - head_sectors)) zero" || fail "creating the 320 GiB device"

expect_refused "320 GiB at 4 KiB blocks" \
	"Cache device has too many blocks: use a larger block_size" pool \
	"0 $total vwcache-pool /dev/mapper/big 4096 0"
blockdev --flushbufs "$disk0" || fail "flushbufs"
nz=$(od -An -v -tx1 -N 1048576 "$disk0" | tr -d ' \n' | tr -d 0 | wc -c)
assert_eq "$nz" 0 "non-zero bytes in the first MiB after the refusal"
log "refused with nothing written: the first MiB of the device is still zero"

pool_create pool /dev/mapper/big 65536
blockdev --flushbufs "$disk0" || fail "flushbufs"
nz=$(od -An -v -tx1 -N 8192 "$disk0" | tr -d ' \n' | tr -d 0 | wc -c)
assert_ne "$nz" 0 "non-zero bytes in the superblocks of the accepted pool"
log "accepted at 64 KiB blocks: $(field 3 pool) blocks"
dmsetup remove pool big || fail "removing the devices"
