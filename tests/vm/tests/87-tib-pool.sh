#!/bin/sh
# A pool on a sparse 1 TiB cache device at 64 KiB blocks (issue 17: real
# SSD sizes in little RAM): the kernel memory it takes (MemAvailable
# before and after, vmalloc and slab beside) is at most 1 GiB per TiB of
# cache device, all of it given back when the pool goes, and reported by
# the pool's sysfs ram_fixed_bytes and ram_block_bytes; create, clean
# load and dirty recovery times are printed as RESULT lines (no bound:
# timing belongs to make bench).  The dirty recovery keeps 256 dirty
# 64 KiB blocks, read back through a VM device.  4 KiB random writes
# through the pool are all absorbed by sub-blocks.
# vwtest-disks: 1x1T 1x64M
# vwtest-mem: 2048
# vwtest-timeout: 600
# shellcheck disable=SC1091,SC2154 # guest paths; blocks, used, kmem, secs: set by big_pool_create, timed_pool_create
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
N=256 # dirty blocks
sum() { md5sum | cut -d' ' -f1; }
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
vw_load_module
zero_head "$ssd"
head -c $((N * 65536)) /dev/urandom >/tmp/data	# before RAM is measured
big_pool_create tib "$ssd"
# What the pool says it takes (sysfs, fixed and per block apart) is what
# the kernel allocated meanwhile (vmalloc and slab), within 10 %; not the
# MemAvailable drop, which moves with the page cache's estimate (441 MiB
# against 491 MiB allocated in one run).
sysp=/sys/block/dm-$(dmsetup info -c --noheadings -o minor pool)/vwcache_pool
rf=$(cat "$sysp/ram_fixed_bytes") rb=$(cat "$sysp/ram_block_bytes")
said=$(((rf + rb) / 1024))
echo "RESULT tib_ram_reported_kib $said fixed_kib $((rf / 1024)) block_kib $((rb / 1024)) bytes_per_block $((rb / blocks))"
if [ $((said * 10)) -lt $((kmem * 9)) ] || [ $((said * 10)) -gt $((kmem * 11)) ]; then
	fail "the pool reports $said KiB of RAM, vmalloc and slab grew by $kmem KiB"
fi
dmcache-ctl pool-status pool >/tmp/ps 2>&1 || fail "pool-status: $(cat /tmp/ps)"
grep -q "^  kernel RAM .* for the blocks (.* bytes a block), .* fixed$" /tmp/ps ||
	fail "pool-status shows no kernel RAM: $(cat /tmp/ps)"
big_pool_gone

timed_pool_create "$ssd"
echo "RESULT tib_load_clean_s $secs"
assert_eq "$(field 5 pool)" 0
vm_create vm pool "$origin" tib.vda
dd if=/tmp/data of=/dev/mapper/vm bs=65536 oflag=direct 2>/dev/null || fail "write vm"
assert_eq "$(field 4 vm)" $N
dmsetup remove vm || fail "remove vm"
dmsetup remove pool || fail "remove pool"

timed_pool_create "$ssd"
echo "RESULT tib_load_dirty_s $secs"
assert_eq "$(field 5 pool)" $N
t0=$(now_ms)
vm_create vm pool "$origin" tib.vda
echo "RESULT tib_attach_ms $(($(now_ms) - t0))"
assert_eq "$(dd if=/dev/mapper/vm bs=65536 count=$N iflag=direct 2>/dev/null | sum)" \
	"$(sum </tmp/data)"
t0=$(now_ms)
dmsetup remove vm || fail "remove vm"
echo "RESULT tib_detach_ms $(($(now_ms) - t0))"

# 4 KiB random writes through the 1 TiB pool are absorbed (sub-blocks):
# write hits >= 99 %, no write reaches their origin (the second half of
# the disk, a dm-linear of its own, whose stat counts them) until
# writeback, which then writes 8 sectors for each.
echo 600000 >"/sys/block/dm-$(dmsetup info -c --noheadings -o minor pool)/vwcache_pool/max_age"
half=$(($(sectors "$origin") / 2))
assert_ok dmsetup create o2 --table "0 $half linear $origin $half"
vm_create vm2 pool /dev/mapper/o2 tib-4k.vda
o2stat() { awk -v f="$1" '{ print $f }' "/sys/block/dm-$(dmsetup info -c --noheadings -o minor o2)/stat"; }
w0=$(o2stat 5) s0=$(o2stat 7)
fio --name=w4k --filename=/dev/mapper/vm2 --direct=1 --ioengine=psync \
	--rw=randwrite --bs=4k --number_ios=1024 --randseed=87 --eta=never \
	--output=/tmp/fio.out || { cat /tmp/fio.out; fail "4 KiB writes"; }
w=$(field 7 vm2) h=$(field 8 vm2)
echo "RESULT tib_4k_writes $w write_hits $h origin_writes $(($(o2stat 5) - w0))"
[ $((h * 100)) -ge $((w * 99)) ] || fail "$h of $w 4 KiB writes absorbed"
assert_eq "$(($(o2stat 5) - w0))" 0 "origin writes before writeback"
assert_ok dmsetup message vm2 0 flush
wait_clean vm2 300
echo "RESULT tib_4k_wb_sectors $(($(o2stat 7) - s0))"
assert_eq "$(($(o2stat 7) - s0))" $((w * 8)) "sectors written back for $w 4 KiB writes"
dmsetup remove vm2 || fail "remove vm2"
dmsetup remove o2 || fail "remove o2"
dmsetup remove pool || fail "remove pool"
log "1 TiB at 64 KiB: $blocks blocks, $used KiB of RAM ($((used * 1024 / blocks)) bytes a block)"
log "ok"
