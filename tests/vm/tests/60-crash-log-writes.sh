#!/bin/sh
# 60-crash-log-writes: crash consistency checked at every flush.  One data
# disk sits under vwtest-logw (log on a second disk) and dm-linear
# cuts it into the pool's SSD leg and three origin legs, so the log holds
# one global order of every write to all legs (vwtest-logw, of
# tests/kmod, is dm-log-writes but for one thing: a flush logs every write
# completed before it was mapped, also while a flush mapped earlier is
# still in flight, which dm-log-writes lets log them later, after marks
# placed meanwhile; it logs a write only once a
# FLUSH after it completed, or at once for FUA: replaying the log up to a
# point gives the disk as a power cut at that point would leave it, its
# volatile write cache lost).  vwc-model drives three VM devices on a small
# pool (eviction and writeback run during the workload) with many flushes;
# after each completed flush it saves a checkpoint of its model and puts a
# mark "fN" in the log.  Halfway, the VM devices go away with dirty data
# committed and come back (a VM restart: the pool rewrites their records).
#
# Then, for every mark, the log is replayed up to it onto a scratch disk,
# incrementally (lw-replay --start-mark/--start), a throwaway dm-snapshot
# of the scratch disk gets the same legs, the pool must load (recover) on
# it, the VM devices attach, and vwc-model --crash-check must find every
# write completed before flush N intact (checkpoint N).  Every DEEP-th mark
# also writes all recovered dirty data back and checks that the origins
# alone hold the resolved model.  The disk right before a superblock write
# (a commit's other metadata durable, its superblock not) must recover too:
# the first such point after every INTER-th mark and every one between the
# marks around the VM devices' return.  There the data is checked only if
# vwc-model has --allow-later (checkpoint of the mark before, plus any
# intact write issued after it: no checkpoint knows all the writes that may
# have reached the disk by then); else the pool must load and the VM
# devices attach.  A negative control (an early state against a late
# checkpoint, strict) must fail, and the replay of the whole log must equal
# the data disk byte for byte.
#
# The pool has 16 KiB blocks of four 4 KiB sub-blocks and half of the
# I/O is 4 KiB aligned, so blocks are cached in part and grow while dirty
# (VWC_FEATURE_INCOMPAT_SUBBLOCKS: a torn commit that grew a dirty block
# must leave the sub-blocks an earlier commit recorded); the other half
# is at any 512-byte offset.
#
# Kernel parameter vwfull=1 (or VW_FULL=1 in the guest environment) runs the
# long variant: more operations, hence more marks (500, against 40 in
# make check), and more checks.
# vwtest-disks: 1x128M 1x2G 1x128M 1x128M
# vwtest-timeout: 2700
# vwtest-mem: 1536
# shellcheck disable=SC1091,SC2086,SC2046,SC2013 # guest paths; lists of words
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

data=$(disk 0)
logd=$(disk 1)
scratch=$(disk 2)
cowd=$(disk 3)

SSD_MB=24
ORIGIN_MB=16
NVM=3
SEED=60
MIN_MARKS=40
OPS=400
DEEP=10 # every DEEP-th mark: write back and check the origins
INTER=3 # every INTER-th mark: recovery right before a superblock write
BS=16384
ALIGN="--align4k 50"
POOL_FEATURES="high_watermark 20 low_watermark 5 max_age 1000 commit_interval 500"
if grep -qw vwfull=1 /proc/cmdline || [ "${VW_FULL:-0}" = 1 ]; then
	OPS=4000
	MIN_MARKS=500
	DEEP=5
	INTER=2
fi

SSD_S=$((SSD_MB * 2048))
ORIGIN_S=$((ORIGIN_MB * 2048))
TOTAL_S=$((SSD_S + NVM * ORIGIN_S))
CK=/tmp/ck
vms=
for i in $(seq 1 $NVM); do
	vms="$vms /dev/mapper/vm$i"
done

command -v vwc-model >/dev/null || fail "vwc-model not in the guest (make -C tests/tools)"
command -v lw-replay >/dev/null || fail "lw-replay not in the guest (make -C tests/tools)"
dmsetup targets | grep -q '^vwtest-logw' ||
	insmod /lib/vwcache/dm-vwtest-log-writes.ko ||
	fail "insmod dm-vwtest-log-writes (tests/kmod)"
