#!/bin/sh
# 57-device-faults: device faults under verified I/O.  The pool's SSD and
# each VM's origin sit on a dm "leg" of their own, which the test reloads
# live (reload, suspend --noflush, resume) between a healthy linear table
# and a fault: a dm-delay spike (50-500 ms on every I/O), dm-flakey
# error_writes, dm-flakey down (every I/O fails) or the "error" target.
# vwc-model runs on three VM devices in rounds (--tolerate-eio: an EIO is
# counted, a failed write leaves its sectors unknown; wrong data is never
# accepted: every read is checked) while faults go on and off at random
# times, now and then on two legs at once.  Checked:
#  - no read returns wrong data, during the faults or after them;
#  - while a fault is on, status reports it: a write to the pool (a probe
#    VM device, written with fsync) under an SSD write fault leaves the
#    pool degraded or failed; under a failing origin, a flush of that VM
#    (if it has dirty blocks) turns it to "error" and counts in
#    stats/writeback_errors; while the pool is failed
#    every VM device says "error"; a delay spike alone fails nothing;
#  - faults of origins alone never take an "ok" pool out of "ok": one VM's
#    failing origin fails its own writeback and flushes, not the pool;
#  - once the fault clears: a pool that stayed "ok" brings every VM back
#    from "error" (its writeback retried) and I/O works as it is; a pool
#    that went degraded or failed is removed with its VM devices and loaded
#    again (the documented way out): it must load "ok", keep every write
#    completed before a completed flush (vwc-model --crash-check), and
#    I/O works again: the sectors failed writes left unknown are written
#    again (vwc-model --fill-unknown), a short run and a full read, any
#    EIO fatal;
#  - every device can be removed, once per run (every 4th round with
#    vwfull=1) while a fault is still on;
#  - at the end a full read of every VM device matches the model, and
#    after a pool flush the origins alone do;
#  - no oops or warning (init checks the kernel log).
# The faults come from a seeded RNG: the seed is printed;
# vwseed=N on the kernel command line (VW_APPEND) repeats a sequence.
# make check: about 40 s of faulted I/O; vwfull=1: 5 minutes.  Prints
# RESULT faults_injected=N and RESULT blocks_verified=N (4 KiB blocks
# checked against the model: reads under faults and the verify passes).
# vwtest-disks: 1x12M 3x16M 1x8M
# vwtest-timeout: 900
# vwtest-mem: 1024
# shellcheck disable=SC1091,SC2086 # guest paths; $vms is a list
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

NVM=3
FAULT_SECONDS=40
ROUND_SECONDS=5
REMOVE_EVERY=0		# 0: only round 2 removes with a fault on
if grep -qw vwfull=1 /proc/cmdline || [ "${VW_FULL:-0}" = 1 ]; then
	FAULT_SECONDS=300
	ROUND_SECONDS=10
	REMOVE_EVERY=4
fi
SEED=$(sed -n 's/.*vwseed=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$SEED" ] || SEED=$(($(od -An -N2 -tu2 /dev/urandom) % 30000 + 1))
RNG=$SEED
POOL_FEATURES="high_watermark 50 low_watermark 20 max_age 2000 commit_interval 500"
ST=/tmp/model.state
OUT=/tmp/model.out
STOP=/tmp/model.stop
BIG_OPS=100000000

command -v vwc-model >/dev/null || fail "vwc-model not in the guest (make -C tests/tools)"
vwc-model --help | grep -q -- --tolerate-eio || fail "vwc-model without --tolerate-eio"
dmsetup targets | grep -q '^flakey' || kmod_load dm-flakey
dmsetup targets | grep -q '^delay' || kmod_load dm-delay
dmsetup targets | grep -q '^error' || fail "no error target"

vms=
for i in $(seq 1 $NVM); do
	vms="$vms /dev/mapper/vm$i"
done

# rnd LO HI: R = a pseudo-random integer in [LO, HI]: a linear
# congruential generator seeded with SEED (no subshell: its state must stay
# in this shell).
rnd() {
	RNG=$(((RNG * 1103515245 + 12345) % 2147483648))
	R=$(($1 + (RNG / 65536) % ($2 - $1 + 1)))
}

msleep() {
	sleep "$(($1 / 1000)).$(printf %03d $(($1 % 1000)))"
}

now_ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# --- the legs: ssdleg (the pool's SSD), oleg1..3 (origins), oleg4 (the
# probe VM's origin, never faulted) -------------------------------------

leg_disk() {
	case $1 in
	ssdleg) disk 0 ;;
	oleg*) disk "${1#oleg}" ;;
	esac
}

