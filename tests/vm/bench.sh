#!/bin/sh
# make bench, guest side: the same two virtio disks, an "SSD" (vda) and an
# origin (vdb) slowed by dm-delay, become in turn the raw SSD, the raw slow
# origin, dm-vwcache, dm-writecache (ssd mode), dm-cache (writeback, smq) and
# bcache (writeback); each runs the same fio workloads on fresh devices.
# With /lib/vwcache/dm-vwcache-old.ko (bench/run's BENCH_OLD=REV) the system
# dm-vwcache-old is that module, loaded in place of ours for its runs.
# One "VWBENCH-CSV: ..." line per system and workload goes to the console;
# bench/run (host) turns them into results, ratios and plots.
#
# Kernel arguments (run passes $VW_APPEND): vwbench_quick=1 (2-3 s runs,
# small sets), vwbench_delay=MS (origin delay, default 10),
# vwbench_systems=a,b  vwbench_workloads=a,b (subsets, for development).
# The workload flush2 is flush with the origin delayed by FLUSH2_DELAY ms
# (2) instead: the origin's delay is set before the system is built and
# put back after its teardown.
#
# Method, per system and workload (each on freshly built devices):
#   window      fio's run; for zipf and flush on the caches it extends to
#               the end of a flush (so "origin writes" include the eventual
#               writeback, and coalescing shows); elsewhere dirty data left
#               at the end is dropped with the devices
#   vm_writes   write I/Os fio completed (its KiB written / block size)
#   origin_w    write I/Os completed by vdb, the origin's own disk
#   ssd_bpv     sectors written to vda (/sys/block/vda/stat) / fio's sectors
#   ram         kernel memory after the
#               4 KiB random write run, system still loaded, minus the same
#               right after its teardown, both after sync + drop_caches,
#               over the cache's capacity in 4 KiB blocks: ram counts
#               Slab + VmallocUsed + dm-bufio's current_allocated_bytes,
#               slabvm Slab + VmallocUsed, meminfo MemTotal - MemFree -
#               Buffers - Cached - AnonPages (everything, noisier)
#   cpu         busy jiffies of /proc/stat (all but idle and iowait) during
#               fio, in microseconds per I/O fio completed
#   origin_blk  4 KiB blocks written to vdb (its sectors written / 8),
#               same window as origin_w (which counts I/Os, merged or not)
#   distinct    the most distinct 4 KiB blocks fio's writes can have covered:
#               min(4 KiB blocks fio wrote, 4 KiB blocks in the jobs' regions
#               together); exact for the uniform random writes (fio's random
#               map writes every block of a region once before any twice) and
#               for flush, an upper bound for mixed; for zipf (its offsets
#               repeat) counted exactly by zipf_distinct
# Order: workload by workload, every system in turn (forward on the 1st,
# 3rd ... workload, backward on the others), so that a host that slows down
# during the run shifts every system of a workload alike, not one system's
# whole column.
# The CSV's columns are named in VWBENCH-PARAMS (csv_fields=); the note
# stays last, as it may hold commas.
# vwtest-disks: 1x1G 1x2G
# vwtest-timeout: 2700
# vwtest-mem: 2048
# vwtest-smp: 2
# vwtest-exclusive: yes
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

QUICK=$(arg vwbench_quick 0)
DELAY=$(arg vwbench_delay 10)
ALL_SYSTEMS=raw-ssd,raw-origin,dm-vwcache
[ -f /lib/vwcache/dm-vwcache-old.ko ] && ALL_SYSTEMS=$ALL_SYSTEMS,dm-vwcache-old
ALL_SYSTEMS=$ALL_SYSTEMS,dm-writecache,dm-cache,bcache
SYSTEMS=$(arg vwbench_systems "$ALL_SYSTEMS" | tr , ' ')
WORKLOADS=$(arg vwbench_workloads "randwrite,hotread,zipf,seqwrite,mixed,fsync,8vm,qd32,flush,flush2" | tr , ' ')
KVER=$(uname -r)

if [ "$QUICK" = 1 ]; then
	RT=3 REGION=64 HOT=8 MIXREG=16 SEQREG=128 FLUSHMB=16 FLUSHWAIT=60
else
	RT=10 REGION=256 HOT=16 MIXREG=32 SEQREG=512 FLUSHMB=32 FLUSHWAIT=240
fi
NV=8
FLUSH2_DELAY=2
SSD=/dev/vda
ODISK=/dev/vdb
ORIGIN=/dev/mapper/origin

# Long flushes are expected here; a 30 s hung-task report is not a bug.
sysctl -q -w kernel.hung_task_timeout_secs=600

P() { echo "[bench] $*"; }

now_cs() {
	read -r _up _rest </proc/uptime
	echo "${_up%.*}${_up#*.}"
}

