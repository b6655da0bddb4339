#!/bin/sh
# Data through a VM device: fio writes with verify=crc32c at mixed sizes
# and unaligned offsets and reads everything back; the VM device and its
# origin then hold identical data; a reload in between loses nothing.
# vwtest-disks: 1x256M 1x256M
# vwtest-timeout: 300
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
vw_load_module
zero_head "$ssd"
pool_create pool "$ssd" 4096
vm_create vm1 pool "$origin" guest-1.vda

fio --name=verify --filename=/dev/mapper/vm1 --direct=1 --ioengine=psync \
	--rw=randwrite --bsrange=512-65536 --blockalign=512 --size=64m \
	--verify=crc32c --verify_fatal=1 --do_verify=1 --randseed=42 \
	--output=/tmp/fio.out || { cat /tmp/fio.out; fail "fio verify failed"; }
grep -q "err= 0" /tmp/fio.out || { cat /tmp/fio.out; fail "fio reported errors"; }

writes=$(field 7 vm1)
reads=$(field 5 vm1)
log "status after fio: $(dmsetup status vm1)"
[ "$writes" -gt 0 ] || fail "no writes counted"
[ "$reads" -gt 0 ] || fail "no reads counted"

# A table reload in the middle of the data's life loses nothing.
tbl=$(dmsetup table vm1)
assert_ok dmsetup reload vm1 --table "$tbl"
assert_ok dmsetup suspend vm1
assert_ok dmsetup resume vm1
fio --name=verify --filename=/dev/mapper/vm1 --direct=1 --ioengine=psync \
	--rw=randwrite --bsrange=512-65536 --blockalign=512 --size=64m \
	--verify=crc32c --verify_only=1 --randseed=42 \
	--output=/tmp/fio2.out || { cat /tmp/fio2.out; fail "verify after reload failed"; }

assert_ok dmsetup message vm1 0 flush
wait_clean vm1
a=$(md5sum </dev/mapper/vm1)
b=$(md5sum <"$origin")
assert_eq "$a" "$b" "VM device and origin after flush"
dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"
