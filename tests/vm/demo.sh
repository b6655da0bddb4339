#!/bin/sh
# make demo: one pool on the "SSD" shared by two VM disks whose origins sit
# behind dm-delay (slow shared storage), a fio workload through both, their
# status and settings, and a migration flush of one of them.
# vwtest-disks: 1x512M 1x256M 1x256M
# vwtest-timeout: 600
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

say() { printf '\n==> %s\n' "$*"; }
run() { echo "# $*"; "$@"; }

ssd=$(disk 0)
vw_load_module
say "Origins of two VMs on slow storage: dm-delay adds 5 ms to each I/O"
for i in 1 2; do
	o=$(disk "$i")
	run dmsetup create "origin$i" --table "0 $(sectors "$o") delay $o 0 5"
done

say "The SSD becomes a pool (a zeroed device is formatted)"
zero_head "$ssd"
run dmsetup create pool --table "0 $(sectors "$ssd") vwcache-pool $ssd 4096 4 high_watermark 60 low_watermark 20"
run dmsetup status pool

say "Two VM disks attach to it, each with its own vm_id and settings"
run dmsetup create vm1 --table "0 $(sectors /dev/mapper/origin1) vwcache /dev/mapper/pool /dev/mapper/origin1 web-01.vda 0"
run dmsetup create vm2 --table "0 $(sectors /dev/mapper/origin2) vwcache /dev/mapper/pool /dev/mapper/origin2 db-01.vda 4 iops_limit 2000 weight 300"
run dmsetup table vm1
run dmsetup table vm2

say "A 4 KiB random-write workload in both VMs at once (10 s)"
for i in 1 2; do
	fio --name="vm$i" --filename="/dev/mapper/vm$i" --direct=1 \
		--ioengine=libaio --iodepth=8 --rw=randwrite --bs=4k --size=64m \
		--time_based --runtime=10 --group_reporting \
		--output="/tmp/fio$i.out" &
done
wait
for i in 1 2; do
	grep -E "^ *write:|^ *lat \(usec\): min" "/tmp/fio$i.out" | sed "s/^/vm$i: /" | head -2
done

say "Per-VM status: <mode> <state> <cached> <dirty> <reads> <read_hits> <writes> <write_hits> <coalesced> <writeback> <throttled>"
run dmsetup status vm1
run dmsetup status vm2
run dmsetup status pool

say "Before migrating web-01: migrate_prepare, until its state is clean"
run dmsetup message vm1 0 migrate_prepare
run dmsetup status vm1
say "The VM disk and its origin now read back identical"
a=$(md5sum </dev/mapper/vm1 | cut -d' ' -f1)
b=$(md5sum </dev/mapper/origin1 | cut -d' ' -f1)
echo "vm1 $a"
echo "origin1 $b"
[ "$a" = "$b" ] || fail "vm1 and its origin differ after migrate_prepare"

run dmsetup remove vm1
run dmsetup remove vm2
run dmsetup remove pool
say "demo done"