dmsetup targets | grep -q '^snapshot' || modprobe dm-snapshot 2>/dev/null ||
	fail "dm-snapshot is not in the image (add it to EXTRA_MODULES of tests/vm/mkinitramfs)"

t_start=$(date +%s)

# now: uptime in centiseconds; spent VAR T0: add now - T0 to VAR.
now() {
	read -r _up _ </proc/uptime
	echo "${_up%.*}${_up#*.}"
}
spent() {
	eval "$1=\$((\${$1:-0} + \$(now) - $2))"
}
secs() { printf '%d.%02d' $(($1 / 100)) $(($1 % 100)); }

# stack BASE: the SSD leg "ssd" and origin legs "o1".. on BASE, the pool
# (format or recovery) on ssd, the VM devices "vm1".. on the origin legs.
# One dmsetup per step: each costs tens of ms under TCG.  A pool that does
# not load, or not in state ok, returns 1 with the reason in $why and the
# legs removed.
stack() {
	_spec="ssd,,,rw,0 $SSD_S linear $1 0"
	_vms='' _legs=ssd
	for i in $(seq 1 $NVM); do
		_spec="$_spec;o$i,,,rw,0 $ORIGIN_S linear $1 $((SSD_S + (i - 1) * ORIGIN_S))"
		_vms="$_vms${_vms:+;}vm$i,,,rw,0 $ORIGIN_S vwcache /dev/mapper/pool /dev/mapper/o$i guest-$i.vda 0"
		_legs="$_legs o$i"
	done
	dmsetup create --concise "$_spec" || fail "creating the legs on $1"
	if ! dmsetup create pool --table "0 $SSD_S vwcache-pool /dev/mapper/ssd $BS $(echo $POOL_FEATURES | wc -w) $POOL_FEATURES" 2>/dev/null; then
		why="pool load refused: $(dmesg | grep vwcache | tail -n 1 | sed 's/^\[[ 0-9.]*\] //')"
		dmsetup remove $_legs || fail "removing the legs"
		return 1
	fi
	_st=$(dmsetup status pool) || fail "pool status"
	set -- $_st
	if [ "$4" != ok ]; then
		why="pool state after load: $_st"
		dmsetup remove pool $_legs || fail "removing the pool and the legs"
		return 1
	fi
	dmsetup create --concise "$_vms" || fail "creating the VM devices"
}

# unstack [MORE...]: remove the VM devices, the pool, the legs and MORE.
unstack() {
	_l="pool ssd"
	for i in $(seq 1 $NVM); do
		_l="vm$i $_l o$i"
	done
	dmsetup remove $_l "$@" || fail "removing $_l $*"
}

# model OUT ARGS...: run vwc-model with output to OUT; sets rc.
model() {
	_out=$1
	shift
	vwc-model "$@" >"$_out" 2>&1
	rc=$?
}

# report_field NAME FILE: a number of vwc-model's --report.
report_field() {
	awk -v k="$1:" '$1 == k { print $2 }' "$2"
}

md5_of() {
	dd if="$1" bs=1M count=$((TOTAL_S / 2048)) iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1
}

ck() { printf '%s/flush-%06d.state' "$CK" "$1"; }

vw_load_module

# --- record ------------------------------------------------------------------
# Fresh sparse disks read as zeros; make sure of the part the legs use.
for d in "$data" "$scratch"; do
	dd if=/dev/zero of="$d" bs=1M count=$((TOTAL_S / 2048)) conv=fsync 2>/dev/null ||
		fail "zeroing $d"
done
dd if=/dev/zero of="$logd" bs=4096 count=1 conv=fsync 2>/dev/null || fail "zeroing the log head"
assert_ok dmsetup create lw --table "0 $TOTAL_S vwtest-logw $data $logd"
assert_ok dmsetup message lw 0 mark start
stack /dev/mapper/lw || fail "$why"
log "pool on the $SSD_MB MiB leg: $(dmsetup status pool)"

