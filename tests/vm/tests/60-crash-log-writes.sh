#!/bin/sh
# 60-crash-log-writes: crash consistency checked at every flush.  One data
# disk sits under dm-log-writes (log on a second disk) and dm-linear cuts it
# into the pool's SSD leg and three origin legs, so the log holds one global
# order of every write to all legs (dm-log-writes logs a write only once a
# FLUSH after it completed, or at once for FUA: replaying the log up to a
# point gives the disk as a power cut at that point would leave it, its
# volatile write cache lost).  vwc-model drives three VM devices on a small
# pool (eviction and writeback run during the workload) with many flushes;
# after each completed flush it saves a checkpoint of its model and puts a
# mark "fN" in the log.
#
# Then, for every mark, the log is replayed up to it onto a scratch disk,
# incrementally (lw-replay --start-mark of the previous mark), a throwaway
# dm-snapshot of the scratch disk gets the same legs, the pool must load
# (recover) on it, the VM devices attach, and vwc-model --crash-check must
# find every write completed before flush N intact (checkpoint N).  Every
# DEEP-th mark also writes all recovered dirty data back and checks that
# the origins alone hold the resolved model.  A negative control (an early
# state against a late checkpoint, strict) must fail, and the replay of the
# whole log must equal the data disk byte for byte.
#
# Kernel parameter vwfull=1 (or VW_FULL=1 in the guest environment) runs the
# long variant: more operations, hence more marks.
# vwtest-disks: 1x128M 1x2G 1x128M 1x128M
# vwtest-timeout: 1500
# vwtest-mem: 1536
# shellcheck disable=SC1091,SC2086 # guest paths; $vms is a list
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
MIN_MARKS=200
OPS=1600
DEEP=10 # every DEEP-th mark: write back and check the origins
POOL_FEATURES="high_watermark 20 low_watermark 5 max_age 1000 commit_interval 500"
if grep -qw vwfull=1 /proc/cmdline || [ "${VW_FULL:-0}" = 1 ]; then
	OPS=8000
	MIN_MARKS=1000
	DEEP=5
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
dmsetup targets | grep -q '^log-writes' || kmod_load dm-log-writes
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
# One dmsetup per step: each costs tens of ms under TCG.
stack() {
	_spec="ssd,,,rw,0 $SSD_S linear $1 0"
	_vms=
	for i in $(seq 1 $NVM); do
		_spec="$_spec;o$i,,,rw,0 $ORIGIN_S linear $1 $((SSD_S + (i - 1) * ORIGIN_S))"
		_vms="$_vms${_vms:+;}vm$i,,,rw,0 $ORIGIN_S vwcache /dev/mapper/pool /dev/mapper/o$i guest-$i.vda 0"
	done
	dmsetup create --concise "$_spec" || fail "creating the legs on $1"
	dmsetup create pool --table "0 $SSD_S vwcache-pool /dev/mapper/ssd 4096 $(echo $POOL_FEATURES | wc -w) $POOL_FEATURES" ||
		fail "pool load on $1 refused: $(dmesg | tail -n 3)"
	_st=$(dmsetup status pool) || fail "pool status"
	set -- $_st
	[ "$4" = ok ] || fail "pool state after load: $_st"
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
	dd if="$1" bs=1M count=$((TOTAL_S / 2048)) 2>/dev/null | md5sum | cut -d' ' -f1
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
assert_ok dmsetup create lw --table "0 $TOTAL_S log-writes $data $logd"
assert_ok dmsetup message lw 0 mark start
stack /dev/mapper/lw
log "pool on the $SSD_MB MiB leg: $(dmsetup status pool)"

rm -rf "$CK"
t0=$(date +%s)
model /tmp/work.out --ops $OPS --seed $SEED --threads $NVM --mix 30,50,15,5 \
	--max-io 64k --initial-zero --crash-check --checkpoint-dir "$CK" \
	--mark-cmd 'dmsetup message lw 0 mark f%d' --state /tmp/final.state \
	--report $vms
cat /tmp/work.out
[ $rc -eq 0 ] || fail "workload: vwc-model exited $rc"
flushes=$(report_field flushes /tmp/work.out)
log "workload: $OPS ops, $flushes flushes in $(($(date +%s) - t0)) s"
log "pool after the workload: $(dmsetup status pool)"
wb=$(field 11 pool)
[ "$wb" -gt 0 ] || fail "no writeback during the workload (pool: $(dmsetup status pool))"
unstack
lwst=$(dmsetup status lw)
assert_ok dmsetup remove lw
log "log-writes: $lwst; discard_max_bytes of $data: $(cat /sys/block/"${data#/dev/}"/queue/discard_max_bytes)"

lw-replay --log "$logd" --list-marks >/tmp/marks || fail "listing the marks"
nmarks=$(grep -c ' f[0-9]*$' /tmp/marks)
log "log: $(lw-replay --log "$logd") ($nmarks flush marks)"
assert_eq "$nmarks" "$flushes" "flush marks in the log"
[ "$nmarks" -ge $MIN_MARKS ] || fail "only $nmarks flush marks, want at least $MIN_MARKS"
[ "$(find "$CK" -name 'flush-*.state' | wc -l)" -eq "$flushes" ] ||
	fail "not one checkpoint per flush"

# --- check every mark ------------------------------------------------------------
checked=0 bad=0 badmarks=0 verified=0 deep=0 negative=
t_replay=0 t_up=0 t_verify=0 t_deep=0 t_down=0
prev=start
t0=$(date +%s)
n=1
while [ $n -le "$nmarks" ]; do
	c=$(now)
	lw-replay --log "$logd" --replay "$scratch" --start-mark "$prev" \
		--end-mark "f$n" 2>/tmp/lw.err || fail "replay $prev..f$n: $(cat /tmp/lw.err)"
	spent t_replay "$c"
	prev=f$n
	# A throwaway writable copy of the replayed disk, and the stack on it.
	c=$(now)
	dmsetup create snap --table "0 $TOTAL_S snapshot $scratch $cowd N 8" ||
		fail "creating the snapshot"
	stack /dev/mapper/snap
	spent t_up "$c"
	c=$(now)
	model /tmp/v.out --load "$(ck $n)" --verify-only --crash-check --threads $NVM \
		--report --state /tmp/resolved.state $vms
	spent t_verify "$c"
	set -- $(awk '$1 == "mismatches:" { m = $2 } $1 == "sectors-verified:" { v = $2 }
		END { print m + 0, v + 0 }' /tmp/v.out)
	if [ $rc -ne 0 ]; then
		badmarks=$((badmarks + 1))
		bad=$((bad + $1))
		echo "--- mark f$n: crash check failed (status $rc)"
		[ $badmarks -le 3 ] && cat /tmp/v.out
		[ $badmarks -ge 10 ] && fail "10 marks failed; first bad marks above"
	else
		verified=$((verified + $2))
		if [ $((n % DEEP)) -eq 0 ]; then
			# Write every recovered dirty block back: the origins
			# alone must then hold the resolved model.
			c=$(now)
			assert_ok dmsetup message pool 0 flush
			for i in $(seq 1 $NVM); do
				wait_clean "vm$i" 60
			done
			model /tmp/d.out --load /tmp/resolved.state --verify-only \
				--threads $NVM --report /dev/mapper/o1 /dev/mapper/o2 /dev/mapper/o3
			if [ $rc -ne 0 ]; then
				badmarks=$((badmarks + 1))
				bad=$((bad + $(report_field mismatches /tmp/d.out)))
				echo "--- mark f$n: origins after writeback of the recovered pool differ (status $rc)"
				cat /tmp/d.out
			else
				deep=$((deep + 1))
				verified=$((verified + $(report_field sectors-verified /tmp/d.out)))
			fi
			spent t_deep "$c"
		fi
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
	checked=$((checked + 1))
	[ $((n % 50)) -eq 0 ] && log "checked $checked marks in $(($(date +%s) - t0)) s"
	n=$((n + 1))
done
log "time in s: replay $(secs $t_replay), snapshot+load $(secs $t_up), verify $(secs $t_verify), writeback checks $(secs $t_deep), teardown $(secs $t_down)"

# The end: the replay of the whole log is the data disk.  The data disk
# ignores discards (dm-log-writes passes them down only to a disk that takes
# them) where lw-replay zeroes them: zero those ranges on the data disk too.
lw-replay --log "$logd" --replay "$scratch" --start-mark "$prev" \
	--end-mark dm-log-writes-end 2>/tmp/lw.err || fail "replay $prev..end: $(cat /tmp/lw.err)"
if [ "$(cat /sys/block/"${data#/dev/}"/queue/discard_max_bytes)" = 0 ]; then
	lw-replay --log "$logd" --list | awk '$4 ~ /DISCARD/ { print $2, $3 }' >/tmp/discards
	while read -r s c; do
		dd if=/dev/zero of="$data" bs=512 seek="$s" count="$c" conv=notrunc 2>/dev/null ||
			fail "zeroing a discarded range of $data"
	done </tmp/discards
	sync
	log "$(wc -l </tmp/discards) discarded ranges zeroed on $data"
fi
assert_eq "$(md5_of "$scratch")" "$(md5_of "$data")" "replayed disk at the end vs the data disk"

log "checked $checked marks, $bad bad blocks (mismatching sectors) in $badmarks bad marks, $verified sectors verified, $deep writeback checks; negative control: $negative; $(($(date +%s) - t_start)) s in all"
[ $badmarks -eq 0 ] || fail "$badmarks marks failed the crash check"
[ -n "$negative" ] || fail "the negative control did not run"
[ $checked -ge $MIN_MARKS ] || fail "only $checked marks checked"
log "crash consistency at every flush: passed"
