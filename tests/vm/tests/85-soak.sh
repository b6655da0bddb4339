#!/bin/sh
# Soak: 8 VM devices on one pool far smaller than their data, under
# model-checked I/O (vwc-model, every read checked; 8 threads, one per
# device) for a fixed time, while an injector does, at random times and to
# random devices: suspend/resume and same-table reloads of VM devices and
# of the pool, flush messages, limit changes (iops_limit, bw_limit,
# cache_quota, weight; the pool's io_capacity_iops, watermarks, max_age),
# mode changes, clear_stats, and migrate_prepare / migrate_abort cycles.
# Every injected command must succeed, the model must find 0 mismatches
# (during the run, in a full read of every device at the end, and on the
# origins once every VM device reached "clean" and was removed), and the
# kernel memory must stay flat: SUnreclaim + VmallocUsed, after dropping
# caches, at the end against after the first round (the pool warmed up),
# and after removing everything and the module against before.
#
# make check: 30 s; vwfull=1 (make check-full): 15 minutes; vwsoak=SECONDS
# on the kernel command line (VW_APPEND) sets the time.  Prints RESULT
# lines (soak_minutes, ops, events, mismatches, memory deltas).
# vwtest-disks: 1x64M 8x48M
# vwtest-timeout: 1500
# vwtest-mem: 1024
# shellcheck disable=SC1091,SC2086 # guest paths; $devs is a list
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

N=8
SOAK=30
OPS=4000
if grep -qw vwfull=1 /proc/cmdline || [ "${VW_FULL:-0}" = 1 ]; then
	SOAK=900
fi
_s=$(sed -n 's/.*vwsoak=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$_s" ] && SOAK=$_s
# Allowed growth of SUnreclaim + VmallocUsed (KiB).  A KASAN kernel keeps
# freed objects in its quarantine (up to 1/32 of RAM): more slack there.
TOL_KB=8192
[ -e /sys/kernel/debug/kmemleak ] && TOL_KB=65536

ssd=$(disk 0)
devs=
origins=
for i in $(seq 1 $N); do
	devs="$devs /dev/mapper/vm$i"
	origins="$origins $(disk "$i")"
done
STATE=/tmp/soak.state
EV=/tmp/events
STOP=/tmp/soak.stop
MIG=/tmp/mig
command -v vwc-model >/dev/null || fail "vwc-model not in the guest"
mkdir -p $MIG
: >$EV
: >$EV.fail

rnd() {
	_r=$(od -An -N4 -tu4 /dev/urandom)
	echo $((_r % $1))
}

# kernel memory that is not cache: SUnreclaim + VmallocUsed in KiB, after
# dropping the page cache and the reclaimable slabs.
kmem() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	sleep 1
	awk '/^(SUnreclaim|VmallocUsed):/ { s += $2 } END { print s }' /proc/meminfo
}

# slab_bytes FILE: bytes per slab cache (num_objs * objsize) into FILE.
slab_bytes() {
	awk 'NR > 2 { print $1, $3 * $4 }' /proc/slabinfo 2>/dev/null | sort >"$1"
}

# slab_growth OLD NEW: the 6 caches that grew most, in KiB.
slab_growth() {
	awk 'NR == FNR { old[$1] = $2; next }
	     { d = ($2 - old[$1]) / 1024; if (d >= 64) printf "%d %s\n", d, $1 }' "$1" "$2" |
		sort -rn | head -n 6 | awk '{ printf "%s +%d kB  ", $2, $1 }'
}

meminfo_line() {
	awk '/^(MemAvailable|Slab|SUnreclaim|VmallocUsed|Percpu):/ { printf "%s %s kB  ", $1, $2 }' /proc/meminfo
	# Idle kworkers (task_struct in the slab figures) go after 5 minutes.
	echo "tasks $(ls -d /proc/[0-9]* | wc -l) kworkers $(cat /proc/[0-9]*/comm 2>/dev/null | grep -c '^kworker')"
}

# ev KIND CMD...: one injected command; a failure is recorded.
ev() {
	_k=$1
	shift
	if "$@" >/tmp/ev.out 2>&1; then
		echo "$_k" >>$EV
	else
		echo "$_k: $* -> $(cat /tmp/ev.out)" >>$EV.fail
		return 1
	fi
}

msg() { dmsetup message "$@"; }

reload_same() {
	dmsetup reload "$1" --table "$(dmsetup table "$1")" &&
		dmsetup suspend "$1" && dmsetup resume "$1"
}

pause() {
	dmsetup suspend "$1" || return 1
	sleep "0.$(rnd 10)"
	dmsetup resume "$1"
}