# kname DEV: its name under /sys/block (dmsetup makes real nodes here, not
# symlinks, so /dev/mapper/X is looked up by its dm name).
kname() {
	_n=$(basename "$(readlink -f "$1")")
	[ -e "/sys/block/$_n" ] && { echo "$_n"; return; }
	for _x in /sys/block/dm-*; do
		[ "$(cat "$_x/dm/name")" = "$_n" ] && { basename "$_x"; return; }
	done
	fail "no /sys/block entry for $1"
}

# stat_sum FIELD DEV...: sum of a /sys/block/X/stat field over devices.
stat_sum() {
	_f=$1
	shift
	_s=0
	for _d in "$@"; do
		_v=$(awk -v f="$_f" '{ print $f }' "/sys/block/$(kname "$_d")/stat")
		_s=$((_s + _v))
	done
	echo "$_s"
}

cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# kmem: "kernel-used-KiB slab+vmalloc-KiB dm-bufio-KiB", after dropping
# caches (dm-bufio's pages are neither slab nor vmalloc: its own counter).
kmem() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	sleep 1
	_bf=$(cat /sys/module/dm_bufio/parameters/current_allocated_bytes 2>/dev/null || echo 0)
	awk -v bf="$_bf" '/^MemTotal:/ { t = $2 } /^MemFree:/ { f = $2 } /^Buffers:/ { b = $2 }
	     /^Cached:/ { c = $2 } /^AnonPages:/ { a = $2 } /^Slab:/ { s = $2 }
	     /^VmallocUsed:/ { v = $2 } END { print t - f - b - c - a, s + v, int(bf / 1024) }' /proc/meminfo
}

zero_mib() { dd if=/dev/zero of="$1" bs=1M count="$2" oflag=direct 2>/dev/null; }

linear() { # NAME DEV START LEN
	dmsetup create "$1" --table "0 $4 linear $2 $3" || fail "linear $1"
	dm_dev_of "$1" >/dev/null
}

rm_dev() {
	_i=0
	while dmsetup info "$1" >/dev/null 2>&1; do
		dmsetup remove "$1" 2>/dev/null && return 0
		_i=$((_i + 1))
		[ $_i -gt 50 ] && { P "cannot remove $1"; return 1; }
		sleep 0.2
	done
}

SSD_SECT=$(sectors $SSD)
vw_load_module
# Slow origin: every read and write delayed by DELAY ms.
dmsetup create origin --table "0 $(sectors $ODISK) delay $ODISK 0 $DELAY" || fail "dm-delay"
dm_dev_of origin >/dev/null
# origin_delay MS: the origin's delay from now on (nothing stacked on it).
origin_delay() {
	dmsetup suspend origin || fail "suspend origin"
	dmsetup reload origin --table "0 $(sectors $ODISK) delay $ODISK 0 $1" || fail "origin delay $1 ms"
	dmsetup resume origin || fail "resume origin"
}
ORIG_SECT=$(sectors $ORIGIN)
SLICE_O=$((ORIG_SECT / NV))
SLICE_S=$((SSD_SECT / NV))

# slices: origin slices os1..os8 and SSD slices ss1..ss8 (multi-device runs);
# oslices: the origin slices alone.  rm_slices removes whichever exist.
slices() {
	for i in $(seq 1 $NV); do
		linear "os$i" $ORIGIN $(((i - 1) * SLICE_O)) $SLICE_O
		linear "ss$i" $SSD $(((i - 1) * SLICE_S)) $SLICE_S
	done
}
oslices() {
	for i in $(seq 1 $NV); do
		linear "os$i" $ORIGIN $(((i - 1) * SLICE_O)) $SLICE_O
	done
}
rm_slices() {
	for i in $(seq 1 $NV); do
		rm_dev "os$i"
		rm_dev "ss$i"
	done
}

# --- systems -------------------------------------------------------------
# setup_SYS single|multi: builds it, sets DEVS (top devices) and CACHE_SECT
# (SSD sectors given to caching, 0 for raw). teardown_SYS removes it.
# flush_SYS: writes back every dirty block, returns once clean (or gives up
# after FLUSHWAIT s, setting FLUSH_NOTE). dirty_SYS: dirty bytes now.

setup_raw_ssd() {
	CACHE_SECT=0
	if [ "$1" = multi ]; then
		slices
		DEVS=$(for i in $(seq 1 $NV); do echo /dev/mapper/ss$i; done)
	else
		DEVS=$SSD
	fi
}
teardown_raw_ssd() { [ "$1" = multi ] && rm_slices; true; }
flush_raw_ssd() { true; }
dirty_raw_ssd() { echo 0; }

setup_raw_origin() {
	CACHE_SECT=0
	if [ "$1" = multi ]; then
		slices
		DEVS=$(for i in $(seq 1 $NV); do echo /dev/mapper/os$i; done)
	else
		DEVS=$ORIGIN
	fi
}
teardown_raw_origin() { [ "$1" = multi ] && rm_slices; true; }
flush_raw_origin() { true; }
dirty_raw_origin() { echo 0; }

