#!/bin/sh
# Per-VM accounting and the sysfs trees: every file of interface.md is
# there with its mode; after known fio jobs the counters equal what fio
# issued, in sysfs and in dmsetup status alike; the latency histograms
# count every I/O; rates over the last second agree with a paced fio
# job; a reload keeps the counters, clear_stats zeroes them; bad sysfs
# writes and set messages are refused with nothing changed, good ones
# take effect at once and show in the table; the directory goes with the
# table.
# vwtest-disks: 1x256M 1x128M 1x128M
# vwtest-timeout: 300
# shellcheck disable=SC2086 # lists of words
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
vw_load_module
zero_head "$ssd"
pool_create pool "$ssd" 4096
vm_create vm1 pool "$(disk 1)" guest-1.vda
vm_create vm2 pool "$(disk 2)" guest-2.vda weight 300

vm1=$(dm_sys vm1)/vwcache
vm2=$(dm_sys vm2)/vwcache
pd=$(dm_sys pool)/vwcache_pool

# ---- the files ----------------------------------------------------------
mode_of() { stat -c %a "$1"; }
for f in vm_id pool mode state cached_blocks dirty_blocks dirty_bytes \
	flush_eta_ms stats/reads stats/writes stats/read_bytes \
	stats/write_bytes stats/read_hits stats/write_hits stats/coalesced \
	stats/writeback_blocks stats/writeback_errors stats/throttled stats/read_iops \
	stats/write_iops stats/read_bw stats/write_bw \
	stats/read_latency_us stats/write_latency_us; do
	[ -f "$vm1/$f" ] || fail "$vm1/$f missing"
	assert_eq "$(mode_of "$vm1/$f")" 444
done
for f in iops_limit bw_limit cache_quota weight; do
	[ -f "$vm1/limits/$f" ] || fail "$vm1/limits/$f missing"
	assert_eq "$(mode_of "$vm1/limits/$f")" 644
done
for f in state block_size total_blocks free_blocks dirty_blocks vms; do
	[ -f "$pd/$f" ] || fail "$pd/$f missing"
	assert_eq "$(mode_of "$pd/$f")" 444
done
for f in high_watermark low_watermark max_age writeback_iops \
	io_capacity_iops io_capacity_bw; do
	[ -f "$pd/$f" ] || fail "$pd/$f missing"
	assert_eq "$(mode_of "$pd/$f")" 644
done
assert_eq "$(cat $vm1/vm_id)" guest-1.vda
assert_eq "$(cat $vm1/pool)" pool
assert_eq "$(cat $vm1/mode)" writeback
assert_eq "$(cat $vm1/state)" ok
assert_eq "$(cat $vm2/limits/weight)" 300
assert_eq "$(cat $vm1/limits/weight)" 100
assert_eq "$(cat $pd/state)" ok
assert_eq "$(cat $pd/block_size)" 4096
assert_eq "$(cat $pd/total_blocks)" "$(field 3 pool)"
assert_eq "$(sort $pd/vms | tr '\n' ' ')" "guest-1.vda guest-2.vda "
assert_eq "$(cat $vm1/stats/reads)" 0
assert_eq "$(cat $vm1/stats/writes)" 0

# ---- exact counters ---------------------------------------------------------
# 3000 writes then 2000 reads of 4 KiB, 700 writes of 12 KiB (3 blocks
# each: a bio counts once per cache block it touches, so 3 each).
fio --name=w --filename=/dev/mapper/vm1 --direct=1 --ioengine=libaio \
	--iodepth=8 --rw=randwrite --bs=4k --size=64m --number_ios=3000 \
	--randrepeat=0 --output=/tmp/w.out || fail "fio w"
fio --name=r --filename=/dev/mapper/vm1 --direct=1 --ioengine=libaio \
	--iodepth=8 --rw=randread --bs=4k --size=64m --number_ios=2000 \
	--output=/tmp/r.out || fail "fio r"
fio --name=w12 --filename=/dev/mapper/vm2 --direct=1 --ioengine=psync \
	--rw=write --bs=12k --size=64m --number_ios=700 \
	--output=/tmp/w12.out || fail "fio w12"