# The workload in two halves; between them the VM devices go away with
# dirty data committed and come back (a VM restarting): the pool rewrites
# their records.  vwc-model numbers flushes on over --load.
rm -rf "$CK"
t0=$(date +%s)
HALF=$((OPS / 2))
workload() {
	model /tmp/work.out --ops "$HALF" --threads $NVM --mix 30,50,15,5 --max-io 64k $ALIGN \
		--checkpoint-dir "$CK" --mark-cmd 'dmsetup message lw 0 mark f%d' \
		--report "$@" $vms
	cat /tmp/work.out
	[ $rc -eq 0 ] || fail "workload: vwc-model exited $rc"
}
workload --seed $SEED --initial-zero --crash-check --state /tmp/half.state
k1=$(awk '$1 == "flushes" { print $2 }' /tmp/half.state)
# Dirty data, kept: no writeback, writes only, no flush.
assert_ok dmsetup message pool 0 set max_age 0
assert_ok dmsetup message pool 0 set high_watermark 100
model /tmp/w.out --load /tmp/half.state --ops 60 --seed $((SEED + 1)) --threads $NVM \
	--mix 0,100,0,0 --max-io 64k $ALIGN --checkpoint-dir "$CK" --state /tmp/half.state $vms ||
	{ cat /tmp/w.out; fail "dirtying before the VM devices go"; }
log "first half: $k1 flushes; before the VM devices go: $(dmsetup status pool)"
dmsetup remove $vms || fail "removing the VM devices"
for i in $(seq 1 $NVM); do
	vm_create "vm$i" pool "/dev/mapper/o$i" "guest-$i.vda"
done
assert_ok dmsetup message pool 0 set max_age 1000
assert_ok dmsetup message pool 0 set high_watermark 20
log "VM devices back: $(dmsetup status pool)"
workload --seed $((SEED + 2)) --load /tmp/half.state --state /tmp/final.state
flushes=$(awk '$1 == "flushes" { print $2 }' /tmp/final.state)
log "workload: $OPS ops, $flushes flushes in $(($(date +%s) - t0)) s"
log "pool after the workload: $(dmsetup status pool)"
wb=$(field 11 pool)
[ "$wb" -gt 0 ] || fail "no writeback during the workload (pool: $(dmsetup status pool))"
unstack
lwst=$(dmsetup status lw)
assert_ok dmsetup remove lw
log "log-writes: $lwst"

lw-replay --log "$logd" --list >/tmp/list || fail "listing the log"
nmarks=$(awk '$4 == "MARK" && $5 ~ /^f[0-9]+$/' /tmp/list | wc -l)
log "log: $(lw-replay --log "$logd") ($nmarks flush marks)"
assert_eq "$nmarks" "$flushes" "flush marks in the log"
[ "$nmarks" -ge $MIN_MARKS ] || fail "only $nmarks flush marks, want at least $MIN_MARKS"
[ "$(find "$CK" -name 'flush-*.state' | wc -l)" -eq "$flushes" ] ||
	fail "not one checkpoint per flush"
# "N E": E is the entry right before a superblock write (sector 0 or 8 of
# the SSD leg) between marks f(N-1) and fN: the first of every INTER-th
# interval, and every one around the VM devices' return (f(k1+1)).
awk -v every=$INTER -v back=$((k1 + 1)) '
	$4 == "MARK" && $5 ~ /^f[0-9]+$/ { n = substr($5, 2) + 0; first = 1; next }
	n >= 1 && ($2 == 0 || $2 == 8) && $3 == 8 && $4 !~ /DISCARD/ {
		if (n + 1 == back || (first && (n + 1) % every == 0))
			print n + 1, $1 - 1
		first = 0
	}' /tmp/list >/tmp/inter