setup_dm_vwcache() {
	zero_mib $SSD 1
	pool_create pool $SSD 4096
	CACHE_SECT=$SSD_SECT
	if [ "$1" = multi ]; then
		slices
		for i in $(seq 1 $NV); do
			vm_create "vm$i" pool "/dev/mapper/os$i" "bench-$i.vda"
		done
		DEVS=$(for i in $(seq 1 $NV); do echo /dev/mapper/vm$i; done)
	else
		vm_create vm1 pool $ORIGIN bench-1.vda
		DEVS=/dev/mapper/vm1
	fi
}
teardown_dm_vwcache() {
	for i in $(seq 1 $NV); do rm_dev "vm$i"; done
	rm_dev pool
	[ "$1" = multi ] && rm_slices
	true
}
# The wait reads sysfs with the shell's own read, no dmsetup, awk or
# subshell a poll: under TCG each such process costs the guest CPU time
# the writeback needs (dm-writecache's flush message waits by itself).
flush_dm_vwcache() {
	for _d in $DEVS; do dmsetup message "$_d" 0 flush; done
	read -r _up _ </proc/uptime
	_end=$((${_up%.*}${_up#*.} + FLUSHWAIT * 100))
	for _d in $DEVS; do
		_q=/sys/block/$(kname "$_d")/vwcache
		while :; do
			read -r _dirty <"$_q/dirty_blocks"
			read -r _st <"$_q/state"
			[ "$_dirty" = 0 ] && [ "$_st" != flushing ] && break
			read -r _up _ </proc/uptime
			[ "${_up%.*}${_up#*.}" -gt $_end ] && { FLUSH_NOTE="flush-timeout"; return; }
			sleep 0.05
		done
	done
}
dirty_dm_vwcache() {
	_s=0
	for _d in $DEVS; do _s=$((_s + $(field 4 "$_d") * 4096)); done
	echo $_s
}

# vw_counts: "reads read_hits writes coalesced" summed over DEVS, the
# pool's commits, and its pool-wide lock acquisitions (sysfs locks/, all
# five summed; -1 for a module without them).
vw_counts() {
	for _d in $DEVS; do dmsetup status "$_d"; done |
		awk '{ r += $8; h += $9; w += $10; c += $12 } END { printf "%d %d %d %d ", r, h, w, c }'
	dmsetup status pool | awk '{ printf "%d ", $15 }'
	_ld="$(dm_sys pool)/vwcache_pool/locks"
	if [ -d "$_ld" ]; then
		cat "$_ld"/cache_lock "$_ld"/share_lock "$_ld"/pool_lock \
			"$_ld"/commit_lock "$_ld"/wbbuf_lock |
			awk '{ s += $1 } END { print s }'
	else
		echo -1
	fi
}
# The note: read hits, coalesced writes, commits, and pool-wide lock
# acquisitions per I/O (per read and write counted, as the status does:
# once per block a bio touches) when the module counts them.
vw_note() { # BEFORE AFTER (vw_counts)
	echo "$1 $2" | awk '{ printf "read hits %d/%d, coalesced %d/%d writes, %d commits", $8 - $2, $7 - $1, $10 - $4, $9 - $3, $11 - $5
		io = $7 - $1 + $9 - $3
		if ($6 >= 0 && $12 >= 0 && io > 0) printf ", %.3f locks/io", ($12 - $6) / io }'
}

# dm-vwcache-old: the same, on the older module (its runs only).
OLD_KO=/lib/vwcache/dm-vwcache-old.ko
setup_dm_vwcache_old() {
	[ -f $OLD_KO ] || return 1
	vw_unload_module
	insmod $OLD_KO || { vw_load_module; return 1; }
	setup_dm_vwcache "$1"
}
teardown_dm_vwcache_old() {
	teardown_dm_vwcache "$1"
	vw_unload_module
	vw_load_module
}
flush_dm_vwcache_old() { flush_dm_vwcache; }
dirty_dm_vwcache_old() { dirty_dm_vwcache; }

setup_dm_writecache() {
	if [ "$1" = multi ]; then
		slices
		CACHE_SECT=$SSD_SECT
		for i in $(seq 1 $NV); do
			zero_mib "/dev/mapper/ss$i" 1
			dmsetup create "wc$i" --table "0 $SLICE_O writecache s /dev/mapper/os$i /dev/mapper/ss$i 4096 0" ||
				fail "writecache $i"
			dm_dev_of "wc$i" >/dev/null
		done
		DEVS=$(for i in $(seq 1 $NV); do echo /dev/mapper/wc$i; done)
	else
		zero_mib $SSD 1
		CACHE_SECT=$SSD_SECT
		dmsetup create wc1 --table "0 $ORIG_SECT writecache s $ORIGIN $SSD 4096 0" || fail "writecache"
		dm_dev_of wc1 >/dev/null
		DEVS=/dev/mapper/wc1
	fi
}
teardown_dm_writecache() {
	for i in $(seq 1 $NV); do rm_dev "wc$i"; done
	[ "$1" = multi ] && rm_slices
	true
}
flush_dm_writecache() {
	for _d in $DEVS; do dmsetup message "$_d" 0 flush & done
	wait
}
# Status: error total_blocks free_blocks writeback_blocks ...: in ssd mode a
# used block is dirty until written back, so this is an upper bound.
dirty_dm_writecache() {
	_s=0
	for _d in $DEVS; do
		set -- $(dmsetup status "$_d")
		_s=$((_s + ($5 - $6) * 4096))
	done
	echo $_s
}

# dm-cache: 32 KiB blocks (its smallest), metadata on the first 16 MiB
# (4 MiB per slice) of the SSD.
DMC_BS=64
dmc_create() { # NAME SSDDEV SSDSECT META_SECT ORIGIN ORIGSECT
	linear "$1m" "$2" 0 "$4"
	linear "$1d" "$2" "$4" $(($3 - $4))
	zero_mib "/dev/mapper/$1m" 1
	dmsetup create "$1" --table "0 $6 cache /dev/mapper/$1m /dev/mapper/$1d $5 $DMC_BS 1 writeback smq 0" ||
		fail "dm-cache $1"
	dm_dev_of "$1" >/dev/null
}
setup_dm_cache() {
	if [ "$1" = multi ]; then
		slices
		CACHE_SECT=$((SSD_SECT - NV * 8192))
		for i in $(seq 1 $NV); do
			dmc_create "dmc$i" "/dev/mapper/ss$i" $SLICE_S 8192 "/dev/mapper/os$i" $SLICE_O
		done
		DEVS=$(for i in $(seq 1 $NV); do echo /dev/mapper/dmc$i; done)
	else
		CACHE_SECT=$((SSD_SECT - 32768))
		dmc_create dmc1 $SSD $SSD_SECT 32768 $ORIGIN $ORIG_SECT
		DEVS=/dev/mapper/dmc1
	fi
}
teardown_dm_cache() {
	for i in $(seq 1 $NV); do rm_dev "dmc$i"; rm_dev "dmc${i}m"; rm_dev "dmc${i}d"; done
	[ "$1" = multi ] && rm_slices
	true
}
# The documented way to clean a dm-cache: reload it with the cleaner policy.
flush_dm_cache() {
	for _d in $DEVS; do
		_t=$(dmsetup table "$_d" | sed 's/ smq 0$/ cleaner 0/')
		dmsetup suspend "$_d" && dmsetup reload "$_d" --table "$_t" && dmsetup resume "$_d" ||
			{ FLUSH_NOTE="cleaner-reload-failed"; return; }
	done
	_t0=$(now_cs)
	for _d in $DEVS; do
		while [ "$(dmsetup status "$_d" | awk '{ print $14 }')" != 0 ]; do
			[ $(($(now_cs) - _t0)) -gt $((FLUSHWAIT * 100)) ] && { FLUSH_NOTE="flush-timeout"; return; }
			sleep 0.05
		done
	done
}
dirty_dm_cache() {
	_s=0
	for _d in $DEVS; do _s=$((_s + $(dmsetup status "$_d" | awk '{ print $14 }') * DMC_BS * 512)); done
	echo $_s
}

# bcache, as a user sets it up: one cache set on the whole SSD (make-bcache
# -C once: 4 KiB blocks, 512 KiB buckets) and each backing device formatted
# on its own (make-bcache -B, 4 KiB blocks, writeback), registered and
# attached to that set by its Set UUID: one backing device for the single
# runs, the eight origin slices for 8vm (bcache shares one cache set among
# its backing devices; dm-vwcache's 8vm is likewise one pool on the whole
# SSD).  Defaults otherwise (writeback_percent 10, writeback_delay 30 s,
# sequential_cutoff 4 MiB).
BCACHE_SET=
# wait_path TEST PATH TRIES WHAT: until "test TEST PATH" holds, every 0.1 s,
# TRIES times at most; then fail with "WHAT did not appear".
wait_path() {
	_i=0
	while ! test "$1" "$2"; do
		_i=$((_i + 1))
		[ "$_i" -gt "$3" ] && fail "$4 did not appear"
		sleep 0.1
	done
}
# bcache_cache CACHEDEV: formats and registers the cache set, sets BCACHE_SET.
bcache_cache() {
	zero_mib "$1" 1
	make-bcache --wipe-bcache -w 4k -b 512k -C "$1" >/tmp/mkbcache.out 2>&1 ||
		{ cat /tmp/mkbcache.out; fail "make-bcache -C $1"; }
	BCACHE_SET=$(sed -n 's/^Set UUID:[[:space:]]*//p' /tmp/mkbcache.out | head -n 1)
	[ -n "$BCACHE_SET" ] || { cat /tmp/mkbcache.out; fail "make-bcache -C $1: no Set UUID"; }
	echo "$1" >/sys/fs/bcache/register 2>>/tmp/bcreg.err
	wait_path -d "/sys/fs/bcache/$BCACHE_SET" 100 "bcache cache set $BCACHE_SET on $1"
}
# bcache_backing BACKING: formats and registers BACKING, attaches it to
# BCACHE_SET in writeback mode; prints its /dev/bcacheN.
bcache_backing() {
	zero_mib "$1" 1
	make-bcache --wipe-bcache -w 4k --writeback -B "$1" >/tmp/mkbcache.out 2>&1 ||
		{ cat /tmp/mkbcache.out; fail "make-bcache -B $1"; }
	echo "$1" >/sys/fs/bcache/register 2>>/tmp/bcreg.err
	_k=$(kname "$1")
	wait_path -e "/sys/block/$_k/bcache/dev" 100 "bcache on $1"
	_b=$(basename "$(readlink -f "/sys/block/$_k/bcache/dev")")
	wait_path -b "/dev/$_b" 50 "/dev/$_b"
	echo "$BCACHE_SET" >"/sys/block/$_b/bcache/attach" 2>>/tmp/bcreg.err
	if [ "$(cat "/sys/block/$_b/bcache/state")" = "no cache" ]; then
		echo "[bench] bcache: $_b ($1) did not attach to $BCACHE_SET; $(tail -n 2 /tmp/bcreg.err 2>/dev/null | tr '\n' ' ') $(dmesg | grep -i bcache | tail -n 2 | tr '\n' ' ')" >&2
		fail "bcache $_b not attached"
	fi
	grep -q '\[writeback\]' "/sys/block/$_b/bcache/cache_mode" || fail "bcache $_b not in writeback mode"
	echo "/dev/$_b"
}
# bcache_layout: the cache sets and what is attached to each, one line.
bcache_layout() {
	_n=0 _l=
	for _s in /sys/fs/bcache/*-*-*; do
		[ -d "$_s" ] || continue
		_n=$((_n + 1))
		_bd=0
		for _x in "$_s"/bdev*; do [ -e "$_x" ] && _bd=$((_bd + 1)); done
		_m=$(for _x in "$_s"/bdev*; do
			[ -e "$_x/cache_mode" ] && sed 's/.*\[\(.*\)\].*/\1/' "$_x/cache_mode"
		done | sort | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? "/" : ""), $1, $2 }')
		_l="$_l set $(basename "$_s"): $_bd backing attached (${_m:-none})"
	done
	echo "bcache: $_n cache set(s);$_l"
}
setup_bcache() {
	command -v make-bcache >/dev/null || return 1
	modprobe bcache 2>/dev/null
	[ -w /sys/fs/bcache/register ] || return 1
	CACHE_SECT=$SSD_SECT
	bcache_cache $SSD
	if [ "$1" = multi ]; then
		# Origin slices only: the SSD is bcache's, whole.
		oslices
		DEVS=$(for i in $(seq 1 $NV); do bcache_backing "/dev/mapper/os$i" || exit 1; done) ||
			fail "bcache setup"
	else
		DEVS=$(bcache_backing $ORIGIN) || fail "bcache setup"
	fi
	P "$(bcache_layout)"
}
teardown_bcache() {
	for _b in /sys/block/bcache*; do
		[ -e "$_b/bcache/stop" ] && echo 1 >"$_b/bcache/stop"
	done
	for _s in /sys/fs/bcache/*-*-*; do
		[ -e "$_s/stop" ] && echo 1 >"$_s/stop"
	done
	_i=0
	while ls -d /sys/block/bcache* /sys/fs/bcache/*-*-* >/dev/null 2>&1; do
		_i=$((_i + 1))
		[ $_i -gt 300 ] && { P "bcache did not stop"; break; }
		sleep 0.1
	done
	# The backing device may still be held for a moment after stop.
	sleep 0.5
	if [ "$1" = multi ]; then
		for i in $(seq 1 $NV); do zero_mib "/dev/mapper/os$i" 1; done
		rm_slices
	else
		zero_mib $ORIGIN 1
	fi
	zero_mib $SSD 1
	true
}
flush_bcache() {
	for _d in $DEVS; do
		_q=/sys/block/$(kname "$_d")/bcache
		echo 0 >"$_q/writeback_delay"
		echo 0 >"$_q/writeback_percent"
	done
	_t0=$(now_cs)
	for _d in $DEVS; do
		_q=/sys/block/$(kname "$_d")/bcache
		while [ "$(cat "$_q/state")" = dirty ]; do
			[ $(($(now_cs) - _t0)) -gt $((FLUSHWAIT * 100)) ] && { FLUSH_NOTE="flush-timeout"; return; }
			sleep 0.05
		done
	done
}
# bcache_note: states of the bcache devices, what bypassed the cache
# (bcache sends I/O around a cache it finds congested or sequential), and
# how many cache sets hold how many backing devices.
bcache_note() {
	_st=$(for _d in $DEVS; do cat "/sys/block/$(kname "$_d")/bcache/state"; done | sort | uniq -c |
		awk '{ $1 = $1; printf "%s%s", (NR > 1 ? "/" : ""), $0 }')
	_by=$(for _d in $DEVS; do cat "/sys/block/$(kname "$_d")/bcache/stats_total/bypassed"; done | tr '\n' ' ')
	_ns=0 _nb=0
	for _s in /sys/fs/bcache/*-*-*; do
		[ -d "$_s" ] || continue
		_ns=$((_ns + 1))
		for _x in "$_s"/bdev*; do [ -e "$_x" ] && _nb=$((_nb + 1)); done
	done
	echo "bcache state: $_st; bypassed: $_by; $_ns cache set(s), $_nb backing attached"
}
# dirty_data is human readable (512 units, "1.2M"); bytes, roughly.
dirty_bcache() {
	for _d in $DEVS; do cat "/sys/block/$(kname "$_d")/bcache/dirty_data"; done |
		awk '{ v = $1; u = substr(v, length(v)); n = v + 0
		       m = (u == "k") ? 1024 : (u == "M") ? 1048576 : (u == "G") ? 1073741824 : 1
		       s += n * m } END { printf "%d\n", s }'
}

# --- one run --------------------------------------------------------------

# fio_run ARGS...: jobs from the global args (before "--"), then one job per
# device of DEVS; sets F_IOPS F_LAT F_P99 (aggregate; latency in us).
fio_run() {
	_jobs=
	_j=0
	for _d in $DEVS; do
		_j=$((_j + 1))
		_jobs="$_jobs --name=j$_j --filename=$_d"
	done
	# shellcheck disable=SC2086
	fio --direct=1 --ioengine=libaio --group_reporting --output-format=terse \
		--lat_percentiles=1 --percentile_list=50:99 --randseed=1234 "$@" $_jobs \
		>/tmp/fio.terse 2>/tmp/fio.err || { cat /tmp/fio.err; F_IOPS= F_LAT= F_P99= F_RKB=0 F_WKB=0; return 1; }
	eval "$(awk -F';' 'NR == 1 {
		ri = $8; wi = $49; io = ri + wi
		rp = $19; sub(/.*=/, "", rp); wp = $60; sub(/.*=/, "", wp)
		p = (ri > 0 && rp + 0 > wp + 0) ? rp : wp; if (wi == 0) p = rp
		lat = io > 0 ? (ri * $40 + wi * $81) / io : 0
		printf "F_IOPS=%d F_LAT=%.1f F_P99=%d F_RKB=%d F_WKB=%d\n", io, lat, p, $6, $47 }' /tmp/fio.terse)"
}

# warm: one pass of random reads over each device's first MIB MiB.
warm() {
	fio_run --rw=randread --bs=4k --iodepth=16 --size="${1}m" >/dev/null
}

# zipf_distinct N: the distinct 4 KiB blocks among the first N offsets of the
# zipf workload, counted by replaying fio's generator (same seed, job name,
# region and distribution; its sequence does not depend on the engine, depth
# or time_based) through the null engine at depth 1, which touches no device.
zipf_distinct() {
	rm -f /tmp/zipf.iolog
	fio --ioengine=null --iodepth=1 --randseed=1234 --rw=randwrite --bs=4k \
		--size="${REGION}m" --random_distribution=zipf:1.2 --io_size="$(($1 * 4))k" \
		--name=j1 --filename=/dev/zipf-replay --write_iolog=/tmp/zipf.iolog \
		--output-format=terse >/dev/null 2>&1 || return 1
	awk '{ for (i = 1; i < NF; i++) if ($i == "write") { print $(i + 1); break } }' /tmp/zipf.iolog |
		sort -u | wc -l
	rm -f /tmp/zipf.iolog
}

ratio() { awk -v a="$1" -v b="$2" -v f="${3:-%.3f}" 'BEGIN { if (b > 0) printf f, a / b }'; }

# bench SYS WORKLOAD: one (system, workload) pair on fresh devices.
bench() {
	_sys=$1 _w=$2 _fn=$(echo "$1" | tr - _)
	_mode=single
	case $_w in 8vm) _mode=multi ;; esac
	[ "$_w" = flush2 ] && origin_delay $FLUSH2_DELAY
	FLUSH_NOTE= NOTE= RAM= SLABVM= MEMINFO= FLUSH_S= DIRTY_MIB=
	# Fresh state: heads zeroed by each setup; the origin disk is never
	# read back except through the cache under test.
	if ! "setup_$_fn" "$_mode"; then
		P "$_sys: cannot be built here"
		echo "VWBENCH-CSV: $KVER,$_sys,$_w,,,,,,,,,,,,,,,,skipped: make-bcache or /sys/fs/bcache missing in the guest"
		[ "$_w" = flush2 ] && origin_delay "$DELAY"
		return
	fi
	[ -n "$DEVS" ] || fail "$_sys: no devices"
	_write=1
	_reg=$REGION
	case $_w in
	randwrite) _args="--rw=randwrite --bs=4k --iodepth=16 --size=${REGION}m --time_based --runtime=$RT" ;;
	hotread)
		_reg=$HOT
		warm $HOT
		warm $HOT
		warm $HOT
		_write=0
		_args="--rw=randread --bs=4k --iodepth=16 --size=${HOT}m --time_based --runtime=$RT"
		;;
	zipf) _args="--rw=randwrite --bs=4k --iodepth=16 --size=${REGION}m --random_distribution=zipf:1.2 --time_based --runtime=$RT" ;;
	seqwrite)
		_reg=$SEQREG
		_args="--rw=write --bs=64k --iodepth=16 --size=${SEQREG}m --time_based --runtime=$RT" ;;
	mixed)
		warm $MIXREG
		_reg=$MIXREG
		_args="--rw=randrw --rwmixread=70 --bs=4k --iodepth=16 --size=${MIXREG}m --time_based --runtime=$RT"
		;;
	fsync) _args="--rw=randwrite --bs=4k --iodepth=16 --fsync=32 --size=${REGION}m --time_based --runtime=$RT" ;;
	8vm)
		_sz=$((REGION / 2))
		_reg=$_sz
		_args="--rw=randwrite --bs=4k --iodepth=4 --size=${_sz}m --time_based --runtime=$RT"
		;;
	qd32)
		# The 8vm's work on one VM device: its total region (8 x
		# REGION/2), at its total depth.
		_reg=$((REGION / 2 * 8))
		_args="--rw=randwrite --bs=4k --iodepth=32 --size=${_reg}m --time_based --runtime=$RT"
		;;
	flush | flush2)
		_reg=$((FLUSHMB * 4))
		_args="--rw=randwrite --bs=4k --iodepth=16 --size=$((FLUSHMB * 4))m --io_size=${FLUSHMB}m" ;;
	*) fail "unknown workload $_w" ;;
	esac
	# shellcheck disable=SC2086
	_ow0=$(stat_sum 5 $ODISK) _ss0=$(stat_sum 7 $SSD) _os0=$(stat_sum 7 $ODISK) _c0=$(cpu_busy)
	# shellcheck disable=SC2086
	case $_sys in dm-vwcache*) _vc0=$(vw_counts) ;; esac
	fio_run $_args || NOTE="fio-failed"
	case $_sys in dm-vwcache*) NOTE="$NOTE $(vw_note "$_vc0" "$(vw_counts)")" ;; esac
	_c1=$(cpu_busy)
	# shellcheck disable=SC2086
	# I/Os and bytes as fio issued them: a dm device's own stat may count
	# the pieces of a split bio.
	_bsk=4
	[ "$_w" = seqwrite ] && _bsk=64
	_ios=$(((F_RKB + F_WKB) / _bsk))
	_cpu=$(ratio $(((_c1 - _c0) * 10000)) $_ios %.1f)
	# Kernel RAM: the system loaded with the data of this run, then
	# (below) torn down; both readings seconds apart, after drop_caches.
	_ram=0
	if [ "$_w" = randwrite ] && [ "$CACHE_SECT" -gt 0 ]; then
		_ram=1
		set -- $(kmem)
		_k1=$1 _s1=$2 _b1=$3
	fi
	# Flush (timed, origin writes counted) after the workloads that are
	# about the data's way to the origin; elsewhere dirty data is dropped
	# with the devices (a flush of minutes under TCG would blow the budget).
	case $_w in zipf | flush | flush2) _flush=$_write ;; *) _flush=0 ;; esac
	if [ $_flush = 1 ] && [ "$CACHE_SECT" -gt 0 ]; then
		DIRTY_MIB=$(awk -v b="$("dirty_$_fn")" 'BEGIN { printf "%.1f", b / 1048576 }')
		_t0=$(now_cs)
		"flush_$_fn"
		_t1=$(now_cs)
		FLUSH_S=$(awk -v t=$((_t1 - _t0)) 'BEGIN { printf "%.2f", t / 100 }')
	fi
	_ow1=$(stat_sum 5 $ODISK) _ss1=$(stat_sum 7 $SSD)
	_ob=$((($(stat_sum 7 $ODISK) - _os0) / 8))
	_vw=$((F_WKB / _bsk))
	# shellcheck disable=SC2086
	_db=$((F_WKB / 4)) _cap=$(($(echo $DEVS | wc -w) * _reg * 256))
	[ "$_db" -gt "$_cap" ] && _db=$_cap
	_ow=$((_ow1 - _ow0))
	_owpv=$(ratio $_ow $_vw %.4f)
	_sbpv=$(ratio $((_ss1 - _ss0)) $((F_WKB * 2)) %.4f)
	[ "$_sys" = bcache ] && NOTE="$NOTE $(bcache_note)"
	NOTE=$(echo "$NOTE $FLUSH_NOTE" | sed 's/^ *//; s/ *$//')
	"teardown_$_fn" "$_mode"
	[ "$_w" = flush2 ] && origin_delay "$DELAY"
	if [ $_ram = 1 ]; then
		set -- $(kmem)
		MEMINFO=$(ratio $(((_k1 - ${1}) * 1024)) $((CACHE_SECT / 8)) %.1f)
		SLABVM=$(ratio $(((_s1 - ${2}) * 1024)) $((CACHE_SECT / 8)) %.1f)
		RAM=$(ratio $(((_s1 - ${2} + _b1 - ${3}) * 1024)) $((CACHE_SECT / 8)) %.1f)
	fi
	# Outside every measured window: zipf's distinct blocks, exactly.
	if [ "$_w" = zipf ] && [ "$_vw" -gt 0 ]; then
		_db=$(zipf_distinct "$_vw") || _db=
	fi
	echo "VWBENCH-CSV: $KVER,$_sys,$_w,$F_IOPS,$F_LAT,$F_P99,$_vw,$_ow,$_owpv,$_sbpv,$RAM,$SLABVM,$_cpu,$FLUSH_S,$DIRTY_MIB,$MEMINFO,$_ob,$_db,$NOTE"
	P "$_sys $_w: $F_IOPS IOPS, mean ${F_LAT} us, p99 ${F_P99} us, origin w/vm w $_owpv, ssd B/vm B $_sbpv${RAM:+, RAM $RAM B/block}${FLUSH_S:+, flush ${FLUSH_S}s of ${DIRTY_MIB} MiB} ($((($(now_cs) - BENCH_T0) / 100)) s)"
	[ -z "$(dmsetup ls 2>/dev/null | grep -v '^origin' | grep -v 'No devices')" ] ||
		{ dmsetup ls; fail "$_sys $_w: devices left behind"; }
}

