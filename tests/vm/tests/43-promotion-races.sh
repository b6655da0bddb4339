#!/bin/sh
# Two races of read promotion and whole-bio mapping:
#  a. a read miss of a block while a write around to that block is in
#     flight to the origin reads the origin's old data: it must not be
#     copied into the pool, or every later read would hit data older than
#     a completed write (the write here is held 3 s by dm-delay, and the
#     block is read twice meanwhile, so the filter finds it hot too);
#  b. a write of two whole blocks at a VM's cache quota, whose second
#     block has a clean copy that the quota's eviction picks: the copy is
#     released once (twice put it on the pool's free list twice, so two
#     blocks could later share it: on a pool of 8 MiB, writing more
#     blocks than it holds and reading them back shows it).
# vwtest-disks: 1x64M 1x64M 1x64M 1x8M
# vwtest-timeout: 300
# shellcheck disable=SC1091,SC2086 # guest paths without spaces
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
o1=$(disk 1)
o2=$(disk 2)
S1=$(sectors "$o1")

vw_load_module
zero_head "$ssd"
byte_file a 4096 >/tmp/A
byte_file b 4096 >/tmp/B
dd if=/tmp/A of="$o1" bs=4k seek=7 conv=fsync 2>/dev/null || fail "origin A"
# Origin writes held 3 s, reads not.
dmsetup create od --table "0 $S1 delay $o1 0 0 $o1 0 3000" || fail "delay"
pool_create pool "$ssd" 4096
vm_create vm1 pool /dev/mapper/od guest-1 mode writethrough

# ---- a. promotion against a write around in flight --------------------------
dd if=/tmp/B of=/dev/mapper/vm1 bs=4k seek=7 oflag=direct 2>/dev/null &
wp=$!
sleep 1
for _i in 1 2; do
	dd if=/dev/mapper/vm1 of=/tmp/got bs=4k count=1 skip=7 iflag=direct \
		2>/dev/null || fail "read during the write"
done
wait $wp || fail "the write failed"
sleep 1
dd if=/dev/mapper/vm1 of=/tmp/got bs=4k count=1 skip=7 iflag=direct \
	2>/dev/null || fail "read after the write"
cmp /tmp/B /tmp/got ||
	fail "a read after a completed write returns the data before it ($(od -An -c -N1 /tmp/got)): a promotion took the origin's old data"
log "a. reads during a write around: not promoted; after it, its data"
dmsetup remove vm1 || fail "remove vm1"

# ---- b. a fill run at the quota, its second block's clean copy evicted ------
dmsetup remove pool || fail "remove pool"
small=$(disk 3)
zero_head "$small"
pool_create pool "$small" 4096
vm_create vm2 pool "$o2" guest-2 cache_quota 4
v=/dev/mapper/vm2
# Clean copies, oldest first: block 10, block 1, blocks 20 and 21.
for b in 10 1 20 21; do
	dd if=$v of=/dev/null bs=4k count=1 skip=$b iflag=direct 2>/dev/null
	sleep 0.3
done
assert_eq "$(field 3 vm2)" 4
byte_file c 8192 >/tmp/C
dd if=/tmp/C of=$v bs=8k count=1 oflag=direct 2>/dev/null || fail "write 0-1"
sleep 2 # a commit: freed blocks back on the free list
total=$(field 3 pool)
dmsetup message vm2 0 set cache_quota 0 || fail "quota off"
# More distinct blocks than the pool holds, each checked after all are
# written: a block handed out twice returns another block's data.
fio --name=all --filename=$v --direct=1 --ioengine=libaio --iodepth=8 \
	--rw=randwrite --bs=4k --offset=1m --size=$(((total + 256) * 4096)) \
	--verify=crc32c --verify_fatal=1 --randrepeat=0 \
	--output=/tmp/all.out >/dev/null || {
	grep -i "verify\|error" /tmp/all.out | head -n 5
	fail "blocks written through the pool read back wrong"
}
dd if=$v of=/tmp/got bs=8k count=1 iflag=direct 2>/dev/null
cmp /tmp/C /tmp/got || fail "blocks 0-1 read back wrong"
log "b. $((total + 256)) blocks written and verified on a pool of $total"

dmsetup remove vm2 || fail "remove vm2"
dmsetup remove pool || fail "remove pool"
dmsetup remove od || fail "remove od"
log "PASS"
