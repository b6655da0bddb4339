#!/bin/sh
# Queue limits of a VM device: its origin's and its pool SSD's.  A pool on
# a 4Kn SSD (null_blk, 4096-byte logical blocks) under a 512-byte origin:
#  - the VM device's logical_block_size is 4096, its physical_block_size and
#    minimum_io_size at least the SSD's;
#  - 512-byte direct reads and writes at a 512-byte offset of a cached
#    (dirty) block are refused by the block layer (EINVAL), they never
#    reach the SSD: no I/O error in the kernel log, the VM stays "ok" and
#    the block reads back as written, by 4 KiB and buffered by 512 bytes;
#  - a VM table whose length is not a multiple of 4096 bytes is refused.
# With the origin's limits alone (before issue 15 item 10) the VM device
# said 512 and such a read went to the SSD as a 512-byte bio.
# vwtest-disks: 1x64M 1x16M
# vwtest-timeout: 180
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

origin=$(disk 0)
origin2=$(disk 1)
vw_load_module
ssd=$(mk_null_blk ssd4k 64 4096)

# q DEV KEY: /sys/block/DEV/queue/KEY of block device DEV (a /dev path or a
# /sys/block directory).
q() {
	case $1 in
	/sys/*) cat "$1/queue/$2" ;;
	*) cat "/sys/block/$(basename "$(readlink -f "$1")")/queue/$2" ;;
	esac
}

assert_eq "$(q "$ssd" logical_block_size)" 4096 "the SSD's logical block size"
assert_eq "$(q "$origin" logical_block_size)" 512 "the origin's logical block size"

zero_head "$ssd"
pool_create pool "$ssd" 4096 max_age 0 high_watermark 95
vm_create vm1 pool "$origin" guest-33
vm=/dev/mapper/vm1
sys=$(dm_sys vm1)

# One whole 4 KiB block, block 3: dirty in the pool, on the SSD only.
printf 'queue limits block 3\n' | dd of=$vm bs=4096 seek=3 conv=sync \
	oflag=direct 2>/dev/null || fail "4 KiB write of block 3"
assert_eq "$(field 4 vm1)" 1 "dirty blocks after the 4 KiB write"
dd if=$vm bs=4096 skip=3 count=1 2>/dev/null >/tmp/block3 ||
	fail "buffered read of block 3"

lbs=$(q "$sys" logical_block_size)
pbs=$(q "$sys" physical_block_size)
iomin=$(q "$sys" minimum_io_size)
log "SSD: logical $(q "$ssd" logical_block_size) physical $(q "$ssd" physical_block_size) io_min $(q "$ssd" minimum_io_size)"
log "origin: logical $(q "$origin" logical_block_size) physical $(q "$origin" physical_block_size) io_min $(q "$origin" minimum_io_size)"
log "VM device: logical $lbs physical $pbs io_min $iomin"
for d in "$ssd" "$origin" "$sys"; do
	log "discard of $(basename "$d"): granularity $(q "$d" discard_granularity) max_bytes $(q "$d" discard_max_bytes)"
done

BAD=""
bad() {
	log "BAD: $*"
	BAD="$BAD; $*"
}

# A discard walks its blocks with interrupts off: at most 1024 of them (4
# MiB at 4 KiB blocks) per bio, on 6.12 too (issue 15 item 9: 6.12 derived
# 2 GiB from the hardware limit and ignored the one io_hints set).
dmax=$(q "$sys" discard_max_bytes)
[ "$dmax" -gt 0 ] && [ "$dmax" -le $((1024 * 4096)) ] ||
	bad "discard_max_bytes $dmax, not 1 to 1024 blocks"

# io512 read|write: a 512-byte direct I/O at byte 12288 + 512 (block 3,
# its second sector), by fio (busybox dd retries an O_DIRECT I/O refused
# with EINVAL without O_DIRECT); the write writes zeroes.  OUT: fio's
# error; its status is the function's.
io512() {
	_n=$(dmesg | wc -l)
	OUT=$(fio --name=io512 --filename=$vm --rw="$1" --direct=1 --bs=512 \
		--offset=12800 --size=512 --ioengine=psync --zero_buffers \
		--output-format=terse 2>&1)
	_r=$?
	OUT=$(echo "$OUT" | grep -i 'error' | head -n 1)
	KLOG=$(_log_since "$_n" | tail -n 5)
	log "512-byte direct $1 at byte 12800: status $_r${OUT:+, fio: $OUT}"
	[ -z "$KLOG" ] || log "kernel log: $KLOG"
	return $_r
}

for op in read write; do
	if io512 $op; then
		bad "512-byte direct $op of the cached block accepted"
		# The data checks below expect its zeroes.
		[ $op = read ] || dd if=/dev/zero of=/tmp/block3 bs=512 \
			seek=1 count=1 conv=notrunc 2>/dev/null
	else
		echo "$OUT" | grep -q 'Invalid argument' ||
			bad "512-byte direct $op failed otherwise than EINVAL: $OUT"
	fi
	if echo "$KLOG" | grep -qi 'error\|nullb\|ssd4k\|not aligned'; then
		bad "512-byte direct $op: kernel log: $KLOG"
	fi
done

[ "$lbs" = 4096 ] || bad "logical_block_size $lbs, not the SSD's 4096"
[ "$pbs" -ge "$(q "$ssd" physical_block_size)" ] ||
	bad "physical_block_size $pbs below the SSD's $(q "$ssd" physical_block_size)"
[ "$iomin" -ge "$(q "$ssd" minimum_io_size)" ] ||
	bad "minimum_io_size $iomin below the SSD's $(q "$ssd" minimum_io_size)"
[ "$(field 2 vm1)" = ok ] || bad "VM state: $(dmsetup status vm1)"
[ "$(field 1 pool)" = ok ] || bad "pool state: $(dmsetup status pool)"

# The data (with an accepted 512-byte write in it): by 4 KiB direct, and
# buffered by 512 bytes (the page cache reads whole blocks).
dd if=$vm bs=4096 skip=3 count=1 iflag=direct 2>/dev/null >/tmp/direct ||
	bad "4 KiB direct read of block 3 failed"
dd if=$vm bs=512 skip=24 count=8 2>/dev/null >/tmp/buffered ||
	bad "buffered 512-byte reads of block 3 failed"
head -c 21 /tmp/direct | grep -q '^queue limits block 3$' ||
	bad "block 3 reads back as '$(head -c 21 /tmp/direct)'"
cmp -s /tmp/direct /tmp/block3 || bad "4 KiB direct read differs from the write"
cmp -s /tmp/buffered /tmp/block3 || bad "buffered 512-byte reads differ from the write"
[ "$(field 4 vm1)" = 1 ] || bad "dirty blocks at the end: $(field 4 vm1)"

# A table not a multiple of the SSD's 4096 bytes long.
O2=$(sectors "$origin2")
n=$(dmesg | wc -l)
if dmsetup create vm2 --table \
	"0 $((O2 - 1)) vwcache /dev/mapper/pool $origin2 guest-33b 0" 2>/dev/null; then
	dmsetup remove vm2
	bad "a VM table of $((O2 - 1)) sectors accepted on a 4Kn pool"
else
	_log_since "$n" | grep -q 'not aligned to h/w logical block size' ||
		bad "odd-length VM refused without the alignment error: $(_log_since "$n" | tail -n 3)"
	log "refused: a VM table of $((O2 - 1)) sectors"
fi

[ -z "$BAD" ] || fail "${BAD#; }"

dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"
rm_null_blk ssd4k
log "ok"
