#!/bin/sh
# Weights and the pool's capacity: two VMs of weights 100 and 300 that
# together ask for more than io_capacity_iops get it in a 1:3 ratio
# (within 10 %), with a third, idle VM of a large weight attached costing
# them nothing (their sum is the capacity); a VM alone gets the whole
# capacity; below capacity nobody is held back.  The shares hold only
# while both VMs ask for more than the capacity, and how many IOPS they
# can ask for is the machine's (TCG, a debug kernel, a loaded CI host:
# CI once saw the pair reach only 913 of 1000).  So the capacity is a
# third of what the two reach unlimited, at most 1000, measured first;
# rates are medians of half-second intervals and means are held to the
# upper bound (lib-vwcache.sh: samples, at_most).  A rate that falls short
# is measured again (short_again), up to 3 runs, the capacity measured
# anew; the ratio is checked on a run whose sum reached the capacity (both
# VMs asked for more all along).
# vwtest-disks: 1x256M 1x128M 1x128M 1x128M
# vwtest-timeout: 360
# vwtest-exclusive: yes
# shellcheck disable=SC2086 # lists of words
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

CAP=1000
ssd=$(disk 0)
vw_load_module
zero_head "$ssd"
pool_create pool "$ssd" 4096 io_capacity_iops $CAP
vm_create vm1 pool "$(disk 1)" guest-1.vda weight 100
vm_create vm2 pool "$(disk 2)" guest-2.vda weight 300
vm_create vm3 pool "$(disk 3)" guest-3.vda weight 1000

# pair SECONDS [ARGS1] [ARGS2]: 4 KiB random writes, QD32, in vm1 and vm2
# at once, as two jobs of one fio (they start and stop together; the
# first 2 s are not measured); mean IOPS in $a and $b, and the medians of
# fio's half-second intervals (lib-vwcache.sh: samples) in $ma and $mb,
# of their sum in $mt and of vm2's over vm1's in $mr.  Both jobs submit from
# CPU 0: when the host starves one vCPU's thread, both VMs starve alike,
# instead of one of them idling and the other taking its unused share.
pair() {
	fio --direct=1 --ioengine=libaio --iodepth=32 --rw=randwrite --bs=4k \
		--size=100m --time_based --runtime="$1" --ramp_time=2 \
		--cpus_allowed=0 --log_avg_msec=500 --output-format=terse \
		--name=vm1 --filename=/dev/mapper/vm1 --write_iops_log=/tmp/p1 ${2:-} \
		--name=vm2 --filename=/dev/mapper/vm2 --write_iops_log=/tmp/p2 ${3:-} \
		>/tmp/pair 2>&1 || { cat /tmp/pair; fail "fio pair"; }
	a=$(awk -F';' '$3 == "vm1" { printf "%d", $49 }' /tmp/pair)
	b=$(awk -F';' '$3 == "vm2" { printf "%d", $49 }' /tmp/pair)
	samples /tmp/p1_iops.1.log >/tmp/s1
	samples /tmp/p2_iops.2.log >/tmp/s2
	ma=$(median </tmp/s1)
	mb=$(median </tmp/s2)
	mt=$(paste /tmp/s1 /tmp/s2 | awk '{ print $1 + $2 }' | median)
	mr=$(paste /tmp/s1 /tmp/s2 | awk '$1 > 0 { print $2 / $1 }' | median)
}

run=0
while :; do
	run=$((run + 1))
	echo 0 >"$(dm_sys pool)/vwcache_pool/io_capacity_iops" ||
		fail "io_capacity_iops 0"
	pair 5
	CAP=$(((a + b) / 30 * 10))
	[ $CAP -le 1000 ] || CAP=1000
	[ $CAP -ge 60 ] || fail "unlimited, vm1 and vm2 reach only $a + $b IOPS"
	log "unlimited: $a + $b IOPS, capacity $CAP"
	echo $CAP >"$(dm_sys pool)/vwcache_pool/io_capacity_iops" ||
		fail "io_capacity_iops $CAP"
	pair 10
	log "capacity $CAP IOPS, weights 100:300 (idle vm3 of weight 1000): $a + $b IOPS, half-second medians $ma + $mb, sum $mt, ratio $mr"
	at_most $((a + b)) $CAP 7 || fail "together $((a + b)) IOPS, over capacity $CAP"
	at_most "$mt" $CAP 7 || fail "together $mt IOPS (median), over capacity $CAP"
	within "$mt" $CAP 7 && break
	short_again $run 3 "together $mt IOPS (median), capacity $CAP"
done
[ "$a" -gt 0 ] || fail "vm1 got nothing"
within "$mr" 3 10 || fail "ratio $mr, not 3 within 10 %"
assert_eq "$(field 5 vm3)" 0
assert_eq "$(field 7 vm3)" 0
[ "$(field 11 vm1)" -gt 0 ] || fail "vm1: nothing counted as throttled"

# Alone, a VM takes the whole capacity whatever its weight.
run=0
while :; do
	run=$((run + 1))
	fio --name=vm1 --filename=/dev/mapper/vm1 --direct=1 --ioengine=libaio \
		--iodepth=32 --rw=randwrite --bs=4k --size=100m --time_based \
		--runtime=5 --ramp_time=1 --output-format=terse \
		--write_iops_log=/tmp/alone --log_avg_msec=500 >/tmp/vm1 2>&1 ||
		fail "fio vm1"
	a=$(awk -F';' '{ printf "%d", $49 }' /tmp/vm1)
	ma=$(samples /tmp/alone_iops.1.log | median)
	log "vm1 alone: $a IOPS, half-second median $ma"
	at_most "$a" $CAP 7 || fail "vm1 alone got $a IOPS, over capacity $CAP"
	at_most "$ma" $CAP 7 || fail "vm1 alone got $ma IOPS (median), over capacity $CAP"
	within "$ma" $CAP 7 && break
	short_again $run 3 "vm1 alone got $ma IOPS (median) of $CAP"
done

# Below capacity nobody is held back: 30 % and 50 % of it offered.
low1=$((CAP * 3 / 10))
low2=$((CAP / 2))
run=0
while :; do
	run=$((run + 1))
	pair 8 --rate_iops=,$low1 --rate_iops=,$low2
	log "below capacity, $low1 and $low2 offered: $a and $b IOPS, half-second medians $ma and $mb"
	within "$ma" $low1 5 && within "$mb" $low2 5 && break
	short_again $run 3 "held back: vm1 $ma of $low1, vm2 $mb of $low2"
done

# A changed capacity applies at once (sysfs), shared the same way.
cap2=$((CAP * 6 / 10))
echo $cap2 >"$(dm_sys pool)/vwcache_pool/io_capacity_iops" ||
	fail "io_capacity_iops write"
run=0
while :; do
	run=$((run + 1))
	pair 8
	log "capacity $cap2, weights 100:300: $a + $b IOPS, half-second medians $ma + $mb, sum $mt, ratio $mr"
	at_most $((a + b)) $cap2 7 || fail "together $((a + b)) IOPS, over capacity $cap2"
	at_most "$mt" $cap2 7 || fail "together $mt IOPS (median), over capacity $cap2"
	within "$mt" $cap2 7 && break
	short_again $run 3 "together $mt IOPS (median), capacity $cap2"
done
within "$mr" 3 10 || fail "ratio $mr at capacity $cap2"

for v in vm1 vm2 vm3; do
	dmsetup remove $v || fail "remove $v"
done
dmsetup remove pool || fail "remove pool"