# set_leg LEG KIND [DELAY_MS]: switch LEG's table at one instant.
set_leg() {
	_d=$(leg_disk "$1")
	_s=$(sectors "$_d")
	case $2 in
	linear) _t="0 $_s linear $_d 0" ;;
	delay) _t="0 $_s delay $_d 0 $3" ;;
	ewrites) _t="0 $_s flakey $_d 0 0 86400 1 error_writes" ;;
	down) _t="0 $_s flakey $_d 0 0 86400" ;;
	error) _t="0 $_s error" ;;
	*) fail "set_leg: kind $2" ;;
	esac
	dm_set_table "$1" "$_t" || fail "set_leg $1 $2 failed"
}

# --- the stack -------------------------------------------------------------

stack() {
	pool_create pool /dev/mapper/ssdleg 4096 $POOL_FEATURES
	_ps=$(field 1 pool)
	[ "$_ps" = ok ] || fail "pool state after load: $(dmsetup status pool)"
	for i in $(seq 1 $NVM); do
		vm_create "vm$i" pool "/dev/mapper/oleg$i" "fault-vm$i"
	done
	vm_create probe pool /dev/mapper/oleg4 fault-probe
}

unstack() {
	for _v in probe $(seq 1 $NVM); do
		[ "$_v" = probe ] || _v=vm$_v
		dmsetup remove "$_v" || fail "remove $_v ($1)"
	done
	dmsetup remove pool || fail "remove pool ($1)"
}

report_field() {
	awk -v k="$1:" '$1 == k { print $2 }' "$2"
}

# eio_detail FILE: "reads R, writes W, ..." of vwc-model's io-errors line.
eio_detail() {
	sed -n 's/^io-errors: *[0-9]* (\(.*\))$/\1/p' "$1"
}

vm_states() {
	for i in $(seq 1 $NVM); do
		printf 'vm%s %s/%s ' "$i" "$(field 2 vm$i)" "$(field 4 vm$i)"
	done
}

# While the pool is failed, every VM device must say so.
check_failed_vms() {
	[ "$(field 1 pool)" = failed ] || return 0
	for i in $(seq 1 $NVM); do
		_st=$(field 2 vm$i)
		[ "$_st" = error ] ||
			fail "pool failed but vm$i says '$_st': $(dmsetup status vm$i)"
	done
}

PROBE_BLOCKS=$(($(sectors "$(disk 4)") / 8))

# probe_ssd: a whole-block write and an fsync through the probe VM device,
# so that the pool writes its SSD (data and a commit).  PROBE=ok|EIO.
probe_ssd() {
	rnd 0 $((PROBE_BLOCKS - 8))
	if dd if=/dev/urandom of=/dev/mapper/probe bs=32k count=1 seek=$((R / 8)) \
		oflag=direct conv=fsync 2>/dev/null; then
		PROBE=ok
	else
		PROBE=EIO
	fi
}

# check_fault LEG KIND POOL_BEFORE: while LEG has fault KIND, make it show
# and check that the status reports it.
check_fault() {
	case $1 in
	ssdleg)
		probe_ssd
		_ps=$(field 1 pool)
		if [ "$2" = delay ]; then
			if [ "$3" = ok ]; then
				[ $PROBE = ok ] || fail "a write failed under an SSD delay spike"
				[ "$_ps" = ok ] || fail "pool '$_ps' under an SSD delay spike: $(dmsetup status pool)"
			fi
		else
			[ "$_ps" != ok ] ||
				fail "SSD $2: a write and fsync (probe $PROBE) left the pool ok: $(dmsetup status pool)"
		fi
		CHECK="probe $PROBE"
		;;
	oleg*)
		_i=${1#oleg}
		_dirty=$(field 4 vm$_i)
		CHECK="vm$_i dirty $_dirty"
		[ "$2" != delay ] && [ "$_dirty" -gt 0 ] &&
			[ "$(field 1 pool)" != failed ] || return 0
		# The writeback this flush starts fails: the VM must say so.
		assert_ok dmsetup message vm$_i 0 flush
		_j=0
		while :; do
			_st=$(field 2 vm$_i)
			_dirty=$(field 4 vm$_i)
			[ "$_st" = error ] || [ "$_dirty" = 0 ] && break
			_j=$((_j + 1))
			[ $_j -le "$(scaled 80)" ] ||
				fail "origin of vm$_i $2: flush asked, $_dirty dirty blocks, state still '$_st' after $((_j / 10)) s: $(dmsetup status vm$_i)"
			sleep 0.1
		done
		CHECK="$CHECK, flushed: state $_st after $((_j / 10)).$((_j % 10)) s"
		# The counter says so too (unless the pool failed meanwhile).
		if [ "$_st" = error ]; then
			_we=$(cat "$(dm_sys vm$_i)/vwcache/stats/writeback_errors")
			[ "$_we" -gt 0 ] || [ "$(field 1 pool)" = failed ] ||
				fail "vm$_i in error, stats/writeback_errors $_we"
			CHECK="$CHECK, writeback_errors $_we"
		fi
		;;
	esac
}

