#!/bin/sh
# The pool setting writeback_depth: writeback runs in flight to one origin.
# Checked:
#  - each VM device's sysfs writeback_depth: with the setting 0, its
#    origin's request queue depth for a blk-mq disk (a virtio disk with
#    nr_requests set to 16 before the VM device is created, a null_blk
#    disk), 0 (no bound of its own) for a dm origin; the setting, when
#    not 0, for all;
#  - bad values refused by message and sysfs, nothing changed; the table
#    re-emits the setting when it is not 0 and a reload keeps it;
#  - the bound: 256 scattered dirty blocks (one run each) flushed to an
#    origin that completes every I/O after 200 ms (null_blk, timer
#    completions, 1024 tags), writeback_depth 8: the origin never has more
#    than 8 writes and its one flush in flight (its inflight, sampled all
#    along the flush), and more than one (the runs still go together);
#    the module before the setting had all 256 in flight;
#  - another VM's flush to a fast origin meanwhile is done while the slow
#    one still has dirty blocks;
#  - the data: both origins hold what was written.
# vwtest-disks: 1x64M 1x16M 1x16M
# vwtest-mem: 512
# vwtest-timeout: 240
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
odisk=$(disk 1)
fast=$(disk 2)
vw_load_module

depth() { cat "$(dm_sys "$1")/vwcache/writeback_depth"; }
pdepth() { cat "$(dm_sys pool)/vwcache_pool/writeback_depth"; }

# --- 1: the depth each VM device gets ---------------------------------------
fname=$(basename "$fast")
echo 16 >"/sys/block/$fname/queue/nr_requests" ||
	fail "cannot set nr_requests of $fname"
assert_eq "$(cat "/sys/block/$fname/queue/nr_requests")" 16 "nr_requests of $fname"
# A 16 MiB disk whose every I/O completes 200 ms after submission, with
# 1024 tags: its inflight shows what is sent to it, its own queue does
# not bound it.
slow=$(mk_null_blk slow 16 4096 irqmode=2 completion_nsec=200000000 \
	hw_queue_depth=1024)
snr=$(cat "/sys/block/$(basename "$slow")/queue/nr_requests")
S=$(sectors "$odisk")
dmsetup create dmo --table "0 $S linear $odisk 0" || fail "dm-linear"
dm_dev_of dmo >/dev/null
zero_head "$ssd"
pool_create pool "$ssd" 4096 max_age 0 high_watermark 95
vm_create vma pool "$slow" guest-91a
vm_create vmb pool "$fast" guest-91b
vm_create vmc pool /dev/mapper/dmo guest-91c
assert_eq "$(pdepth)" 0 "pool writeback_depth by default"
assert_eq "$(depth vma)" "$snr" "vma (null_blk origin, nr_requests $snr) with writeback_depth 0"
assert_eq "$(depth vmb)" 16 "vmb (virtio origin, nr_requests 16) with writeback_depth 0"
assert_eq "$(depth vmc)" 0 "vmc (dm origin) with writeback_depth 0"
dmsetup table pool | grep -q writeback_depth &&
	fail "writeback_depth 0 re-emitted: $(dmsetup table pool)"
assert_ok dmsetup message pool 0 set writeback_depth 8
for v in vma vmb vmc; do
	assert_eq "$(depth $v)" 8 "$v with writeback_depth 8"
done
dmsetup table pool | grep -q 'writeback_depth 8' ||
	fail "writeback_depth 8 not re-emitted: $(dmsetup table pool)"
for v in 4097 -1 abc 8x 0x10; do
	expect_msg_refused pool set writeback_depth "$v"
	if printf '%s' "$v" >"$(dm_sys pool)/vwcache_pool/writeback_depth" 2>/dev/null; then
		fail "sysfs writeback_depth '$v' accepted"
	fi
done
assert_eq "$(pdepth)" 8 "writeback_depth after the refusals"
# A reload keeps it (the table re-emits it).
dmsetup reload pool --table "$(dmsetup table pool)" || fail "reload pool"
dmsetup suspend pool && dmsetup resume pool || fail "suspend/resume pool"
assert_eq "$(pdepth)" 8 "writeback_depth after a reload"
dmsetup remove vmc && dmsetup remove dmo || fail "remove vmc"
log "1: depth $snr and 16 from the disks' queues, 0 for the dm origin, 8 when set; bad values refused"

# --- 2: the bound, and another VM beside it ---------------------------------
# 256 blocks, every other one: one run each.  Both VMs alike.
for v in vma vmb; do
	fio --name=w --filename=/dev/mapper/$v --rw=write:4k --bs=4k --size=2m \
		--direct=1 --ioengine=psync --buffer_pattern=\"$v\" \
		--output=/dev/null || fail "fio on $v"
	assert_eq "$(field 4 $v)" 256 "$v dirty blocks"
done
inflight=/sys/block/$(basename "$slow")/inflight
assert_ok dmsetup message vma 0 flush
assert_ok dmsetup message vmb 0 flush
max=0 n=0 b_done=
while :; do
	read -r _r w <"$inflight"
	[ "$w" -gt "$max" ] && max=$w
	n=$((n + 1))
	# shellcheck disable=SC2046
	set -- $(dmsetup status vma)
	adirty=$7
	if [ -z "$b_done" ] && [ "$(field 4 vmb)" = 0 ]; then
		b_done=$adirty
	fi
	[ "$adirty" = 0 ] && [ "$5" != flushing ] && break
	[ $n -lt $((3000 * ${VW_TIMEOUT_SCALE:-1})) ] ||
		fail "vma not clean after $n samples: $(dmsetup status vma)"
	sleep 0.02
done
log "2: slow origin: at most $max writes in flight over $n samples; vmb clean with vma at $b_done dirty"
[ "$max" -le 9 ] || fail "the slow origin had $max writes in flight (writeback_depth 8, plus its flush)"
[ "$max" -ge 2 ] || fail "the slow origin never had more than $max write in flight"
[ -n "$b_done" ] && [ "$b_done" -gt 0 ] ||
	fail "vmb's flush was not done before vma's (vma dirty when vmb was clean: '${b_done:-never}')"
wait_clean vmb 30

# --- 3: the data -------------------------------------------------------------
for v in vma vmb; do
	case $v in vma) o=$slow ;; *) o=$fast ;; esac
	dd if=/dev/mapper/$v of=/tmp/$v.vm bs=1M count=2 iflag=direct 2>/dev/null || fail "read $v"
	dd if="$o" of=/tmp/$v.origin bs=1M count=2 iflag=direct 2>/dev/null || fail "read $o"
	cmp -s /tmp/$v.vm /tmp/$v.origin || fail "$v: origin differs from the VM device after the flush"
	grep -qa "$v" /tmp/$v.origin || fail "$v: the pattern is not on the origin"
done
log "3: both origins hold the written data"
for d in vma vmb pool; do dmsetup remove $d || fail "remove $d"; done
rm_null_blk slow