CSV_FIELDS=kernel,system,workload,iops,lat_mean_us,p99_us,vm_writes,origin_writes,origin_w_per_vm_w,ssd_bytes_per_vm_byte,ram_bytes_per_block,slabvm_bytes_per_block,cpu_us_per_io,flush_s,dirty_mib,meminfo_bytes_per_block,origin_blocks,distinct_blocks,note
BENCH_T0=$(now_cs)
P "kernel $KVER, origin delay $DELAY ms, runs of $RT s, quick=$QUICK"
P "systems: $SYSTEMS"
P "workloads: $WORKLOADS"
echo "VWBENCH-PARAMS: kernel=$KVER delay_ms=$DELAY runtime_s=$RT quick=$QUICK region_mib=$REGION hot_mib=$HOT mixed_mib=$MIXREG seq_mib=$SEQREG flush_mib=$FLUSHMB flush2_delay_ms=$FLUSH2_DELAY ssd_mib=$((SSD_SECT / 2048)) origin_mib=$((ORIG_SECT / 2048)) cpus=$(grep -c ^processor /proc/cpuinfo) zipf_distinct=exact csv_fields=$CSV_FIELDS"
# Both disks written once through, before anything is measured: the host
# keeps them as sparse files, and a first write to a hole (the host file
# system allocating) costs more than a rewrite, so the first runs after
# boot paid for it and the later ones did not.
_t=$(now_cs)
for d in $SSD $ODISK; do
	dd if=/dev/zero of=$d bs=1M count=$(($(sectors $d) / 2048)) oflag=direct 2>/dev/null ||
		fail "warm-up write of $d"
done
P "disks written through once in $((($(now_cs) - _t) / 100)) s"
BACKWARD=
for s in $SYSTEMS; do BACKWARD="$s $BACKWARD"; done
_n=0
for w in $WORKLOADS; do
	_n=$((_n + 1))
	_order=$SYSTEMS
	[ $((_n % 2)) = 0 ] && _order=$BACKWARD
	for s in $_order; do
		# The raw devices have nothing to flush.
		case $s:$w in raw-*:flush | raw-*:flush2) continue ;; esac
		bench "$s" "$w"
	done
done
P "done in $((($(now_cs) - BENCH_T0) / 100)) s"
echo "VWBENCH-DONE"