# With --allow-later, vwc-model can check the data there too: the
# checkpoint of f(N-1) plus any intact write issued after it, and the
# ranges discarded after it (their content is anyone's) added to it as
# pending discards: "M DEV SECTOR COUNT" for a discard of an origin leg
# logged after mark fM (a discard issued after f(N-1) is logged after it,
# by f(N+1) at the latest, unless it takes a whole flush cycle to finish).
later=
vwc-model --help 2>&1 | grep -q -- --allow-later && later=1
awk -v ssd=$SSD_S -v os=$ORIGIN_S '
	$4 == "MARK" && $5 ~ /^f[0-9]+$/ { m = substr($5, 2) + 0; next }
	$4 ~ /DISCARD/ && $2 >= ssd {
		d = int(($2 - ssd) / os)
		print m + 0, d, $2 - ssd - d * os, $3
	}' /tmp/list >/tmp/ldiscards
log "$(wc -l </tmp/inter) crash points right before a superblock write to recover from$([ -n "$later" ] && echo ", data checked" || echo " (vwc-model has no --allow-later: no data check there)")"

# --- check every mark ------------------------------------------------------------
checked=0 bad=0 badpoints=0 verified=0 deep=0 inter=0 negative=
t_replay=0 t_up=0 t_verify=0 t_deep=0 t_down=0 t_inter=0

# bad_point WHAT SECTORS [OUTPUT]: a crash state that did not recover.
bad_point() {
	badpoints=$((badpoints + 1))
	bad=$((bad + $2))
	echo "--- BAD: $1"
	[ $badpoints -le 3 ] && [ -n "${3:-}" ] && cat "$3"
	[ $badpoints -lt 10 ] || fail "10 crash states did not recover; the first ones are above"
}

# snap_up WHAT: a throwaway writable copy of the replayed disk, and the
# stack on it; 1 (a bad point) when the pool does not recover.
snap_up() {
	dmsetup create snap --table "0 $TOTAL_S snapshot $scratch $cowd N 8" ||
		fail "creating the snapshot"
	stack /dev/mapper/snap && return 0
	dmsetup remove snap || fail "removing the snapshot"
	bad_point "$1: $why" 0
	return 1
}

