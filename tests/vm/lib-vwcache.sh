# shellcheck shell=sh
# lib-vwcache.sh: dm-vwcache helpers for the guest tests, on top of lib.sh.
# Source after lib.sh:   . /lib/vwcache/lib.sh; . /lib/vwcache/lib-vwcache.sh
#
#   zero_head DEV              zero the first 4 KiB (a pool formats it)
#   pool_create NAME DEV [BS] [FEATURES...]   create a pool, fail on error
#   vm_create NAME POOL ORIGIN VM_ID [FEATURES...]
#   vms_create PREFIX N        VM devices vm1..vmN on disks 1..N of pool
#                              "pool", vm_ids PREFIX-1..PREFIX-N
#   remove_all N               remove vm1..vmN, then the pool
#   field N DEVICE             the Nth (1-based) field of dmsetup status,
#                              after "start length target"
#   dm_state                   a snapshot of every dm device's table
#   expect_refused WHAT MSG NAME TABLE
#                              "dmsetup create NAME --table TABLE" must fail,
#                              the kernel log must show MSG, and no dm device
#                              may have changed
#   expect_msg_refused DEV MSG...  "dmsetup message DEV 0 MSG" must fail and
#                              change no table
#   run STATUS ARGS...         dmcache-ctl ARGS must exit STATUS; its
#                              stdout in /tmp/out, stderr in /tmp/err
#                              (both shown in the log)
#   has out|err TEXT           /tmp/out or /tmp/err has TEXT (fixed string)
#   lacks out|err TEXT         ... has not
#   nr_dm                      the number of dm devices
#   dm_sys NAME                /sys/block/dm-N of dm device NAME
#   within GOT WANT PCT        true when GOT is WANT within PCT percent
#                              (a slow kernel: not above it)
#   dm_set_table NAME TABLE    create NAME, or switch it live to TABLE
#   flush_dev DEV              a flush (REQ_PREFLUSH) of block device DEV:
#                              false when it failed
#   wait_state VM STATE SECONDS [WHAT]  wait until VM's state is STATE
#   wait_clean VM [SECONDS]    wait until VM has no dirty block and is not
#                              flushing (fails after SECONDS, default 120,
#                              times VW_TIMEOUT_SCALE)
#   big_pool_create TAG DEV    create pool "pool" of 64 KiB blocks on DEV
#                              (a huge sparse device), measuring the kernel
#                              memory it takes: RESULT lines TAG_create_s,
#                              TAG_blocks, TAG_ram_kib; fails above 1 GiB
#                              per TiB of DEV; sets $blocks, $used (KiB of
#                              MemAvailable), $kmem (KiB of vmalloc + slab)
#   big_pool_gone              remove it; fails unless that memory is back
#   timed_pool_create DEV      create pool "pool" of 64 KiB blocks, its
#                              seconds in $secs

zero_head() {
	dd if=/dev/zero of="$1" bs=4096 count=1 conv=fsync 2>/dev/null ||
		fail "zero_head $1"
}

pool_create() {
	_name=$1 _dev=$2 _bs=${3:-4096}
	shift 3 2>/dev/null || shift $#
	dmsetup create "$_name" --table \
		"0 $(sectors "$_dev") vwcache-pool $_dev $_bs $# $*" ||
		fail "pool_create $_name on $_dev failed"
	dm_dev_of "$_name" >/dev/null
}

vm_create() {
	_name=$1 _pool=$2 _origin=$3 _id=$4
	shift 4
	dmsetup create "$_name" --table \
		"0 $(sectors "$_origin") vwcache /dev/mapper/$_pool $_origin $_id $# $*" ||
		fail "vm_create $_name ($_id) failed"
	dm_dev_of "$_name" >/dev/null
}

vms_create() {
	for _v in $(seq 1 "$2"); do
		vm_create "vm$_v" pool "$(disk "$_v")" "$1-$_v"
	done
}

remove_all() {
	for _v in $(seq 1 "$1"); do
		dmsetup remove "vm$_v" || fail "remove vm$_v"
	done
	dmsetup remove pool || fail "remove pool"
}

field() {
	dmsetup status "$2" | awk -v n="$1" '{ print $(n + 3) }'
}

dm_state() {
	dmsetup table 2>/dev/null | sort
}

# Lines of the kernel log after line $1.
_log_since() {
	dmesg | tail -n +"$(($1 + 1))"
}