log "vm1: $(dmsetup status vm1)"
assert_eq "$(cat $vm1/stats/writes)" 3000
assert_eq "$(cat $vm1/stats/write_bytes)" $((3000 * 4096))
assert_eq "$(cat $vm1/stats/reads)" 2000
assert_eq "$(cat $vm1/stats/read_bytes)" $((2000 * 4096))
assert_eq "$(field 7 vm1)" 3000
assert_eq "$(field 5 vm1)" 2000
assert_eq "$(cat $vm2/stats/write_bytes)" $((700 * 12288))
assert_eq "$(cat $vm2/stats/writes)" 2100
assert_eq "$(cat $vm2/stats/reads)" 0
assert_eq "$(cat $vm1/stats/read_hits)" "$(field 6 vm1)"
assert_eq "$(cat $vm1/stats/write_hits)" "$(field 8 vm1)"
assert_eq "$(cat $vm1/stats/coalesced)" "$(field 9 vm1)"
assert_eq "$(cat $vm1/cached_blocks)" "$(field 3 vm1)"
assert_eq "$(cat $vm1/dirty_blocks)" "$(field 4 vm1)"
assert_eq "$(cat $vm1/dirty_bytes)" $(($(field 4 vm1) * 4096))
[ "$(cat $vm1/stats/read_hits)" -gt 0 ] || fail "no read hits after reading written blocks"
# The pool counts both VMs.
assert_eq "$(field 9 pool)" 5100
assert_eq "$(field 7 pool)" 2000

# Latency histograms: 32 lines "<bound_us> <count>", bounds doubling,
# counts summing to the I/Os.
hist_check() {
	awk -v want="$2" 'BEGIN { b = 1 }
		$1 != b { print "bad bound " $1 " at line " NR; bad = 1 }
		{ b *= 2; sum += $2 }
		END { if (NR != 32 || sum != want) { print NR " lines, sum " sum; bad = 1 }
		      exit bad }' "$1" || fail "histogram $1"
}
hist_check $vm1/stats/write_latency_us 3000
hist_check $vm1/stats/read_latency_us 2000
hist_check $vm2/stats/write_latency_us 2100

# ---- reload keeps, clear_stats zeroes ----------------------------------------
assert_ok dmsetup reload vm1 --table "$(dmsetup table vm1)"
assert_ok dmsetup suspend vm1
assert_ok dmsetup resume vm1
assert_eq "$(cat $vm1/stats/writes)" 3000
assert_eq "$(field 7 vm1)" 3000
assert_ok dmsetup message vm1 0 clear_stats
assert_eq "$(cat $vm1/stats/writes)" 0
assert_eq "$(cat $vm1/stats/reads)" 0
assert_eq "$(awk '{ s += $2 } END { print s }' $vm1/stats/write_latency_us)" 0
assert_eq "$(cat $vm2/stats/writes)" 2100

# ---- rates against a paced fio job ----------------------------------------
# 300 writes/s and 200 reads/s for 6 s; the rates are read at 4 s.
fio --name=pw --filename=/dev/mapper/vm1 --direct=1 --ioengine=libaio \
	--iodepth=4 --rw=randrw --rwmixwrite=60 --bs=4k --size=64m \
	--rate_iops=200,300 --time_based --runtime=6 \
	--output-format=terse >/tmp/pw.terse 2>&1 &
sleep 4
ri=$(cat $vm1/stats/read_iops)
wi=$(cat $vm1/stats/write_iops)
rb=$(cat $vm1/stats/read_bw)
wb=$(cat $vm1/stats/write_bw)
wait
fr=$(awk -F';' '{ printf "%d", $8 }' /tmp/pw.terse)
fw=$(awk -F';' '{ printf "%d", $49 }' /tmp/pw.terse)
log "rates: read $ri/s ($rb B/s) write $wi/s ($wb B/s); fio: read $fr write $fw IOPS"
within "$ri" "$fr" 10 || fail "read_iops $ri vs fio $fr"
within "$wi" "$fw" 10 || fail "write_iops $wi vs fio $fw"
within "$rb" $((fr * 4096)) 10 || fail "read_bw $rb vs fio $((fr * 4096))"
within "$wb" $((fw * 4096)) 10 || fail "write_bw $wb vs fio $((fw * 4096))"
sleep 2
assert_eq "$(cat $vm1/stats/write_iops)" 0