watermarks() {
	_h=$((30 + $(rnd 60)))
	msg pool 0 set low_watermark 1 &&
		msg pool 0 set high_watermark $_h &&
		msg pool 0 set low_watermark $((_h / 2))
}

# The limits are changed often, and reset often, so that I/O goes on.
limit_value() {
	case $1 in
	iops_limit) [ "$(rnd 2)" = 0 ] && echo 0 || echo $((300 + $(rnd 3000))) ;;
	bw_limit) [ "$(rnd 2)" = 0 ] && echo 0 || echo $(((2 + $(rnd 30)) * 1048576)) ;;
	cache_quota) [ "$(rnd 2)" = 0 ] && echo 0 || echo $((200 + $(rnd 3000))) ;;
	weight) echo $((1 + $(rnd 1000))) ;;
	esac
}

inject_one() {
	v=vm$((1 + $(rnd $N)))
	case $(rnd 16) in
	0) ev suspend pause $v ;;
	1) [ -e $MIG/$v ] || ev reload reload_same $v ;;
	2) ev flush msg $v 0 flush ;;
	3) ev pool_flush msg pool 0 flush ;;
	4 | 5)
		for k in iops_limit bw_limit cache_quota weight; do
			[ "$(rnd 2)" = 0 ] && ev limit msg $v 0 set $k "$(limit_value $k)"
		done ;;
	6) ev limit_reset sh -c "dmsetup message $v 0 set iops_limit 0 &&
		dmsetup message $v 0 set bw_limit 0" ;;
	7) _c=0; [ "$(rnd 2)" = 0 ] && _c=$((1000 + $(rnd 8000)))
		ev pool_limit msg pool 0 set io_capacity_iops $_c ;;
	8 | 9)
		if [ -e $MIG/$v ]; then
			ev migrate_abort msg $v 0 migrate_abort && rm -f $MIG/$v
		else
			ev migrate_prepare msg $v 0 migrate_prepare && touch $MIG/$v
		fi ;;
	10) ev pool_suspend pause pool ;;
	11) ev pool_reload reload_same pool ;;
	12) [ -e $MIG/$v ] || {
		_m=writeback; [ "$(rnd 3)" = 0 ] && _m=writethrough
		ev mode msg $v 0 set mode $_m; } ;;
	13) ev clear_stats msg $v 0 clear_stats ;;
	14) ev watermarks watermarks ;;
	15) ev max_age msg pool 0 set max_age $(($(rnd 3) * 1000)) ;;
	esac
}

injector() {
	while [ ! -e $STOP ]; do
		inject_one
		sleep "$(rnd 2).$(rnd 10)"
	done
}

# round: one vwc-model run on the saved model; sets ROUND_OPS.
round() {
	_args="--load $STATE"
	[ -f $STATE ] || _args="--initial-zero"
	# shellcheck disable=SC2086
	vwc-model $_args --ops $OPS --threads $N --max-io 64k --seed "$(rnd 1000000)" \
		--quiet --report --state $STATE.new $devs >/tmp/round.out 2>&1
	_rc=$?
	if [ $_rc -ne 0 ]; then
		cat /tmp/round.out | head -n 60
		fail "round $ROUNDS: vwc-model exited $_rc"
	fi
	mv $STATE.new $STATE
	ROUND_OPS=$(awk '$1 == "ops:" { print $2 }' /tmp/round.out)
	ROUND_SECS=$(awk '$1 == "seconds:" { print $2 }' /tmp/round.out)
}

vw_load_module
sleep 1
KMEM_NOPOOL=$(kmem)
slab_bytes /tmp/slab.nopool
log "before the pool: $(meminfo_line)"
zero_head "$ssd"
pool_create pool "$ssd" 4096 high_watermark 60 low_watermark 30 max_age 2000
vms_create soak $N
log "pool: $(dmsetup status pool)"

# Round 1 without injection warms the pool up: the memory baseline.
ROUNDS=1
round
TOTAL_OPS=$ROUND_OPS
KMEM_BASE=$(kmem)
slab_bytes /tmp/slab.base
log "warm-up: $ROUND_OPS ops in $ROUND_SECS s; $(meminfo_line)"