# pick_fault: LEG and KIND (and MS for a delay) at random.
pick_fault() {
	rnd 1 10
	if [ $R -le 4 ]; then
		LEG=ssdleg
	else
		rnd 1 $NVM
		LEG=oleg$R
	fi
	rnd 1 10
	case $R in
	1 | 2 | 3 | 4) KIND=delay ;;
	5 | 6) KIND=ewrites ;;
	7 | 8) KIND=down ;;
	*) KIND=error ;;
	esac
	MS=
	if [ $KIND = delay ]; then
		rnd 50 500
		MS=$R
	fi
}

# A pool that is not ok any more fails most writes: a moment of checked
# reads on it, then the workload stops (each failed write leaves sectors
# the model no longer knows).
stop_if_failed() {
	if [ "$(field 1 pool)" != ok ] && [ ! -e $STOP ]; then
		msleep 300
		touch $STOP
	fi
}

# count_fault KIND LEG
count_fault() {
	FAULTS=$((FAULTS + 1))
	eval "N_$1=\$((N_$1 + 1))"
	ROUND_FAULTS="$ROUND_FAULTS $2:$1"
	[ "$1" = delay ] || ROUND_ERRFAULTS=$((ROUND_ERRFAULTS + 1))
}

# inject LEAVE_ON: one fault (now and then two legs at once), on for a
# random time under I/O, then off unless LEAVE_ON is 1.
inject() {
	pick_fault
	while [ "$1" = 1 ] && [ $KIND = delay ]; do
		pick_fault
	done
	_leg=$LEG _kind=$KIND _ms=$MS _leg2='' _kind2='' _ms2=''
	rnd 1 100
	if [ $R -le 15 ]; then
		pick_fault
		[ $LEG = $_leg ] || _leg2=$LEG _kind2=$KIND _ms2=$MS
	fi
	_before=$(field 1 pool)
	_pool0=$_before
	# A second fault that fails I/O may fail the pool: no "ok" expected.
	[ -n "$_leg2" ] && [ "$_kind2" != delay ] && _before=other
	set_leg $_leg $_kind $_ms
	count_fault $_kind $_leg
	_what="$_leg $_kind${_ms:+ ${_ms}ms}"
	if [ -n "$_leg2" ]; then
		set_leg $_leg2 $_kind2 $_ms2
		count_fault $_kind2 $_leg2
		_what="$_what + $_leg2 $_kind2${_ms2:+ ${_ms2}ms}"
	fi
	_t0=$(now_ms)
	rnd 300 2000
	_hold=$R
	while [ "$(now_ms)" -lt $((_t0 + _hold / 2)) ] && [ "$(field 1 pool)" = ok ]; do
		sleep 0.1
	done
	stop_if_failed
	check_fault $_leg $_kind "$_before"
	stop_if_failed
	case "$_leg $_leg2" in
	*ssdleg*) ;;
	*)
		[ "$_pool0" != ok ] || [ "$(field 1 pool)" = ok ] ||
			fail "origin faults only ($_what) took the pool to '$(field 1 pool)': $(dmsetup status pool)"
		;;
	esac
	_left=$((_hold - ($(now_ms) - _t0)))
	[ $_left -gt 0 ] && msleep $_left
	check_failed_vms
	log "fault $FAULTS: $_what for $(($(now_ms) - _t0)) ms: $CHECK; pool $(field 1 pool), $(vm_states)"
	if [ "$1" = 1 ]; then
		ON_LEGS="$_leg${_leg2:+ $_leg2}"
	else
		set_leg $_leg linear
		[ -z "$_leg2" ] || set_leg $_leg2 linear
	fi
}

# model_failed RC WHAT: vwc-model's output and the verdict on its exit
# status RC (1: wrong data read; else a fatal error).
model_failed() {
	grep -a -v '^vwc-model: [0-9]*/[0-9]* operations' $OUT | head -n 60
	[ "$1" -eq 1 ] && fail "$2: wrong data read (vwc-model exit 1, seed $SEED)"
	fail "$2: vwc-model exited $1 (seed $SEED)"
}

