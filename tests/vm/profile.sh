#!/bin/sh
# bench/profile, guest side: one of make bench's workloads on one system,
# the same disks (an "SSD", vda, and an origin, vdb, behind dm-delay),
# run under perf record (cpu-clock, call graphs, all CPUs); then fio's
# result, the guest CPU per I/O and perf's report: the symbols with the
# most samples, and for the module's entry points the samples under
# each, by leaf and by the function they called.
#
# Kernel arguments (bench/profile passes them): vwprof_w=randwrite|
# seqwrite|fsync|hotread|flush, vwprof_sys=dm-vwcache|dm-writecache|raw-ssd,
# vwprof_pool="key,value,..." (pool feature arguments), vwbench_delay=MS.
#
# Reading it: cpu-clock samples are taken in a timer interrupt, so time
# spent with interrupts off (cache_lock is taken with them off) is
# charged to the unlock that turns them on again: samples on
# _raw_spin_unlock_irq[restore] under a function are its time inside
# its lock holds.
# vwtest-disks: 1x1G 1x2G
# vwtest-timeout: 900
# vwtest-mem: 2048
# vwtest-smp: 2
# vwtest-exclusive: yes
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

W=$(arg vwprof_w seqwrite)
SYS=$(arg vwprof_sys dm-vwcache)
POOL=$(arg vwprof_pool "" | tr , ' ')
DELAY=$(arg vwbench_delay 10)
ssd=/dev/vda
command -v perf >/dev/null || fail "no perf in the guest (bench/profile adds it)"
vw_load_module
dmsetup create origin --table "0 $(sectors /dev/vdb) delay /dev/vdb 0 $DELAY" ||
	fail "dm-delay"
zero_head "$ssd"
echo 0 >/proc/sys/kernel/kptr_restrict
echo -1 >/proc/sys/kernel/perf_event_paranoid
case $SYS in
dm-vwcache)
	# shellcheck disable=SC2086 # key value pairs
	pool_create pool $ssd 4096 $POOL
	vm_create vm1 pool /dev/mapper/origin profile-1
	dev=/dev/mapper/vm1
	;;
dm-writecache)
	dmsetup create wc --table "0 $(sectors /dev/mapper/origin) writecache s /dev/mapper/origin $ssd 4096 0" ||
		fail "dm-writecache"
	dev=/dev/mapper/wc
	;;
raw-ssd) dev=$ssd ;;
*) fail "vwprof_sys: $SYS" ;;
esac

fio_args="--direct=1 --ioengine=libaio --name=j --filename=$dev --randseed=1234 --output-format=terse"
case $W in
randwrite) args="--rw=randwrite --bs=4k --iodepth=16 --size=256m" ;;
seqwrite) args="--rw=write --bs=64k --iodepth=16 --size=512m" ;;
fsync) args="--rw=randwrite --bs=4k --iodepth=16 --fsync=32 --size=256m" ;;
hotread)
	# shellcheck disable=SC2086
	for _i in 1 2 3; do fio $fio_args --rw=randread --bs=4k --iodepth=16 --size=16m >/dev/null; done
	args="--rw=randread --bs=4k --iodepth=16 --size=16m" ;;
flush)
	[ "$SYS" = dm-vwcache ] || fail "flush: dm-vwcache only"
	# shellcheck disable=SC2086
	fio $fio_args --rw=randwrite --bs=4k --iodepth=16 --size=128m --io_size=32m >/dev/null ||
		fail "fio"
	;;
*) fail "vwprof_w: $W" ;;
esac

busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
rec() { perf record -o /tmp/perf.data -a -g -e cpu-clock -F 1999 -- "$@" 2>/tmp/perf.err; }
c0=$(busy)
if [ "$W" = flush ]; then
	# The VM device's sysfs directory: /dev/mapper/vm1 is a node, not a
	# link to dm-N, without udev.
	q=$(dm_sys vm1)/vwcache
	[ -r "$q/dirty_blocks" ] || fail "no $q/dirty_blocks"
	cat >/tmp/flush.sh <<EOS
#!/bin/sh
q=$q
EOS
	cat >>/tmp/flush.sh <<'EOS'
read -r t0 _ </proc/uptime
dmsetup message vm1 0 flush
n=0
while :; do
	read -r d <"$q/dirty_blocks"
	read -r st <"$q/state"
	[ "$d" = 0 ] && [ "$st" != flushing ] && break
	n=$((n + 1))
	[ $n -le 12000 ] || { echo "PROFILE flush not done after 120 s: $d dirty, $st"; exit 1; }
	sleep 0.01
done
read -r t1 _ </proc/uptime
echo "PROFILE flush of 32 MiB: $t0 -> $t1 s"
EOS
	chmod +x /tmp/flush.sh
	rec /tmp/flush.sh
	ios=8192
else
	# shellcheck disable=SC2086
	rec fio $fio_args $args --time_based --runtime=10 >/tmp/fio.terse ||
		{ cat /tmp/perf.err; fail "fio"; }
	awk -F';' '{ printf "PROFILE fio: read %d IOPS, write %d IOPS\n", $8, $49 }' /tmp/fio.terse
	ios=$(awk -F';' '{ print $8 * 10 + $49 * 10 }' /tmp/fio.terse)
fi
c1=$(busy)
awk -v j=$((c1 - c0)) -v n="$ios" -v s="$SYS $W" \
	'BEGIN { printf "PROFILE %s: busy %d jiffies, %.1f us of CPU per I/O\n", s, j, n ? j * 10000 / n : 0 }'
[ "$SYS" = dm-vwcache ] && { dmsetup status pool; dmsetup status vm1; }

echo "PROFILE symbols (self, >= 0.5 % of samples, idle included):"
perf report -i /tmp/perf.data --stdio --no-children --sort sym -g none \
	--percent-limit 0.5 2>/dev/null | grep '%'
echo "PROFILE under each entry point: samples, then leaves and callees with >= 3 % of them:"
perf script -i /tmp/perf.data -F ip,sym 2>/dev/null | awk '
function flush() {
	for (t in seen) {
		tot[t]++
		leaf[t SUBSEP fr[1]]++
		kid[t SUBSEP ch[t]]++
	}
	n = 0
	delete seen
	delete ch
}
BEGIN {
	split("vwc_map_bio vwc_end_io vwc_wb_work vwc_wb_write_work vwc_wb_flush_work " \
	      "vwc_commit_work vwc_promote_work vwc_deferred_work vwc_tick_work dm_submit_bio dm_io", a, " ")
	for (k in a)
		T[a[k]] = 1
}
/^$/ { flush(); next }
{
	n++
	fr[n] = $2
	if (($2 in T) && !($2 in seen)) {
		seen[$2] = 1
		ch[$2] = (n > 1 ? fr[n - 1] : "(self)")
	}
}
END {
	flush()
	for (t in tot) {
		printf "%s %d\n", t, tot[t]
		for (k in leaf) {
			split(k, b, SUBSEP)
			if (b[1] == t && leaf[k] * 100 >= tot[t] * 3)
				printf "    leaf   %6d %s\n", leaf[k], b[2]
		}
		for (k in kid) {
			split(k, b, SUBSEP)
			if (b[1] == t && kid[k] * 100 >= tot[t] * 3)
				printf "    calls  %6d %s\n", kid[k], b[2]
		}
	}
}'
log PASS