# ---- bad writes and messages: refused, nothing changed ---------------------
snap() {
	for f in $vm1/limits/* $pd/high_watermark $pd/low_watermark \
		$pd/max_age $pd/writeback_iops $pd/io_capacity_iops \
		$pd/io_capacity_bw; do
		echo "$f=$(cat "$f")"
	done
	dmsetup table
}
before=$(snap)
n=0
bad_write() { # FILE VALUE
	if (printf '%s\n' "$2" >"$1") 2>/dev/null; then
		fail "writing '$2' to $1 was accepted"
	fi
	n=$((n + 1))
}
for v in abc -1 "" 1.5 0x10 " 5" "5 5" 1e3 +5 \
	99999999999999999999999 18446744073709551616 \
	"$(printf '%040d' 1)"; do
	bad_write $vm1/limits/iops_limit "$v"
	bad_write $vm1/limits/bw_limit "$v"
done
for v in 0 1001 100000 -100 abc; do
	bad_write $vm1/limits/weight "$v"
done
bad_write $vm1/limits/cache_quota 18446744073709551616
bad_write $vm1/limits/cache_quota x
bad_write $vm1/vm_id other
bad_write $vm1/stats/reads 0
bad_write $pd/high_watermark 101
bad_write $pd/high_watermark 0
bad_write $pd/low_watermark 100
bad_write $pd/max_age -5
bad_write $pd/io_capacity_iops 1099511627777
bad_write $pd/state ok
for m in "set weight 0" "set weight 1001" "set iops_limit -1" \
	"set bw_limit abc" "set cache_quota 1.5" "set nosuch 1" \
	"set iops_limit" "set mode fast" "set iops_limit 5 5"; do
	expect_msg_refused vm1 $m
	n=$((n + 1))
done
for m in "set high_watermark 101" "set low_watermark 95" \
	"set io_capacity_bw x" "set weight 100"; do
	expect_msg_refused pool $m
	n=$((n + 1))
done
assert_eq "$(snap)" "$before"
log "$n bad writes and messages refused, nothing changed"
[ "$n" -ge 20 ] || fail "only $n bad inputs tried"

# ---- good writes: at once, in the table, kept by a reload --------------------
echo 1234 >$vm1/limits/iops_limit || fail "iops_limit write"
echo 4194304 >$vm1/limits/bw_limit || fail "bw_limit write"
echo 5000 >$vm1/limits/cache_quota || fail "cache_quota write"
echo 250 >$vm1/limits/weight || fail "weight write"
assert_eq "$(cat $vm1/limits/iops_limit)" 1234
tbl=$(dmsetup table vm1)
for kv in "iops_limit 1234" "bw_limit 4194304" "cache_quota 5000" "weight 250"; do
	echo "$tbl" | grep -q "$kv" || fail "table lacks '$kv': $tbl"
done
assert_ok dmsetup message vm1 0 set iops_limit 0
assert_eq "$(cat $vm1/limits/iops_limit)" 0
echo 7 >$pd/writeback_iops || fail "writeback_iops write"
echo 2000 >$pd/io_capacity_iops || fail "io_capacity_iops write"
dmsetup table pool | grep -q "writeback_iops 7" || fail "pool table: $(dmsetup table pool)"
assert_ok dmsetup suspend pool
assert_ok dmsetup resume pool
assert_eq "$(cat $pd/io_capacity_iops)" 2000
echo 0 >$pd/io_capacity_iops || fail "io_capacity_iops write"
echo 0 >$pd/writeback_iops || fail "writeback_iops write"
assert_ok dmsetup reload vm1 --table "$(dmsetup table vm1)"
assert_ok dmsetup suspend vm1
assert_ok dmsetup resume vm1
assert_eq "$(cat $vm1/limits/weight)" 250
assert_eq "$(cat $vm1/limits/cache_quota)" 5000

# ---- the directory goes with the last vwcache table of the device ------------
dev1=$(dm_sys vm1)
assert_ok dmsetup message vm1 0 flush
wait_clean vm1
assert_ok dmsetup reload vm1 --table "0 $(sectors "$(disk 1)") linear $(disk 1) 0"
assert_ok dmsetup suspend vm1
assert_ok dmsetup resume vm1
[ -d $dev1 ] || fail "dm device vanished"
[ -e $dev1/vwcache ] && fail "vwcache directory left after the reload to linear"
assert_eq "$(cat $pd/vms)" guest-2.vda
dmsetup remove vm1 vm2 || fail "remove"
dmsetup remove pool || fail "remove pool"
