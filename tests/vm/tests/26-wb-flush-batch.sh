#!/bin/sh
# Writeback makes its writes durable with one flush of the origin for all
# the runs written meanwhile (I3), not a FUA write per run (issue 18 item
# 5): 1024 dirty blocks that cannot merge (every other 4 KiB block) are
# flushed by message to an origin that takes 3 ms a write or flush
# (dm-delay); the disk below (a volatile write cache, so FUA costs a flush
# of its own) counts its write and flush requests in /sys/block/DEV/stat.
# There must be at least one flush after the last write back (the data is
# durable: fio then verifies it on the origin alone, the VM device
# removed) and at most one flush for 32 writes: the
# module that wrote each run with FUA made 124 flushes for 1024 writes here
# (the block layer merges some), one flush for the runs written while the
# last one ran makes about a dozen.
# vwtest-disks: 1x256M 1x64M
# vwtest-timeout: 180
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
odev=${origin#/dev/}
vw_load_module
assert_eq "$(cat /sys/block/"$odev"/queue/write_cache)" "write back" \
	"origin write cache (a flush must mean something)"

# stat FIELD: field FIELD of the origin's /sys/block/DEV/stat (5 writes
# completed, 16 flushes completed).
stat() { awk -v f="$1" '{ print $f }' /sys/block/"$odev"/stat; }

# wb_fio DEV ARGS...: a 4 KiB write at every other block of 8 MiB, or its check.
wb_fio() {
	_dev=$1
	shift
	fio --name=wb --filename="$_dev" --direct=1 --ioengine=psync \
		--rw=write:4k --bs=4k --size=8m --verify=crc32c --verify_fatal=1 \
		--eta=never "$@" --output=/tmp/fio.out ||
		{ cat /tmp/fio.out; fail "fio on $_dev $*"; }
}

zero_head "$ssd"
pool_create pool "$ssd" 4096 high_watermark 95 max_age 600000
# The origin answers writes and flushes after 3 ms, as a disk array would;
# the requests are counted on the disk below.
assert_ok dmsetup create odelay --table \
	"0 $(sectors "$origin") delay $origin 0 0 $origin 0 3"
vm_create vm1 pool /dev/mapper/odelay wb-vm
wb_fio /dev/mapper/vm1 --do_verify=0
assert_eq "$(field 4 vm1)" 1024 "dirty blocks before the flush"

w0=$(stat 5) f0=$(stat 16)
assert_ok dmsetup message vm1 0 flush
wait_clean vm1 120
w=$(($(stat 5) - w0)) f=$(($(stat 16) - f0))
log "RESULT wb_origin_writes $w wb_origin_flushes $f (1024 one-block runs)"
[ "$w" -ge 1024 ] || fail "only $w origin writes for 1024 runs"
[ "$f" -ge 1 ] || fail "no flush of the origin after writeback"
[ $((f * 32)) -le "$w" ] || fail "$f origin flushes for $w writes: not batched"

# The origin alone holds the data.
dmsetup remove vm1 || fail "remove vm1"
dmsetup remove odelay || fail "remove odelay"
wb_fio "$origin" --verify_only=1
dmsetup remove pool || fail "remove pool"
log "writeback flush batching ok"