t0=$(date +%s)
injector &
ipid=$!
KMEM_MAX=$KMEM_BASE
KMEM_MID=
while [ $(($(date +%s) - t0)) -lt "$SOAK" ]; do
	ROUNDS=$((ROUNDS + 1))
	round
	TOTAL_OPS=$((TOTAL_OPS + ROUND_OPS))
	_m=$(awk '/^(SUnreclaim|VmallocUsed):/ { s += $2 } END { print s }' /proc/meminfo)
	[ "$_m" -gt "$KMEM_MAX" ] && KMEM_MAX=$_m
	# Halfway, a clean sample: growth in the second half tells a leak
	# (linear) from caches that fill up once.
	if [ -z "$KMEM_MID" ] && [ $(($(date +%s) - t0)) -ge $((SOAK / 2)) ]; then
		KMEM_MID=$(kmem)
		log "halfway: kmem $KMEM_MID kB after dropping caches"
	fi
	log "round $ROUNDS: $ROUND_OPS ops in $ROUND_SECS s, $(($(date +%s) - t0)) s of $SOAK; events $(wc -l <$EV), failed $(wc -l <$EV.fail); kmem ${_m} kB"
done
touch $STOP
wait $ipid
SOAKED=$(($(date +%s) - t0))

# Back to plain settings, then every sector of every device is checked.
for f in $MIG/vm*; do
	[ -e "$f" ] || continue
	ev migrate_abort msg "$(basename "$f")" 0 migrate_abort
	rm -f "$f"
done
for i in $(seq 1 $N); do
	for k in iops_limit bw_limit cache_quota; do
		assert_ok dmsetup message vm$i 0 set $k 0
	done
	assert_ok dmsetup message vm$i 0 set mode writeback
done
assert_ok dmsetup message pool 0 set io_capacity_iops 0
if [ -s $EV.fail ]; then
	head -n 20 $EV.fail
	fail "$(wc -l <$EV.fail) injected commands failed"
fi
log "events: $(sort $EV | uniq -c | awk '{ printf "%s=%s ", $2, $1 }')"

vwc-model --load $STATE --verify-only --report $devs >/tmp/v1.out 2>&1 ||
	{ head -n 40 /tmp/v1.out; fail "full verify of the VM devices after the soak"; }
grep -E "^(sectors-verified|mismatches):" /tmp/v1.out
KMEM_END=$(kmem)
slab_bytes /tmp/slab.end
log "pool: $(dmsetup status pool)"
log "end: $(meminfo_line)"
log "slab caches grown since warm-up: $(slab_growth /tmp/slab.base /tmp/slab.end)"

# Every VM device to clean, removed, then the origins alone must hold it all.
for i in $(seq 1 $N); do
	assert_ok dmsetup message vm$i 0 migrate_prepare
done
for i in $(seq 1 $N); do
	wait_state vm$i clean 120
done
remove_all $N
vwc-model --load $STATE --verify-only --report $origins >/tmp/v2.out 2>&1 ||
	{ head -n 40 /tmp/v2.out; fail "origins after migrate_prepare and removal"; }
grep -E "^(sectors-verified|mismatches):" /tmp/v2.out
KMEM_GONE=$(kmem)
slab_bytes /tmp/slab.gone
log "after removal: $(meminfo_line)"
log "slab caches grown since before the pool: $(slab_growth /tmp/slab.nopool /tmp/slab.gone)"
vw_unload_module
KMEM_NOMOD=$(kmem)

grow=$((KMEM_END - KMEM_BASE))
grow2=$((KMEM_END - ${KMEM_MID:-$KMEM_BASE}))
left=$((KMEM_GONE - KMEM_NOPOOL))
log "kernel memory (SUnreclaim+VmallocUsed, kB): before pool $KMEM_NOPOOL, warm $KMEM_BASE, halfway ${KMEM_MID:-?}, max $KMEM_MAX, end $KMEM_END, after removal $KMEM_GONE, after rmmod $KMEM_NOMOD"
echo "RESULT soak_minutes=$((SOAKED / 60)) soak_seconds=$SOAKED soak_vms=$N"
echo "RESULT soak_ops=$TOTAL_OPS soak_rounds=$ROUNDS soak_events=$(wc -l <$EV) soak_event_failures=$(wc -l <$EV.fail)"
echo "RESULT soak_verify_errors=0 soak_sectors_verified=$(awk '$1 == "sectors-verified:" { s += $2 } END { print s }' /tmp/v1.out /tmp/v2.out)"
echo "RESULT soak_kmem_growth_kb=$grow soak_kmem_growth_second_half_kb=$grow2 soak_kmem_left_after_removal_kb=$left soak_kmem_tolerance_kb=$TOL_KB"
[ "$grow" -le "$TOL_KB" ] || fail "kernel memory grew by $grow kB over the soak (tolerance $TOL_KB)"
[ "$left" -le "$TOL_KB" ] || fail "$left kB of kernel memory left after removing the pool (tolerance $TOL_KB)"
[ "$SOAKED" -ge "$SOAK" ] || fail "soaked $SOAKED s of $SOAK"
