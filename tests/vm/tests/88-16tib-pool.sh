#!/bin/sh
# 88-16tib-pool: a pool on a sparse 16 TiB cache device at 64 KiB blocks
# (issue 17, item 2: no fixed cap on blocks; the block table was one
# kvmalloc'd array, 76.7 million blocks at most, 4.6 TiB at 64 KiB).  The
# pool is created, its table reloaded, and loaded again from the device;
# create and load times and the kernel memory it takes (MemAvailable
# before and after, vmalloc and slab beside) are RESULT lines.  About 268
# million blocks at 30 bytes: some 7.7 GiB of the guest's 10 GiB.  The
# host holds the disk as a qcow2 image (ext4 cannot hold a 16 TiB sparse
# file).  make check-full only: its guest is large and it takes minutes
# (220 s on 6.1); alone, as it times things and two such guests (make
# check-full runs it on each kernel) would not fit a 23 GiB host.
# vwtest-disks: 1x16T
# vwtest-mem: 10240
# vwtest-timeout: 1800
# vwtest-full: yes
# vwtest-exclusive: yes
# shellcheck disable=SC1091 # guest paths
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
kib() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
settle() { sync; echo 3 >/proc/sys/vm/drop_caches; sleep 1; }
# timed_create: create the pool, its seconds in $secs.
timed_create() {
	_t0=$(date +%s)
	pool_create pool "$ssd" 65536
	secs=$(($(date +%s) - _t0))
}

vw_load_module
zero_head "$ssd"
dev_kib=$(($(sectors "$ssd") / 2))
log "cache device: $dev_kib KiB"
settle
m0=$(kib MemAvailable) v0=$(kib VmallocUsed) s0=$(kib Slab)
timed_create
echo "RESULT tib16_create_s $secs"
settle
m1=$(kib MemAvailable) v1=$(kib VmallocUsed) s1=$(kib Slab)
blocks=$(field 3 pool)
used=$((m0 - m1))
echo "RESULT tib16_blocks $blocks"
echo "RESULT tib16_ram_kib $used vmalloc_kib $((v1 - v0)) slab_kib $((s1 - s0)) bytes_per_block $((used * 1024 / blocks))"
[ "$blocks" -gt 268000000 ] || fail "only $blocks blocks on 16 TiB at 64 KiB"
# 1 GiB per TiB: the cache device's KiB / 1024.
[ "$used" -le $((dev_kib / 1024)) ] ||
	fail "the pool takes $used KiB of RAM, more than 1 GiB per TiB ($((dev_kib / 1024)) KiB)"

# A table reload binds to the pool as it is.
_t0=$(date +%s)
dmsetup reload pool --table "0 $(sectors "$ssd") vwcache-pool $ssd 65536 0" ||
	fail "reload pool"
dmsetup resume pool || fail "resume pool"
echo "RESULT tib16_reload_s $(($(date +%s) - _t0))"
assert_eq "$(field 3 pool)" "$blocks"

dmsetup remove pool || fail "remove pool"
settle
m2=$(kib MemAvailable)
[ $((m0 - m2)) -le $((used / 8 + 8192)) ] ||
	fail "removing the pool gave back only $((m2 - m1)) of $used KiB"

# Loaded from the device: every entry read.
timed_create
echo "RESULT tib16_load_s $secs"
assert_eq "$(field 3 pool)" "$blocks"
assert_eq "$(field 5 pool)" 0
dmsetup remove pool || fail "remove pool"
log "16 TiB at 64 KiB: $blocks blocks, $used KiB of RAM ($((used * 1024 / blocks)) bytes a block)"
log "ok"
