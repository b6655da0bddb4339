#!/bin/sh
# make demo: one pool on the "SSD" shared by two VM disks whose origins sit
# behind dm-delay (slow shared storage): writes absorbed at SSD speed,
# rewrites coalesced, read hits, per-VM status, and a migration flush of
# one VM with its progress.  Pools and VM devices are driven by dmcache-ctl.
# vwtest-disks: 1x512M 1x256M 1x256M
# vwtest-timeout: 900
# vwtest-mem: 1024
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

say() { printf '\n==> %s\n' "$*"; }
run() { echo "# $*"; "$@" || fail "$* failed"; }

# vstat VM KEY: a number from "dmcache-ctl stats VM --json".
vstat() {
	dmcache-ctl stats "$1" --json |
		sed -n "s/^ *\"$2\": \([0-9]*\),*$/\1/p" | tail -n 1
}

# fio_iops NAME DEV ARGS...: run a 4 KiB job, print and return its IOPS.
fio_iops() {
	_n=$1 _d=$2
	shift 2
	fio --name="$_n" --filename="$_d" --direct=1 --ioengine=libaio \
		--bs=4k --group_reporting --output-format=terse "$@" \
		>"/tmp/$_n.terse" 2>/dev/null || fail "fio $_n"
	# terse v3: field 8 read IOPS, field 49 write IOPS
	awk -F';' '{ printf "%d\n", $8 + $49 }' "/tmp/$_n.terse"
}

ssd=$(disk 0)
vw_load_module
say "Two VMs' origins on slow storage: dm-delay adds 10 ms to every I/O"
for i in 1 2; do
	o=$(disk "$i")
	run dmsetup create "origin$i" --table "0 $(sectors "$o") delay $o 0 10"
done
raw=$(fio_iops raw /dev/mapper/origin2 --rw=randwrite --iodepth=8 \
	--size=64m --time_based --runtime=5)
echo "4 KiB random writes straight to a slow origin, QD8: $raw IOPS"

say "The SSD becomes a pool"
run dmcache-ctl pool-create "$ssd" --format --name pool --block-size 4K \
	--high-watermark 80 --low-watermark 60 --max-age 0
run dmcache-ctl pool-status pool

say "Two VM disks attach to it, each with its own vm_id"
run dmcache-ctl attach pool /dev/mapper/origin1 web-01.vda --name vm1
run dmcache-ctl attach pool /dev/mapper/origin2 db-01.vda --name vm2 --mode writeback
run dmcache-ctl list

say "4 KiB random writes in both VMs at once, QD8, 10 s"
fio_iops vm1w /dev/mapper/vm1 --rw=randwrite --iodepth=8 --size=64m \
	--time_based --runtime=10 >/tmp/vm1.iops &
fio_iops vm2w /dev/mapper/vm2 --rw=randwrite --iodepth=8 --size=64m \
	--time_based --runtime=10 >/tmp/vm2.iops &
sleep 4
run dmcache-ctl top --iterations 1 --interval 2 --sort wiops
wait
v1=$(cat /tmp/vm1.iops)
v2=$(cat /tmp/vm2.iops)
echo "web-01: $v1 IOPS, db-01: $v2 IOPS (the slow origin alone: $raw IOPS)"

say "Per-VM limits side by side: web-01 capped at 300 IOPS, db-01 at 2 MiB/s"
run dmcache-ctl set web-01.vda iops_limit 300
run dmcache-ctl set db-01.vda bw_limit 2097152
fio_iops lim1 /dev/mapper/vm1 --rw=randwrite --iodepth=16 --size=64m \
	--time_based --runtime=8 >/tmp/lim1.iops &
fio_iops lim2 /dev/mapper/vm2 --rw=randwrite --iodepth=16 --size=64m \
	--time_based --runtime=8 >/tmp/lim2.iops &
wait
echo "web-01: $(cat /tmp/lim1.iops) IOPS (limit 300), db-01: $(($(cat /tmp/lim2.iops) * 4)) KiB/s (limit 2048 KiB/s)"
echo "throttled bios: web-01 $(vstat web-01.vda throttled), db-01 $(vstat db-01.vda throttled)"

say "The SSD's capacity shared by weight: 1200 IOPS, web-01 weight 100, db-01 weight 300"
run dmcache-ctl set web-01.vda iops_limit 0
run dmcache-ctl set db-01.vda bw_limit 0
run dmcache-ctl set db-01.vda weight 300
run dmcache-ctl set pool io_capacity_iops 1200
# (rewrites of blocks already dirty: both run at SSD speed, so the share
# decides)
fio --direct=1 --ioengine=libaio --iodepth=16 --rw=randwrite --bs=4k \
	--size=16m --time_based --runtime=8 --ramp_time=1 --output-format=terse \
	--name=web --filename=/dev/mapper/vm1 --name=db --filename=/dev/mapper/vm2 \
	>/tmp/share.terse 2>/dev/null || fail "fio share"
awk -F';' '{ printf "%s: %d IOPS\n", $3 == "web" ? "web-01" : "db-01", $49 }' /tmp/share.terse
run dmcache-ctl set pool io_capacity_iops 0

say "A journal-like workload: the same 256 blocks rewritten again and again"
fio_iops zipf /dev/mapper/vm2 --rw=randwrite --iodepth=4 --size=1m \
	--offset=128m --number_ios=8000 >/dev/null
echo "db-01 coalesced (rewrites of still-dirty blocks): $(vstat db-01.vda coalesced)"

say "Reading back a hot region twice: the second pass hits the SSD"
fio_iops r1 /dev/mapper/vm1 --rw=read --size=16m --iodepth=8 >/dev/null
fio_iops r2 /dev/mapper/vm1 --rw=read --size=16m --iodepth=8 >/dev/null
echo "web-01 reads: $(vstat web-01.vda reads), read hits: $(vstat web-01.vda read_hits)"

say "Per-VM statistics, the pool, and a few of the Prometheus metrics"
run dmcache-ctl stats
run dmcache-ctl pool-status pool
dmcache-ctl stats --prometheus | grep -E '^vwcache_vm_(dirty_bytes|writes_total)'

say "web-01 migrates away: migrate_prepare flushes its dirty data while it runs"
fio --eta=never --name=bg --filename=/dev/mapper/vm1 --direct=1 --rw=randwrite --bs=4k \
	--size=64m --time_based --runtime=15 --output=/dev/null &
bg=$!
sleep 1
run dmcache-ctl migrate-plan pool
echo "db-01 dirty blocks before: $(vstat db-01.vda dirty_blocks)"
# plain progress lines (a bar on a terminal), one a second
echo "# dmcache-ctl migrate-prepare web-01.vda --wait --timeout 600"
dmcache-ctl migrate-prepare web-01.vda --wait --timeout 600 | cat
[ "$(vstat web-01.vda dirty_blocks)" = 0 ] || fail "web-01 not clean"
echo "db-01 dirty blocks after (untouched): $(vstat db-01.vda dirty_blocks)"
wait $bg
say "The VM disk and its origin read back identical"
a=$(md5sum </dev/mapper/vm1 | cut -d' ' -f1)
b=$(md5sum </dev/mapper/origin1 | cut -d' ' -f1)
echo "vm1     $a"
echo "origin1 $b"
[ "$a" = "$b" ] || fail "vm1 and its origin differ after migrate_prepare"

run dmcache-ctl detach vm1
run dmcache-ctl detach vm2
run dmcache-ctl pool-remove pool
say "demo done"