# model_run ARGS...: vwc-model on the VM devices from the saved model; the
# model is saved again.  Fails the test on a mismatch or a fatal error.
model_run() {
	_what=$1
	shift
	_args="--load $ST"
	[ -f $ST ] || _args="--initial-zero"
	vwc-model $_args "$@" --threads $NVM --max-io 64k --quiet --report \
		--state $ST.new $vms >$OUT 2>&1
	_rc=$?
	[ $_rc -eq 0 ] || model_failed $_rc "$_what"
	mv $ST.new $ST
	VERIFIED=$((VERIFIED + $(report_field sectors-verified $OUT)))
}

# --- set up -----------------------------------------------------------------

vw_load_module
zero_head "$(disk 0)"
for l in ssdleg oleg1 oleg2 oleg3 oleg4; do
	set_leg $l linear
done
stack
log "seed $SEED; $FAULT_SECONDS s of faults in rounds of $ROUND_SECONDS s; pool: $(dmsetup status pool | cut -d' ' -f4-)"

FAULTS=0 N_delay=0 N_ewrites=0 N_down=0 N_error=0
VERIFIED=0 FAULT_VERIFIED=0 FILLED=0 RELOADS=0 HOT_REMOVES=0 EIO_TOTAL=0
ROUNDS=0
t_start=$(date +%s)
t_faults=$t_start
while [ $(($(date +%s) - t_faults)) -lt $FAULT_SECONDS ] || [ $HOT_REMOVES = 0 ]; do
	ROUNDS=$((ROUNDS + 1))
	ROUND_FAULTS='' ROUND_ERRFAULTS=0 ON_LEGS=''
	leave=0
	if [ $ROUNDS = 2 ] ||
		{ [ $REMOVE_EVERY -gt 0 ] && [ $((ROUNDS % REMOVE_EVERY)) = 0 ]; }; then
		leave=1
	fi
	# The workload, in the background, EIO counted.
	_args="--load $ST"
	[ -f $ST ] || _args="--initial-zero"
	rm -f $STOP
	vwc-model $_args --crash-check --tolerate-eio --seconds $ROUND_SECONDS \
		--stop-file $STOP --ops $BIG_OPS --seed $((SEED * 1000 + ROUNDS)) \
		--threads $NVM --max-io 64k --mix 40,50,6,4 --quiet --report \
		--state $ST.new $vms >$OUT 2>&1 &
	mpid=$!
	end=$(($(now_ms) + ROUND_SECONDS * 1000 - 1500))
	# Faults at random times, until the pool is no longer ok (then it
	# needs a reload: the round ends); with leave=1 one more stays on.
	while :; do
		rnd 200 1500
		[ $(($(now_ms) + R + 1000)) -lt $end ] || break
		msleep $R
		inject 0
		[ "$(field 1 pool)" = ok ] || break
	done
	[ $leave = 1 ] && inject 1
	touch $STOP
	j=0
	while kill -0 $mpid 2>/dev/null; do
		j=$((j + 1))
		[ $j -le "$(scaled 1200)" ] ||
			fail "round $ROUNDS: the workload did not stop (I/O stuck?): $(dmsetup status)"
		sleep 0.1
	done
	wait $mpid
	rc=$?
	[ $rc -eq 0 ] || model_failed $rc "round $ROUNDS under faults ($ROUND_FAULTS)"
	mv $ST.new $ST
	grep -a '^IO-ERROR' $OUT | head -n 3
	v=$(report_field sectors-verified $OUT)
	eio=$(report_field io-errors $OUT)
	VERIFIED=$((VERIFIED + v))
	FAULT_VERIFIED=$((FAULT_VERIFIED + v))
	EIO_TOTAL=$((EIO_TOTAL + eio))
	ps=$(field 1 pool)
	log "round $ROUNDS: $(report_field ops $OUT) ops, $v sectors verified, io-errors $eio ($(eio_detail $OUT)); faults:$ROUND_FAULTS; pool $ps"
	# A delay spike fails nothing.
	if [ $ROUND_ERRFAULTS = 0 ] && [ -n "$ROUND_FAULTS" ]; then
		[ "$eio" = 0 ] || fail "round $ROUNDS: $eio I/O errors with delay spikes only"
	fi
	check_failed_vms

	if [ -n "$ON_LEGS" ] || [ "$ps" != ok ]; then
		# Out of degraded/failed: remove everything and load the pool
		# again (with the last fault still on when ON_LEGS is set).
		if [ -n "$ON_LEGS" ]; then
			unstack "fault still on $ON_LEGS"
			HOT_REMOVES=$((HOT_REMOVES + 1))
			log "round $ROUNDS: removed every device with faulty $ON_LEGS"
			for l in $ON_LEGS; do
				set_leg $l linear
			done
		else
			unstack "pool $ps"
		fi
		stack
		RELOADS=$((RELOADS + 1))
		vwc-model --load $ST --verify-only --crash-check --threads $NVM \
			--report --state $ST.new $vms >$OUT 2>&1
		rc=$?
		if [ $rc -ne 0 ]; then
			grep -a -v '^vwc-model: [0-9]*/[0-9]* operations' $OUT | head -n 60
			fail "round $ROUNDS: after reloading the pool ($ps): a write completed before a completed flush is lost or wrong (vwc-model exited $rc, seed $SEED)"
		fi
		mv $ST.new $ST
		VERIFIED=$((VERIFIED + $(report_field sectors-verified $OUT)))
		log "round $ROUNDS: pool reloaded: $(dmsetup status pool | cut -d' ' -f4-); $(report_field sectors-verified $OUT) sectors as durable or later"
	else
		# The pool stayed ok: every VM leaves "error" once its
		# writeback succeeds again (backoff up to 30 s).
		for i in $(seq 1 $NVM); do
			[ "$(field 2 vm$i)" = error ] || continue
			assert_ok dmsetup message vm$i 0 flush
			j=0
			while [ "$(field 2 vm$i)" = error ]; do
				j=$((j + 1))
				[ $j -le "$(scaled 450)" ] ||
					fail "vm$i stays in error after the faults cleared: $(dmsetup status vm$i)"
				sleep 0.1
			done
			log "vm$i: out of error $((j / 10)) s after the faults: $(dmsetup status vm$i | cut -d' ' -f4-)"
		done
	fi
	# I/O works again: sectors lost to failed writes are written again
	# (so that the model knows all of it), a short run, any EIO fatal,
	# then every sector is read back.
	model_run "round $ROUNDS: rewriting what failed writes left unknown" \
		--fill-unknown
	FILLED=$((FILLED + $(report_field bytes-written $OUT) / 512))
	model_run "round $ROUNDS: I/O after the faults cleared" --ops 500 \
		--mix 40,50,5,5 --seed $((SEED * 1000 + 500 + ROUNDS))
	model_run "round $ROUNDS: full verify after the faults" --verify-only
	[ "$(field 1 pool)" = ok ] || fail "pool not ok after the faults cleared: $(dmsetup status pool)"
