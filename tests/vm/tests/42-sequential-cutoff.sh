#!/bin/sh
# The pool's sequential_cutoff: while the pool is under pressure (free
# blocks down to 1/16 of it), a stream of sequential I/O that has run
# past the cutoff makes no new blocks: its writes go to the origin (the
# data reads back right), its reads are not promoted, and the bytes are
# counted in stats/sequential_bypassed_bytes (not those that go to the
# origin anyway: writethrough, passthrough); random writes are still
# cached, and with room (no pressure) a long stream is cached whole.  The
# setting is re-emitted in the table line only when set, and is changed
# by message and sysfs, bad values refused.
# vwtest-disks: 1x64M 1x256M
# vwtest-timeout: 300
# shellcheck disable=SC1091,SC2086 # guest paths without spaces
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
org=$(disk 1)
dev=/dev/mapper/vm1
MIB=1048576

vw_load_module
zero_head "$ssd"
pool_create pool "$ssd" 4096 high_watermark 100 low_watermark 90 max_age 0 \
	sequential_cutoff $MIB
vm_create vm1 pool "$org" guest-1
pd=$(dm_sys pool)/vwcache_pool
vs=$(dm_sys vm1)/vwcache/stats

dmsetup table pool | grep -q " sequential_cutoff $MIB\$" ||
	fail "table: $(dmsetup table pool)"
assert_eq "$(cat $pd/sequential_cutoff)" $MIB
bypassed() { cat $vs/sequential_bypassed_bytes; }
dirty() { field 4 vm1; }
cached() { field 3 vm1; }

# ---- room to spare: a long stream is cached whole ---------------------------
dd if=/dev/urandom of=/tmp/s1 bs=1M count=8 2>/dev/null
dd if=/tmp/s1 of=$dev bs=64k oflag=direct 2>/dev/null || fail "stream 1"
assert_eq "$(dirty)" 2048
assert_eq "$(bypassed)" 0
log "room: an 8 MiB stream cached whole, nothing bypassed"

# ---- pressure: fill until fewer than 1/16 of the blocks are free ------------
total=$(field 3 pool)
free=$(field 4 pool)
reserve=$((total / 16 + 64))
fill=$((free - reserve / 2))
# Random order, 4 KiB at a time, so the fill itself is not a stream.
fio --name=fill --filename=$dev --direct=1 --ioengine=libaio --iodepth=16 \
	--rw=randwrite --bs=4k --offset=16m --size=$((fill * 4096)) \
	--randrepeat=0 --output=/tmp/fill.out >/dev/null || fail "fill"
free=$(field 4 pool)
log "pool: $total blocks, reserve $reserve, $free free"
[ "$free" -lt "$reserve" ] || fail "free $free not below the reserve $reserve"
[ "$free" -gt 300 ] || fail "free $free: no room left for the test"
assert_eq "$(bypassed)" 0

# A stream of 8 MiB: at most its first MiB (and a 64 KiB write) cached,
# the rest to the origin, counted.
d0=$(dirty)
dd if=/dev/urandom of=/tmp/s2 bs=1M count=8 2>/dev/null
dd if=/tmp/s2 of=$dev bs=64k seek=$((200 * 16)) oflag=direct 2>/dev/null ||
	fail "stream 2"
added=$(($(dirty) - d0))
by=$(bypassed)
log "pressure: 8 MiB stream: $added blocks cached, $by bytes bypassed"
[ "$added" -le 272 ] || fail "$added blocks of the stream cached under pressure"
[ "$by" -ge $((7 * MIB - 65536)) ] || fail "only $by bytes bypassed"
dd if=$dev of=/tmp/got bs=1M count=8 skip=200 iflag=direct 2>/dev/null
cmp /tmp/s2 /tmp/got || fail "stream 2 reads back wrong"
dd if=$dev of=/tmp/got bs=1M count=8 iflag=direct 2>/dev/null
cmp /tmp/s1 /tmp/got || fail "stream 1 reads back wrong"

# Random writes under pressure are still cached.
d0=$(dirty)
fio --name=rnd --filename=$dev --direct=1 --ioengine=psync --rw=randwrite \
	--bs=4k --offset=150m --size=40m --number_ios=100 --randrepeat=0 \
	--output=/tmp/rnd.out >/dev/null || fail "random writes"
assert_eq $(($(dirty) - d0)) 100

# A stream read twice (hot, for the filter: without the cutoff its second
# pass would be promoted until no block is free) is promoted only up to
# the cutoff, 128 KiB a pass.
dmsetup message pool 0 set sequential_cutoff 131072 || fail "message 128k"
c0=$(cached)
by=$(bypassed)
dd if=$dev of=/dev/null bs=64k count=128 skip=$((240 * 16)) iflag=direct 2>/dev/null
dd if=$dev of=/dev/null bs=64k count=128 skip=$((240 * 16)) iflag=direct 2>/dev/null
[ $(($(cached) - c0)) -le 48 ] ||
	fail "$(($(cached) - c0)) blocks of a read stream promoted under pressure"
[ $(($(bypassed) - by)) -ge $((15 * MIB)) ] || fail "read stream not counted"
log "read stream twice under pressure: $(($(cached) - c0)) blocks promoted"

# What goes to the origin whatever the cutoff is not counted: writes in
# writethrough mode, reads in passthrough mode.
by=$(bypassed)
assert_ok dmsetup message vm1 0 set mode writethrough
dd if=/dev/urandom of=$dev bs=64k count=32 seek=$((100 * 16)) oflag=direct \
	2>/dev/null || fail "writethrough stream"
assert_ok dmsetup message vm1 0 set mode passthrough
dd if=$dev of=/dev/null bs=64k count=32 skip=$((230 * 16)) iflag=direct \
	2>/dev/null || fail "passthrough read stream"
assert_eq $(($(bypassed) - by)) 0 "bytes counted bypassed in writethrough and passthrough"
assert_ok dmsetup message vm1 0 set mode writeback
log "2 MiB streams in writethrough and passthrough: nothing counted bypassed"

# ---- the setting --------------------------------------------------------------
dmsetup message pool 0 set sequential_cutoff 0 || fail "message"
dmsetup table pool | grep -q sequential_cutoff && fail "0 still in the table"
echo 4194304 >$pd/sequential_cutoff || fail "sysfs write"
dmsetup table pool | grep -q " sequential_cutoff 4194304\$" || fail "sysfs: $(dmsetup table pool)"
expect_msg_refused pool set sequential_cutoff -1
expect_msg_refused pool set sequential_cutoff 1x
if echo 2199023255553 >$pd/sequential_cutoff 2>/dev/null; then
	fail "2^41 + 1 accepted"
fi
assert_eq "$(cat $pd/sequential_cutoff)" 4194304
expect_refused "bad sequential_cutoff" "sequential_cutoff must be 0" p2 \
	"0 $(sectors "$ssd") vwcache-pool $ssd 4096 2 sequential_cutoff x"

dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"
log "PASS"
