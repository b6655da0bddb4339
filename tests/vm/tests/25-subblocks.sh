#!/bin/sh
# Sub-blocks (issue 17 item 1, VWC_FEATURE_INCOMPAT_SUBBLOCKS): a cache
# block of 16 or 64 KiB tracks which 4 KiB sub-blocks it holds.
#  - 4 KiB random writes to a 64 KiB-block pool are absorbed: write hits
#    >= 99 %, no origin write until writeback, dirty_bytes counts 4 KiB
#    each; the flush then writes only those sub-blocks to the origin
#    (sectors written = 8 per 4 KiB write);
#  - reads a block holds in part are served from both devices: fio
#    verifies the 4 KiB writes through 64 KiB reads (split between SSD and
#    origin) before and after the pool is loaded again;
#  - a pool formatted before the feature (16-byte entries) loads and
#    caches whole blocks only, as before;
#  - vwc-model checks random reads, writes, flushes and discards at every
#    512-byte alignment (half of them 4 KiB aligned, so that blocks are
#    held in part) at 16 and 64 KiB blocks, across a reload of the pool,
#    and after a flush the VM device equals its origin.
# vwtest-disks: 1x256M 2x64M
# vwtest-timeout: 420
# shellcheck disable=SC1091,SC2086
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
odev=${origin#/dev/}
command -v vwc-model >/dev/null || fail "vwc-model not in the guest"
vw_load_module

# ostat FIELD: field FIELD of the origin's /sys/block/DEV/stat (5 writes
# completed, 7 sectors written).
ostat() { awk -v f="$1" '{ print $f }' /sys/block/"$odev"/stat; }
sysfs() { cat "/sys/block/dm-$(dmsetup info -c --noheadings -o minor "$1")/vwcache/$2"; }

# rfio ARGS...: fio on vm1, fail with its output.
rfio() {
	fio --name=sub --filename=/dev/mapper/vm1 --direct=1 --ioengine=psync \
		--eta=never --output=/tmp/fio.out "$@" ||
		{ cat /tmp/fio.out; fail "fio $*"; }
}

# --- 4 KiB random writes at 64 KiB blocks ---------------------------------
dd if=/dev/zero of="$origin" bs=1M count=64 conv=fsync 2>/dev/null
zero_head "$ssd"
pool_create pool "$ssd" 65536 high_watermark 95 max_age 600000
vm_create vm1 pool "$origin" sub-vm
w0=$(ostat 5)
# 1024 distinct 4 KiB blocks at random in 32 MiB (512 blocks of 64 KiB).
rfio --rw=randwrite --bs=4k --size=32m --number_ios=1024 --randseed=25 \
	--do_verify=0 --verify=crc32c
writes=$(field 7 vm1) hits=$(field 8 vm1)
log "RESULT sub_4k_writes $writes sub_4k_write_hits $hits dirty_blocks $(field 4 vm1) dirty_bytes $(sysfs vm1 dirty_bytes)"
assert_eq "$writes" 1024 "4 KiB writes counted"
[ $((hits * 100)) -ge $((writes * 99)) ] ||
	fail "only $hits of $writes 4 KiB writes absorbed at 64 KiB blocks"
assert_eq "$(($(ostat 5) - w0))" 0 "origin writes before writeback"
assert_eq "$(sysfs vm1 dirty_bytes)" $((1024 * 4096)) "dirty bytes"

# Read back through 64 KiB reads, each served from the SSD and the origin.
rfio --rw=randwrite --bs=4k --size=32m --number_ios=1024 --randseed=25 \
	--verify=crc32c --verify_only=1 --verify_fatal=1
rfio --rw=read --bs=64k --size=32m >/dev/null
log "reads after: $(field 5 vm1) reads, $(field 6 vm1) hits"

# The pool loaded again holds the same sub-blocks.
dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"
pool_create pool "$ssd" 65536 high_watermark 95 max_age 600000
vm_create vm1 pool "$origin" sub-vm
assert_eq "$(sysfs vm1 dirty_bytes)" $((1024 * 4096)) "dirty bytes after a load"
rfio --rw=randwrite --bs=4k --size=32m --number_ios=1024 --randseed=25 \
	--verify=crc32c --verify_only=1 --verify_fatal=1

# Writeback writes only the sub-blocks written.
s0=$(ostat 7)
assert_ok dmsetup message vm1 0 flush
wait_clean vm1 120
sectors=$(($(ostat 7) - s0))
log "RESULT sub_wb_sectors $sectors (1024 writes of 8 sectors)"
assert_eq "$sectors" $((1024 * 8)) "sectors written back"
dmsetup remove vm1 || fail "remove vm1"
fio --name=sub --filename="$origin" --direct=1 --ioengine=psync --eta=never \
	--rw=randwrite --bs=4k --size=32m --number_ios=1024 --randseed=25 \
	--verify=crc32c --verify_only=1 --verify_fatal=1 --output=/tmp/fio.out ||
	{ cat /tmp/fio.out; fail "the origin lacks what was written back"; }
dmsetup remove pool || fail "remove pool"

# --- a pool formatted before sub-blocks: 16-byte entries, whole blocks ----
zero_head "$ssd"
vwc-damage format-noattach "$ssd" 65536 >/dev/null || fail "format an old pool"
pool_create pool "$ssd" 65536 high_watermark 95 max_age 600000
vm_create vm1 pool "$origin" old-vm
rfio --rw=randwrite --bs=4k --size=32m --number_ios=256 --randseed=26 \
	--do_verify=0 --verify=crc32c
assert_eq "$(field 8 vm1)" 0 "4 KiB writes cached by a pool without sub-blocks"
rfio --rw=randwrite --bs=64k --size=32m --number_ios=64 --randseed=27 \
	--do_verify=0 --verify=crc32c
assert_eq "$(field 4 vm1)" 64 "64 KiB writes cached by a pool without sub-blocks"
dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"
vwc-damage info "$ssd" | grep -q "^entries: 64 valid, 64 dirty" ||
	{ vwc-damage info "$ssd"; fail "the old pool's entries"; }
pool_create pool "$ssd" 65536 high_watermark 95 max_age 600000
vm_create vm1 pool "$origin" old-vm
rfio --rw=randwrite --bs=64k --size=32m --number_ios=64 --randseed=27 \
	--verify=crc32c --verify_only=1 --verify_fatal=1
dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"

# --- the model at every alignment, 16 and 64 KiB blocks -------------------
for bs in 16384 65536; do
	zero_head "$ssd"
	dd if=/dev/zero of="$origin" bs=1M count=64 conv=fsync 2>/dev/null
	dd if=/dev/zero of="$(disk 2)" bs=1M count=64 conv=fsync 2>/dev/null
	pool_create pool "$ssd" "$bs"
	vm_create vm1 pool "$origin" m-1
	vm_create vm2 pool "$(disk 2)" m-2
	devs="/dev/mapper/vm1 /dev/mapper/vm2"
	vwc-model --ops 4000 --seed "$bs" --threads 2 --initial-zero \
		--align4k 50 --max-io 128k --state /tmp/s.state --report $devs \
		>/tmp/m.out 2>&1 || { cat /tmp/m.out; fail "model at $bs"; }
	grep -q "^mismatches: *0 " /tmp/m.out || fail "mismatches at $bs"
	log "$bs: $(dmsetup status vm1)"
	for v in vm1 vm2; do dmsetup remove $v || fail "remove $v"; done
	dmsetup remove pool || fail "remove pool"
	pool_create pool "$ssd" "$bs"
	vm_create vm1 pool "$origin" m-1
	vm_create vm2 pool "$(disk 2)" m-2
	vwc-model --quiet --load /tmp/s.state --verify-only $devs \
		>/tmp/m.out 2>&1 || { cat /tmp/m.out; fail "verify after load at $bs"; }
	vwc-model --quiet --load /tmp/s.state --ops 1000 --seed $((bs + 1)) \
		--threads 2 --align4k 50 --max-io 128k $devs \
		>/tmp/m.out 2>&1 || { cat /tmp/m.out; fail "more I/O at $bs"; }
	assert_ok dmsetup message vm1 0 flush
	wait_clean vm1 120
	a=$(md5sum </dev/mapper/vm1)
	b=$(md5sum <"$origin")
	assert_eq "$a" "$b" "vm1 and its origin after flush at $bs"
	for v in vm1 vm2; do dmsetup remove $v || fail "remove $v"; done
	dmsetup remove pool || fail "remove pool"
done
log "sub-blocks ok"