# verify_at WHAT CHECKPOINT ARGS...: crash check of the VM devices.
verify_at() {
	_what=$1 _ck=$2
	shift 2
	model /tmp/v.out --load "$_ck" --verify-only --crash-check --threads $NVM \
		--report "$@" $vms
	set -- $(awk '$1 == "mismatches:" { m = $2 } $1 == "sectors-verified:" { v = $2 }
		END { print m + 0, v + 0 }' /tmp/v.out)
	verified=$((verified + $2))
	[ $rc -eq 0 ] && return 0
	bad_point "$_what: vwc-model exited $rc, $1 mismatching sectors" "$1" /tmp/v.out
	return 1
}

prev=start
t0=$(date +%s)
n=1
while [ $n -le "$nmarks" ]; do
	# Crash points right before a superblock write since f(n-1).
	from="--start-mark $prev"
	for e in $(awk -v n=$n '$1 == n { print $2 }' /tmp/inter); do
		c=$(now)
		lw-replay --log "$logd" --replay "$scratch" $from --limit "$e" \
			2>/tmp/lw.err || fail "replay $from..entry $e: $(cat /tmp/lw.err)"
		from="--start $((e + 1))"
		what="crash before the superblock write at entry $((e + 1)) (after f$((n - 1)))"
		if snap_up "$what"; then
			if [ -n "$later" ]; then
				{
					grep -v '^end$' "$(ck $((n - 1)))"
					awk -v n=$n '$1 >= n - 1 && $1 <= n + 1 { print "pend", $2, $3, $4, "d" }' /tmp/ldiscards
					echo end
				} >/tmp/later.state
				verify_at "$what" /tmp/later.state --allow-later
			fi
			unstack snap
		fi
		inter=$((inter + 1))
		spent t_inter "$c"
	done
	# The crash point at mark fn.
	c=$(now)
	lw-replay --log "$logd" --replay "$scratch" $from --end-mark "f$n" \
		2>/tmp/lw.err || fail "replay $from..f$n: $(cat /tmp/lw.err)"
	spent t_replay "$c"
	prev=f$n
	checked=$((checked + 1))
	c=$(now)
	if ! snap_up "mark f$n"; then
		spent t_up "$c"
		n=$((n + 1))
		continue
	fi
	spent t_up "$c"
	c=$(now)
	verify_at "mark f$n" "$(ck $n)" --state /tmp/resolved.state &&
		[ $((n % DEEP)) -eq 0 ] && deep_ok=1 || deep_ok=
	spent t_verify "$c"
	if [ -n "$deep_ok" ]; then
		# Write every recovered dirty block back: the origins alone
		# must then hold the resolved model.
		c=$(now)
		assert_ok dmsetup message pool 0 flush
		for i in $(seq 1 $NVM); do
			wait_clean "vm$i" 60
		done
		model /tmp/d.out --load /tmp/resolved.state --verify-only \
			--threads $NVM --report /dev/mapper/o1 /dev/mapper/o2 /dev/mapper/o3
		if [ $rc -ne 0 ]; then
			bad_point "mark f$n: origins after the writeback of the recovered pool" \
				"$(report_field mismatches /tmp/d.out)" /tmp/d.out
		else
			deep=$((deep + 1))
			verified=$((verified + $(report_field sectors-verified /tmp/d.out)))
		fi
		spent t_deep "$c"
	fi
	# Negative control: an early state against the last checkpoint, strict.
	if [ $n -eq 5 ]; then
		model /tmp/neg.out --load "$(ck "$nmarks")" --verify-only --threads $NVM \
			--report $vms
		negative="status $rc, $(report_field mismatches /tmp/neg.out) mismatching sectors"
		[ $rc -eq 1 ] || { cat /tmp/neg.out; fail "negative control (state at f5 vs checkpoint f$nmarks) did not fail: $negative"; }
		log "negative control: state at f5 against checkpoint f$nmarks: $negative (expected)"
	fi
	c=$(now)
	unstack snap
	spent t_down "$c"
	[ $((n % 50)) -eq 0 ] && log "checked $checked marks in $(($(date +%s) - t0)) s"
	n=$((n + 1))
done
log "time in s: replay $(secs $t_replay), snapshot+load $(secs $t_up), verify $(secs $t_verify), writeback checks $(secs $t_deep), teardown $(secs $t_down), points before a superblock write $(secs $t_inter)"

# The end: the replay of the whole log is the data disk, but for the
# discarded ranges, whose content is up to each disk: zero them on both.
lw-replay --log "$logd" --replay "$scratch" --start-mark "$prev" \
	--end-mark dm-log-writes-end 2>/tmp/lw.err || fail "replay $prev..end: $(cat /tmp/lw.err)"
lw-replay --log "$logd" --list | awk '$4 ~ /DISCARD/ { print $2, $3 }' >/tmp/discards
for d in "$data" "$scratch"; do
	while read -r s c; do
		dd if=/dev/zero of="$d" bs=512 seek="$s" count="$c" conv=notrunc 2>/dev/null ||
			fail "zeroing a discarded range of $d"
	done </tmp/discards
done
sync
if [ "$(md5_of "$scratch")" != "$(md5_of "$data")" ]; then
	# Where they differ: the first 4 KiB blocks, by leg.
	cmp -l "$scratch" "$data" 2>/dev/null |
		awk -v ssd=$SSD_S -v org=$ORIGIN_S 'BEGIN { last = -1 } {
			s = int(($1 - 1) / 512); blk = int(s / 8)
			if (blk == last) next
			last = blk; n++
			leg = s < ssd ? "ssd" : "o" (int((s - ssd) / org) + 1)
			off = s < ssd ? s : (s - ssd) % org
			print "differs: 4 KiB block at sector " s - s % 8 " (" leg " sector " off - off % 8 ")"
			if (n == 20) exit
		}'
	fail "replayed disk at the end vs the data disk ($(wc -l </tmp/discards) discarded ranges zeroed): they differ"
fi

log "checked $checked marks and $inter points before a superblock write: $bad bad blocks (mismatching sectors), $badpoints crash states that did not recover, $verified sectors verified, $deep writeback checks; negative control: $negative; $(($(date +%s) - t_start)) s in all"
[ $badpoints -eq 0 ] || fail "$badpoints crash states did not recover (bad blocks: $bad)"
[ -n "$negative" ] || fail "the negative control did not run"
[ $checked -ge $MIN_MARKS ] || fail "only $checked marks checked"
log "crash consistency at every flush: passed"