expect_refused() {
	_what=$1 _msg=$2 _name=$3 _table=$4
	_before=$(dm_state)
	_n=$(dmesg | wc -l)
	if dmsetup create "$_name" --table "$_table" 2>/dev/null; then
		dmsetup remove "$_name"
		fail "$_what: accepted: $_table"
	fi
	_log_since "$_n" | grep -qF -- "$_msg" ||
		fail "$_what: refused without '$_msg'; kernel said: $(_log_since "$_n" | tail -n 3)"
	dmsetup info "$_name" >/dev/null 2>&1 && dmsetup remove "$_name"
	[ "$(dm_state)" = "$_before" ] || fail "$_what: a refusal changed a device"
	REFUSED=$((${REFUSED:-0} + 1))
	log "refused ($_msg): $_what"
}

expect_msg_refused() {
	_dev=$1
	shift
	_before=$(dm_state)
	if dmsetup message "$_dev" 0 "$@" 2>/dev/null; then
		fail "message accepted: $*"
	fi
	[ "$(dm_state)" = "$_before" ] || fail "refused message changed a table: $*"
	REFUSED=$((${REFUSED:-0} + 1))
}

# within GOT WANT PCT: GOT is WANT within PCT percent.  On a slow kernel
# (make check-debug's: vwtimescale > 1) only the upper bound holds: such a
# kernel may fall short of a rate, but a limit must never be exceeded.
within() {
	awk -v g="$1" -v w="$2" -v p="$3" -v slow=$(slow_kernel && echo 1 || echo 0) \
		'BEGIN { exit !((slow || g >= w * (1 - p / 100)) && g <= w * (1 + p / 100)) }'
}

# A rate measured over seconds under TCG loses whatever the host takes by
# not running the guest (a loaded CI machine stopped it for over a second
# in ten: iops_limit 500 gave 433 IOPS).  So tests take a rate as the
# median of fio's half-second intervals (--log_avg_msec=500), which a few
# stalled intervals do not move, and hold fio's mean to the upper bound
# (at_most), which no stall can raise.
#
# samples LOG: the values (column 2) of fio's iops or bw log LOG, one a
# line, without the last interval, which may be partial.
samples() {
	awk -F', *' '{ v[NR] = $2 } END { for (i = 1; i < NR; i++) print v[i] }' "$1"
}

# median: the median of the numbers on stdin (0 when there are none).
median() {
	awk '{ v[++n] = $1 + 0
		for (i = n; i > 1 && v[i - 1] > v[i]; i--) {
			t = v[i]; v[i] = v[i - 1]; v[i - 1] = t
		}
	}
	END {
		m = !n ? 0 : n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		printf m == int(m) ? "%d\n" : "%.3f\n", m
	}'
}

# at_most GOT WANT PCT: GOT is not above WANT by more than PCT percent.
at_most() {
	awk -v g="$1" -v w="$2" -v p="$3" 'BEGIN { exit !(g <= w * (1 + p / 100)) }'
}

# short_again RUN MAX WHAT: run RUN of a measurement fell short of a rate
# (WHAT).  That is the machine as often as the module: this one has been
# seen running a guest twenty times slower than usual for minutes.  Until
# MAX runs were made, say so and return, and the caller measures again;
# then fail with WHAT.  Only a shortfall is measured again: a limit
# exceeded or a wrong ratio fails at once.
short_again() {
	[ "$1" -lt "$2" ] || fail "$3 (in $1 runs)"
	log "run $1 fell short ($3): measuring again"
}

# fsync(2) of the device: blkdev_fsync flushes even when nothing was
# written (dd conv=fsync does not fsync when it copied nothing).
flush_dev() {
	sync "$1" 2>/dev/null
}

dm_sys() {
	_m=$(dmsetup info -c --noheadings -o minor "$1") ||
		fail "dm_sys: no dm device $1"
	echo "/sys/block/dm-$(echo $_m)"
}

# dm_set_table NAME TABLE: create dm device NAME with TABLE, or switch a
# live one to it (reload, suspend --noflush, resume: I/O in flight is
# requeued, not flushed, so a failing table can be swapped out).
dm_set_table() {
	if dmsetup info "$1" >/dev/null 2>&1; then
		dmsetup reload "$1" --table "$2" &&
			dmsetup suspend --noflush "$1" && dmsetup resume "$1"
	else
		dmsetup create "$1" --table "$2" && dm_dev_of "$1" >/dev/null
	fi
}