done
t_faulted=$(($(date +%s) - t_faults))

# --- the end: every VM device, then the origins alone --------------------
for i in $(seq 1 $NVM); do
	log "vm$i: $(dmsetup status vm$i | cut -d' ' -f4-)"
done
model_run "final verify of the VM devices" --verify-only
UNKNOWN=$(report_field sectors-unknown $OUT)
assert_ok dmsetup message pool 0 flush
for i in $(seq 1 $NVM); do
	wait_clean vm$i 120
done
unstack "at the end"
vwc-model --load $ST --verify-only --threads $NVM --report \
	/dev/mapper/oleg1 /dev/mapper/oleg2 /dev/mapper/oleg3 >$OUT 2>&1 ||
	{ head -n 60 $OUT; fail "the origins alone after the final writeback (seed $SEED)"; }
VERIFIED=$((VERIFIED + $(report_field sectors-verified $OUT)))
for l in ssdleg oleg1 oleg2 oleg3 oleg4; do
	dmsetup remove $l || fail "remove $l"
done

log "faults: delay $N_delay, error_writes $N_ewrites, flakey down $N_down, error target $N_error; $EIO_TOTAL I/O errors seen by the workload; $RELOADS pool reloads ($HOT_REMOVES with a fault on); $FILLED sectors left unknown by failed writes or discards written again; at the end $UNKNOWN of $((NVM * $(sectors "$(disk 1)"))) sectors unknown (discarded or failed writes, not rewritten since)"
echo "RESULT faults_injected=$FAULTS"
echo "RESULT blocks_verified=$((VERIFIED / 8))"
echo "RESULT device_faults_blocks_verified_under_faults=$((FAULT_VERIFIED / 8))"
echo "RESULT device_faults_io_errors=$EIO_TOTAL"
echo "RESULT device_faults_pool_reloads=$RELOADS"
log "device faults: passed: seed $SEED, $FAULTS faults in $ROUNDS rounds ($t_faulted s), $((VERIFIED / 8)) blocks verified, 0 wrong, $(($(date +%s) - t_start)) s"
