#!/bin/sh
# The sum of latencies beside each latency histogram
# (stats/{read,write}_latency_sum_ns): a writethrough VM device on an
# origin behind dm-delay (20 ms per write) takes N writes of known
# latency; the write sum is about N x 20 ms (at least N x 15 ms) and
# plausible, lies within the bounds the histogram's buckets allow, grows
# with more I/O, is zeroed by clear_stats; dmcache-ctl exports it as the
# histogram's _sum in seconds, beside _count.
# vwtest-disks: 1x128M 1x64M
# vwtest-timeout: 180
# vwtest-exclusive: yes
# shellcheck disable=SC2086 # lists of words
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
vw_load_module
dmsetup targets | grep -q '^delay' || kmod_load dm-delay
O=$(sectors "$origin")
dmsetup create slow --table "0 $O delay $origin 0 0 $origin 0 20" ||
	fail "delay origin"
zero_head "$ssd"
pool_create pool "$ssd" 4096
vm_create vm1 pool /dev/mapper/slow lat.vda mode writethrough
st=$(dm_sys vm1)/vwcache/stats

for f in read_latency_sum_ns write_latency_sum_ns; do
	[ -f "$st/$f" ] || fail "$st/$f missing"
	assert_eq "$(stat -c %a "$st/$f")" 444
	assert_eq "$(cat "$st/$f")" 0
done

# hist_bounds FILE SUM: SUM lies in [sum of count x bound/2, sum of
# count x bound) over the buckets (bucket k >= 1 holds [2^(k-1), 2^k) us,
# bucket 0 [0, 1) us); the last bucket is open-ended.
hist_bounds() {
	awk -v s="$2" '
		{ lo += (NR == 1 ? 0 : $2 * $1 / 2) * 1000
		  hi += $2 * $1 * 1000; last = $2 }
		END { ok = s >= lo && (last > 0 || s < hi)
		      printf "sum %d ns, buckets allow [%d, %d)\n", s, lo, hi
		      exit !ok }' "$1"
}

n=50
fio --name=w --filename=/dev/mapper/vm1 --direct=1 --ioengine=psync \
	--rw=randwrite --bs=4k --size=32m --number_ios=$n --randrepeat=0 \
	--output=/tmp/w.out || fail "fio w"
fio --name=r --filename=/dev/mapper/vm1 --direct=1 --ioengine=psync \
	--rw=randread --bs=4k --size=32m --number_ios=$n \
	--output=/tmp/r.out || fail "fio r"
assert_eq "$(cat $st/writes)" $n
assert_eq "$(awk '{ s += $2 } END { print s }' $st/write_latency_us)" $n
assert_eq "$(awk '{ s += $2 } END { print s }' $st/read_latency_us)" $n
ws=$(cat $st/write_latency_sum_ns)
rs=$(cat $st/read_latency_sum_ns)
log "write sum $ws ns, read sum $rs ns for $n each"
# Each write waits about 20 ms for the origin: dm-delay counts in jiffies
# and may fire up to a tick early (a mean of 19.6 ms seen on 6.12 with
# HZ=250), so at least 15 ms; a mean above 1 s is not plausible on an idle
# guest.
[ "$ws" -ge $((n * 15000000)) ] || fail "write sum $ws < $n x 15 ms"
[ "$ws" -lt $((n * 1000000000)) ] || fail "write sum $ws: mean over 1 s"
[ "$rs" -gt 0 ] || fail "read sum 0 after $n reads"
out=$(hist_bounds $st/write_latency_us "$ws") || fail "write: $out"
log "write: $out"
out=$(hist_bounds $st/read_latency_us "$rs") || fail "read: $out"
log "read: $out"

# More writes: the sum grows by at least their delay (15 ms each, as above).
fio --name=w2 --filename=/dev/mapper/vm1 --direct=1 --ioengine=psync \
	--rw=randwrite --bs=4k --size=32m --number_ios=10 --randrepeat=0 \
	--output=/tmp/w2.out || fail "fio w2"
ws2=$(cat $st/write_latency_sum_ns)
[ "$ws2" -ge $((ws + 10 * 15000000)) ] || fail "write sum $ws -> $ws2 after 10 writes"

# dmcache-ctl: _sum in seconds from the sum, _count from the histogram.
if command -v dmcache-ctl >/dev/null; then
	dmcache-ctl stats --prometheus >/tmp/prom || fail "dmcache-ctl stats"
	cnt=$(sed -n 's/^vwcache_vm_write_latency_seconds_count{pool="pool",vm_id="lat.vda"} //p' /tmp/prom)
	sum=$(sed -n 's/^vwcache_vm_write_latency_seconds_sum{pool="pool",vm_id="lat.vda"} //p' /tmp/prom)
	inf=$(sed -n 's/^vwcache_vm_write_latency_seconds_bucket{pool="pool",vm_id="lat.vda",le="+Inf"} //p' /tmp/prom)
	assert_eq "$cnt" $((n + 10))
	assert_eq "$inf" "$cnt"
	awk -v s="$sum" -v ns="$ws2" 'BEGIN { exit !(s * 1e9 >= ns - 1 && s * 1e9 <= ns + 1) }' ||
		fail "_sum $sum s vs sysfs $ws2 ns"
	grep -q '^vwcache_vm_write_latency_seconds_bucket{pool="pool",vm_id="lat.vda",le="0.032768"} ' /tmp/prom ||
		fail "no bucket le=0.032768: $(grep write_latency /tmp/prom)"
	log "dmcache-ctl: _sum $sum s, _count $cnt"
fi

assert_ok dmsetup message vm1 0 clear_stats
assert_eq "$(cat $st/write_latency_sum_ns)" 0
assert_eq "$(cat $st/read_latency_sum_ns)" 0

dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"
dmsetup remove slow || fail "remove slow"
