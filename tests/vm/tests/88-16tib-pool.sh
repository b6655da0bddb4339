#!/bin/sh
# 88-16tib-pool: a pool on a sparse 16 TiB cache device at 64 KiB blocks
# (issue 17, item 2: no fixed cap on blocks; the block table was one
# kvmalloc'd array, 76.7 million blocks at most, 4.6 TiB at 64 KiB).  The
# pool is created, its table reloaded, and loaded again from the device;
# create and load times and the kernel memory it takes (MemAvailable
# before and after, vmalloc and slab beside) are RESULT lines.  About 268
# million blocks at 42 bytes (40-byte blocks: the VMs' lists of blocks
# and the sub-block maps; 30 bytes before both): 10.67 GiB measured of the
# guest's 14 GiB.  The host holds the disk as a qcow2 image (ext4 cannot
# hold a 16 TiB sparse file).  make check-full only: its guest is large
# and it takes minutes (220 s on 6.1); alone, as it times things and two
# such guests (make check-full runs it on each kernel) would not fit a 23
# GiB host.
# vwtest-disks: 1x16T
# vwtest-mem: 14336
# vwtest-timeout: 1800
# vwtest-full: yes
# vwtest-exclusive: yes
# shellcheck disable=SC1091,SC2154 # guest paths; blocks, used, secs: set by big_pool_create, timed_pool_create
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
vw_load_module
zero_head "$ssd"
log "cache device: $(($(sectors "$ssd") / 2)) KiB"
big_pool_create tib16 "$ssd"
[ "$blocks" -gt 268000000 ] || fail "only $blocks blocks on 16 TiB at 64 KiB"

# A table reload binds to the pool as it is.
_t0=$(date +%s)
dmsetup reload pool --table "0 $(sectors "$ssd") vwcache-pool $ssd 65536 0" ||
	fail "reload pool"
dmsetup resume pool || fail "resume pool"
echo "RESULT tib16_reload_s $(($(date +%s) - _t0))"
assert_eq "$(field 3 pool)" "$blocks"

big_pool_gone

# Loaded from the device (lazy entries: only the pages ever written are
# read, none for this fresh pool).
timed_pool_create "$ssd"
echo "RESULT tib16_load_s $secs"
assert_eq "$(field 3 pool)" "$blocks"
assert_eq "$(field 5 pool)" 0
dmsetup remove pool || fail "remove pool"
log "16 TiB at 64 KiB: $blocks blocks, $used KiB of RAM ($((used * 1024 / blocks)) bytes a block)"
log "ok"
