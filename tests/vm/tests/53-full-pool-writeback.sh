#!/bin/sh
# A pool with no free block left is not a reason to write back while
# clean blocks can be evicted: at high_watermark 100 and without max_age,
# writes into a pool full of clean blocks evict them and write nothing
# back (the admin guide: "When no block is free, clean blocks are
# evicted ... when every block is dirty, writes go around to the
# origin").  Only once every block is dirty does writeback start, to make
# room, and the data stays right throughout.
# vwtest-disks: 1x12M 1x48M
# vwtest-timeout: 300
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
org=$(disk 1)
dev=/dev/mapper/vm1

vw_load_module
zero_head "$ssd"
head -c $((48 << 20)) /dev/urandom >/tmp/data
dd if=/tmp/data of="$org" bs=1M conv=fsync 2>/dev/null || fail "origin"
pool_create pool "$ssd" 4096 high_watermark 100 low_watermark 99 max_age 0
vm_create vm1 pool "$org" guest-1
total=$(field 3 pool)

# Fill the pool with clean blocks: read misses are promoted while more
# than 1/16 of it is free, and a second read makes the filter promote
# the rest.
for pass in 1 2 3; do
	dd if=$dev of=/dev/null bs=1M count=16 iflag=direct 2>/dev/null ||
		fail "read pass $pass"
done
free=$(field 4 pool)
log "pool: $total blocks, $free free after reading 16 MiB three times"
[ "$free" -lt $((total / 8)) ] || fail "reads left $free of $total blocks free"
assert_eq "$(field 5 pool)" 0 "dirty blocks after reads only"

# Write 4 MiB (1024 blocks, more than are free) in 1 MiB bios, past the
# cached region: clean blocks are evicted for them, nothing written back;
# meanwhile 512-byte writes go around to the origin (each of which asks
# writeback whether it is wanted).
wb0=$(field 11 pool)
fio --name=small --filename=$dev --direct=1 --rw=randwrite --bs=512 \
	--offset=46m --size=1m --time_based --runtime=4 \
	--output=/tmp/fio.out &
fpid=$!
sleep 1
dd if=/tmp/data of=$dev bs=1M count=4 skip=20 seek=20 oflag=direct \
	2>/dev/null || fail "write 4 MiB"
wait $fpid || { cat /tmp/fio.out; fail "fio 512-byte writes"; }
sleep 1
# What fio wrote is the device's data now.
dd if=$dev of=/tmp/data bs=1M count=1 skip=46 seek=46 iflag=direct \
	conv=notrunc 2>/dev/null || fail "read the 512-byte writes"
dirty=$(field 5 pool)
wb=$(($(field 11 pool) - wb0))
log "after 1024 blocks written into a full pool: $dirty dirty, $wb written back"
assert_eq "$wb" 0 "blocks written back with clean blocks to evict"
assert_eq "$dirty" 1024 "dirty blocks after 1024 written"

# Write more than the pool holds: once every block is dirty, writes go
# around and writeback makes room.
dd if=/tmp/data of=$dev bs=1M count=16 skip=28 seek=28 oflag=direct \
	2>/dev/null || fail "write 16 MiB"
i=0
while [ "$(field 11 pool)" = "$wb0" ]; do
	i=$((i + 1))
	[ $i -le "$(scaled 100)" ] || fail "no writeback in an all-dirty pool: $(dmsetup status pool)"
	sleep 0.1
done
log "all dirty: writeback started ($(dmsetup status pool))"
dd if=$dev of=/tmp/got bs=1M iflag=direct 2>/dev/null || fail "read back"
cmp /tmp/data /tmp/got || fail "data differs from what was written"
assert_ok dmsetup message pool 0 flush
wait_clean vm1 120
dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"
dd if="$org" of=/tmp/got bs=1M iflag=direct 2>/dev/null || fail "read origin"
cmp /tmp/data /tmp/got || fail "origin differs after the flush"
log "data right on the VM device and, after a flush, on the origin"