# flakey_set NAME DEV up|FEATURE: dm device NAME over DEV passes all I/O
# (up) or, from now on, applies dm-flakey's FEATURE (error_writes,
# drop_writes) to every bio.
flakey_set() {
	if [ "$3" = up ]; then
		_t="0 $(sectors "$2") flakey $2 0 3600 0"
	else
		_t="0 $(sectors "$2") flakey $2 0 0 3600 1 $3"
	fi
	dm_set_table "$1" "$_t" || fail "flakey $1 $3"
}

# wait_field DEV N VALUE SECONDS [WHAT]: until status field N of DEV is
# VALUE (SECONDS times vwtimescale), else fail with WHAT and its status.
# WAITED: tenths of a second it took.
wait_field() {
	WAITED=0
	while [ "$(field "$2" "$1")" != "$3" ]; do
		WAITED=$((WAITED + 1))
		[ $WAITED -le $(($4 * 10 * ${VW_TIMEOUT_SCALE:-1})) ] ||
			fail "${5:-$1: field $2 not $3 after $4 s}: $(dmsetup status "$1")"
		sleep 0.1
	done
}

# wait_state DEV STATE SECONDS [WHAT]: until the VM device's state is
# STATE, as wait_field.
wait_state() {
	wait_field "$1" 2 "$2" "$3" "${4:-$1 not $2 after $3 s}"
}

wait_clean() {
	_i=0
	_wc_max=$((${2:-120} * 10 * ${VW_TIMEOUT_SCALE:-1}))
	while :; do
		_st=$(dmsetup status "$1") || fail "status $1"
		set -- "$1" "${2:-120}" $_st
		# $3.. = start len target mode state cached dirty ...
		[ "$9" = 0 ] && [ "$7" != flushing ] && [ "$7" != migrating ] && return 0
		_i=$((_i + 1))
		[ $_i -le $_wc_max ] || fail "$1 not clean: $_st"
		sleep 0.1
	done
}

run() {
	_want=$1
	shift
	dmcache-ctl "$@" >/tmp/out 2>/tmp/err
	_rc=$?
	sed 's/^/    out: /' /tmp/out
	sed 's/^/    err: /' /tmp/err
	[ "$_rc" = "$_want" ] || fail "dmcache-ctl $*: exit $_rc, expected $_want"
}

has() { grep -qF -- "$2" "/tmp/$1" || fail "$1 lacks '$2'"; }
lacks() { ! grep -qF -- "$2" "/tmp/$1" || fail "$1 has '$2'"; }
nr_dm() { dmsetup ls 2>/dev/null | grep -vc 'No devices found'; }

_kib() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
_settle() { sync; echo 3 >/proc/sys/vm/drop_caches; sleep 1; }

timed_pool_create() {
	_t0=$(date +%s)
	pool_create pool "$1" 65536
	secs=$(($(date +%s) - _t0))
}

big_pool_create() {
	_tag=$1 _dev=$2
	_settle
	_m0=$(_kib MemAvailable) _v0=$(_kib VmallocUsed) _s0=$(_kib Slab)
	timed_pool_create "$_dev"
	echo "RESULT ${_tag}_create_s $secs"
	_settle
	_m1=$(_kib MemAvailable) _v1=$(_kib VmallocUsed) _s1=$(_kib Slab)
	blocks=$(field 3 pool)
	used=$((_m0 - _m1))
	kmem=$((_v1 - _v0 + _s1 - _s0))
	echo "RESULT ${_tag}_blocks $blocks"
	echo "RESULT ${_tag}_ram_kib $used vmalloc_kib $((_v1 - _v0)) slab_kib $((_s1 - _s0)) bytes_per_block $((used * 1024 / blocks))"
	# 1 GiB per TiB: the cache device's KiB / 1024.
	_dev_kib=$(($(sectors "$_dev") / 2))
	[ "$used" -le $((_dev_kib / 1024)) ] ||
		fail "the pool takes $used KiB of RAM, more than 1 GiB per TiB ($((_dev_kib / 1024)) KiB)"
}

big_pool_gone() {
	dmsetup remove pool || fail "remove pool"
	_settle
	# What the kernel allocated for the pool (vmalloc and slab) is back, but
	# for an eighth and 8 MiB of slack (MemAvailable moves with the page
	# cache's estimate: 100 MiB in one run on 6.12).
	_back=$((_v1 + _s1 - $(_kib VmallocUsed) - $(_kib Slab)))
	[ $((kmem - _back)) -le $((kmem / 8 + 8192)) ] ||
		fail "removing the pool gave back only $_back of $kmem KiB of vmalloc and slab"
}
