#!/bin/sh
# Promotion of read misses: while the pool has free blocks to spare (more
# than 1/16 of it), a whole-block read miss is copied into the pool the
# first time it is read, from the deferred worker before the read
# completes, and the next read of it is a hit with the origin's data;
# below that reserve only a block the filter finds hot (missed twice) is
# copied, so a scan cannot push hot data out; a read of part of a block
# is never copied.
# vwtest-disks: 1x64M 1x256M
# vwtest-timeout: 300
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
org=$(disk 1)
dev=/dev/mapper/vm1

vw_load_module
zero_head "$ssd"
# Known data on the origin: 1 MiB at 0 and 400 KiB at 200 MiB.
head -c 1048576 /dev/urandom >/tmp/a
head -c 409600 /dev/urandom >/tmp/b
dd if=/tmp/a of="$org" bs=1M conv=fsync 2>/dev/null || fail "origin a"
dd if=/tmp/b of="$org" bs=4k seek=51200 conv=fsync 2>/dev/null ||
	fail "origin b"
pool_create pool "$ssd" 4096 high_watermark 100 low_watermark 90 max_age 0
vm_create vm1 pool "$org" guest-1

cached() { field 3 vm1; }
hits() { field 6 vm1; }

# hit_read COUNT SKIP: read COUNT blocks from block SKIP until all are
# hits (the copies are written to the SSD after the first read ends),
# 20 tries at most; prints the hits of the last read.
hit_read() {
	_i=0
	while [ $_i -lt 20 ]; do
		_h0=$(hits)
		dd if=$dev of=/tmp/got bs=4k count="$1" skip="$2" iflag=direct \
			2>/dev/null || fail "read $1 blocks at $2"
		_got=$(($(hits) - _h0))
		[ "$_got" -eq "$1" ] && break
		_i=$((_i + 1))
		sleep 0.2
	done
	echo "$_got"
}

# ---- plenty of free blocks: promoted on the first miss ---------------------
assert_eq "$(cached)" 0
dd if=$dev of=/tmp/got bs=1M count=1 iflag=direct 2>/dev/null || fail "read a"
cmp /tmp/a /tmp/got || fail "first read of a: wrong data"
assert_eq "$(cached)" 256
assert_eq "$(hit_read 256 0)" 256
cmp /tmp/a /tmp/got || fail "a, read from the SSD: wrong data"
log "256 blocks read once are cached; read again: 256 hits, the origin's data"

# Reads of part of a block (fio: O_DIRECT at 512 bytes): never copied.
c0=$(cached)
r0=$(field 5 vm1)
for _i in 1 2; do
	fio --name=part --filename=$dev --direct=1 --ioengine=psync --rw=read \
		--bs=512 --offset=$((300 * 4096 + 1024)) --size=1536 \
		--output=/tmp/part.out >/dev/null || fail "partial reads"
done
assert_eq $(($(field 5 vm1) - r0)) 6
assert_eq "$(cached)" "$c0"
log "6 reads of 512 bytes of one block: nothing cached"

# ---- below the reserve: only what the filter finds hot ---------------------
total=$(field 3 pool)
free=$(field 4 pool)
reserve=$((total / 16 + 64))
# Leave 3/4 of the reserve free (above the 1/32 the pool's reclaim keeps,
# which would evict clean blocks): dirty whole blocks from 4 MiB on.
fill=$((free - reserve * 3 / 4))
dd if=/dev/zero of=$dev bs=1M count=$((fill / 256)) seek=4 oflag=direct \
	2>/dev/null || fail "fill"
dd if=/dev/zero of=$dev bs=4k count=$((fill % 256)) seek=$((1024 + fill / 256 * 256)) \
	oflag=direct 2>/dev/null || fail "fill the rest"
free=$(field 4 pool)
log "pool: $total blocks, reserve $reserve, $free free after $fill written"
[ "$free" -lt "$reserve" ] || fail "free $free not below the reserve $reserve"
[ "$free" -gt $((total / 32 + 150)) ] ||
	fail "free $free: no room for the test's promotions above the reclaim"
c0=$(cached)
dd if=$dev of=/dev/null bs=4k count=100 skip=51200 iflag=direct 2>/dev/null
assert_eq "$(cached)" "$c0"
log "below the reserve: 100 blocks read once, none cached"
dd if=$dev of=/tmp/got bs=4k count=100 skip=51200 iflag=direct 2>/dev/null
cmp /tmp/b /tmp/got || fail "second read of b: wrong data"
assert_eq "$(cached)" $((c0 + 100))
assert_eq "$(hit_read 100 51200)" 100
cmp /tmp/b /tmp/got || fail "b, read from the SSD: wrong data"
log "read twice: 100 cached, then 100 hits"

dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"
log "PASS"
