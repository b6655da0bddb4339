#!/bin/sh
# 65-origin-isolation: one VM's slow or suspended origin must not slow
# another VM's FLUSH (issue 15, item 6).  vm1's fsync latency (fio, 4 KiB
# random writes, fsync after each: p99 of the fsyncs) is measured alone,
# then while vm2 writes around the cache (512-byte writes, to its origin)
# and flushes in a loop with its origin behind dm-delay (writes and flushes
# held 3 s), then while vm3's origin is suspended after a write around and
# vm3 flushes.  vm1's p99 must stay within 2x of its value alone.  Before
# the fix every commit flushed, one after another under the commit lock,
# the origins written around since the last one, so vm1's fsyncs waited
# for vm2's 3 s flushes (and for vm3's origin to resume).  Now a VM
# device's FLUSH flushes its own origin beside the commit.  vm2's and
# vm3's flushes must still succeed, after their origins.
# vwtest-disks: 1x128M 1x64M 1x64M 1x64M
# vwtest-timeout: 300
# vwtest-exclusive: yes
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
vw_load_module
dmsetup targets | grep -q '^delay' || kmod_load dm-delay

zero_head "$ssd"
pool_create pool "$ssd" 4096 max_age 0
vm_create vm1 pool "$(disk 1)" guest-65-1
O2=$(sectors "$(disk 2)")
dmsetup create oleg2 --table "0 $O2 delay $(disk 2) 0 0 $(disk 2) 0 3000" ||
	fail "delay leg"
vm_create vm2 pool /dev/mapper/oleg2 guest-65-2
O3=$(sectors "$(disk 3)")
dmsetup create oleg3 --table "0 $O3 linear $(disk 3) 0" || fail "linear leg"
vm_create vm3 pool /dev/mapper/oleg3 guest-65-3

# p99: the 99th percentile of vm1's fsync latency over 3 s, in us; MAX
# is set to the longest fsync, in ms.
p99() {
	fio --name=fs --filename=/dev/mapper/vm1 --direct=1 --rw=randwrite \
		--bs=4k --size=16M --fsync=1 --runtime=3 --time_based \
		--output-format=json >/tmp/fs.json 2>/tmp/fs.err ||
		{ cat /tmp/fs.err; fail "fio on vm1"; }
	awk '/"sync"/ { s = 1 } s && /"max"/ { gsub(/[^0-9]/, "", $3); print int($3 / 1000000); exit }' \
		/tmp/fs.json >/tmp/fs.max
	awk '/"sync"/ { s = 1 } s && /"99.000000"/ { gsub(/[^0-9]/, "", $3); print int($3 / 1000); exit }' /tmp/fs.json
}

# isolated WHAT: vm1's fsyncs were not held up: p99 within 2x of ALONE, and
# none as long as a held origin's 1 s or more (a stall is one fsync at
# queue depth 1, below the p99 of a few hundred).
isolated() {
	_max=$(cat /tmp/fs.max)
	log "$1: vm1 fsync p99 $with us (alone $alone us), longest $_max ms (run $n)"
	[ "$with" -le $((2 * alone)) ] && [ "$_max" -lt 1000 ]
}

# around DEV N: a 512-byte O_DIRECT write around the cache at sector 8 N + 1
# (fio: busybox dd falls back to buffered I/O when O_DIRECT fails).
around() {
	fio --name=around --filename="$1" --direct=1 --rw=write --bs=512 \
		--size=512 --offset=$(((8 * $2 + 1) * 512)) --invalidate=0 \
		--buffer_pattern="\"around $2\"" >/tmp/around.out 2>&1
}

# bg_start VM: VM writes around and flushes in a loop; bg_stop ends it and
# fails if any of it failed.
bg_start() {
	touch /tmp/go
	rm -f /tmp/bg.err
	(
		i=0
		while [ -f /tmp/go ]; do
			around "/dev/mapper/$1" $i || echo "$1: write $i failed" >>/tmp/bg.err
			flush_dev "/dev/mapper/$1" || echo "$1: flush $i failed" >>/tmp/bg.err
			i=$((i + 1))
		done
	) &
	bg=$!
}

bg_stop() {
	rm -f /tmp/go
	wait $bg
	[ ! -s /tmp/bg.err ] || fail "$(cat /tmp/bg.err)"
}

# --- a slow origin ---------------------------------------------------------
n=0
while :; do
	alone=$(p99)
	bg_start vm2
	sleep 4 # the first write around of vm2 completes after 3 s
	with=$(p99)
	bg_stop
	n=$((n + 1))
	isolated "vm2's origin held 3 s" && break
	[ $n -lt 3 ] || fail "slow origin: vm1's fsyncs held up (p99 $with us, alone $alone us, longest $(cat /tmp/fs.max) ms)"
done
dd if="$(disk 2)" bs=512 skip=1 count=1 iflag=direct 2>/dev/null | grep -aq '^around 0' ||
	fail "vm2's write around is not on its origin"

# --- a suspended origin ------------------------------------------------------
n=0
while :; do
	alone=$(p99)
	around /dev/mapper/vm3 $n || fail "vm3's write around"
	dmsetup suspend oleg3 || fail "suspend vm3's origin"
	rm -f /tmp/vm3.flush /tmp/vm3.resumed /tmp/vm3.measured
	( flush_dev /dev/mapper/vm3 && echo ok >/tmp/vm3.flush ) &
	f3=$!
	# Resumed once vm1 is measured, or after 8 s whatever happens: a vm1
	# held up until then fails below rather than hanging the test.  One
	# timer, not a loop polling every 100 ms: its 80 forks under TCG,
	# while fio measures, put 1-2 ms into vm1's fsync p99 of about 1 ms
	# (the module of 53e7cc7 failed 2 x with it in 3 of 3 runs on 6.1:
	# p99 2.06-2.09 x alone, the longest fsync 7 ms; a held-up fsync waits
	# seconds).
	( sleep 8 && touch /tmp/vm3.resumed && dmsetup resume oleg3 ) &
	r3=$!
	sleep 1
	with=$(p99)
	[ -e /tmp/vm3.resumed ] || [ ! -e /tmp/vm3.flush ] ||
		fail "vm3's flush ended while its origin was suspended"
	kill $r3 2>/dev/null
	wait $r3
	touch /tmp/vm3.resumed
	dmsetup resume oleg3 || fail "resume vm3's origin"
	wait $f3
	[ -e /tmp/vm3.flush ] || fail "vm3's flush failed after its origin resumed"
	n=$((n + 1))
	isolated "vm3's origin suspended" && break
	[ $n -lt 3 ] || fail "suspended origin: vm1's fsyncs held up (p99 $with us, alone $alone us, longest $(cat /tmp/fs.max) ms)"
done

dmsetup remove vm1 vm2 vm3 pool oleg2 oleg3 || fail "removing the devices"
log "a slow and a suspended origin held up their own VM's flushes only"
