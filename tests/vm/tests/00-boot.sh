#!/bin/sh
# 00-boot: smoke test of the VM harness itself (not of dm-vwcache).
# Checks that dmsetup talks to device-mapper (zero target: create, read,
# remove) and that fio runs a verifying job against a brd ram disk.
# vwtest-timeout: 120
. /lib/vwcache/lib.sh

log "kernel $(uname -r)"
assert_ok dmsetup version

# A 1 MiB zero target: create, read it back, remove it.
assert_ok dmsetup create vwzero --table "0 2048 zero"
dev=$(dm_dev_of vwzero) || exit 1
assert_eq "$(sectors "$dev")" 2048 "zero target size"
sum=$(dd if="$dev" bs=64k 2>/dev/null | md5sum | cut -d' ' -f1)
zero=$(dd if=/dev/zero bs=64k count=16 2>/dev/null | md5sum | cut -d' ' -f1)
assert_eq "$sum" "$zero" "zero target content"
assert_ok dmsetup remove vwzero
assert_fails dmsetup info vwzero 2>/dev/null

# fio: write 4 MiB with crc32c checksums to a 64 MiB ram disk, verify them.
kmod_load brd rd_nr=1 rd_size=65536
assert_eq "$(sectors /dev/ram0)" 131072 "brd size"
assert_ok fio --name=smoke --filename=/dev/ram0 --rw=write --bs=64k --size=4M \
	--direct=1 --ioengine=psync --verify=crc32c --do_verify=1 \
	--output-format=terse --minimal >/tmp/fio.out
log "fio ok: $(cut -d';' -f3 /tmp/fio.out)"
assert_ok rmmod brd

log "boot smoke test passed"
