#!/bin/sh
# 67-fs-crash: file systems on a VM device survive power cuts at its
# flushes and between them.  As in 60-crash-log-writes, one data disk
# sits under vwtest-logw (tests/kmod: dm-log-writes, but a flush
# logs every write completed before it was mapped, also when a flush
# mapped earlier is still in flight) (log on a second disk) and dm-linear
# cuts it into the pool's SSD leg and an origin leg, so the log holds one
# global order of every write to both.  For ext4 and then xfs: a VM device on a
# 16 MiB pool (writeback and eviction run), mkfs on it with writeback off
# (so the file system at first lives in the pool only: mark "ready" after
# its flush), then vwc-fsstress, a deterministic metadata-heavy workload
# (create, write, append, truncate, fsync, fdatasync, rename, link,
# unlink, mkdir, rmdir, xattrs in 24 directories), which puts a mark "mN"
# in the log every MARK_EVERY operations, then unmount.
#
# The crash states: the log replayed up to every FLUSH or FUA entry after
# "ready" (the disks as a power cut right after that write completed would
# leave them), up to every mark (between them), and the whole log.  At
# each state a throwaway dm-snapshot of the replayed disk gets the legs,
# the pool must load (recovery), the VM device attach, the file system
# mount (journal replay) and unmount, and its checker find it clean
# (e2fsck -fn, xfs_repair -n: status 0).  There are thousands of
# FLUSH/FUA entries (every fsync, every commit of the pool, every flush of
# its writeback), a second or two per state under TCG: the test checks
# every mark, FUA_CHECK FLUSH/FUA states evenly spread over the log and
# FUA_RUN consecutive ones (every flush in a stretch of the workload):
# make check 12 + 6 and 9 marks, one file system a kernel (ext4 on 6.1,
# xfs on 6.12), vwfull=1 both on each kernel and a workload twice as
# long with 260 + 80 and 74 marks per file system (at least MIN_STATES =
# 300 states in all).  The replays are incremental (lw-replay --start/--limit).
#
# Negative control: at "ready" the origin leg alone (no pool) holds no
# file system yet: it must neither mount nor pass the checker.  The end:
# the replay of the whole log equals the data disk byte for byte.
# Prints "RESULT fs_crash_states_<fs>=N" per file system.
# vwtest-disks: 1x96M 1x1G 1x96M 1x128M
# vwtest-timeout: 3600
# vwtest-mem: 1536
# shellcheck disable=SC1091,SC2086 # guest paths; lists of words
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

data=$(disk 0)
logd=$(disk 1)
scratch=$(disk 2)
cowd=$(disk 3)

SSD_MB=16
ORIGIN_MB=64
SEED=67
OPS=1500
MARK_EVERY=150
FUA_CHECK=12	# FLUSH/FUA states checked per file system, evenly spread,
FUA_RUN=6	# and this many consecutive ones from the middle of the log
MIN_STATES=25
POOL_FEATURES="high_watermark 20 low_watermark 5 max_age 1000 commit_interval 500"
if grep -qw vwfull=1 /proc/cmdline || [ "${VW_FULL:-0}" = 1 ]; then
	OPS=3000
	MARK_EVERY=40
	FUA_CHECK=260
	FUA_RUN=80
	MIN_STATES=300
fi
# make check: one file system a kernel (ext4 on 6.1, xfs on the others), so
# that both are checked in every make check; vwfull=1: both on each.
FSES="ext4 xfs"
if ! grep -qw vwfull=1 /proc/cmdline && [ "${VW_FULL:-0}" != 1 ]; then
	case $(uname -r) in
	6.1.*) FSES=ext4 ;;
	*) FSES=xfs ;;
	esac
fi

SSD_S=$((SSD_MB * 2048))
ORIGIN_S=$((ORIGIN_MB * 2048))
TOTAL_S=$((SSD_S + ORIGIN_S))
MNT=/mnt/fs

for b in /sbin/mkfs.ext4 /sbin/e2fsck /sbin/mkfs.xfs /sbin/xfs_repair; do
	[ -x $b ] || fail "$b not in the guest (e2fsprogs, xfsprogs on the host: tests/deps.sh check)"
done
command -v vwc-fsstress >/dev/null || fail "vwc-fsstress not in the guest (make -C tests/tools)"
command -v lw-replay >/dev/null || fail "lw-replay not in the guest (make -C tests/tools)"
dmsetup targets | grep -q '^vwtest-logw' ||
	insmod /lib/vwcache/dm-vwtest-log-writes.ko ||
	fail "insmod dm-vwtest-log-writes (tests/kmod)"
dmsetup targets | grep -q '^snapshot' || modprobe dm-snapshot 2>/dev/null ||
	fail "dm-snapshot is not in the image (add it to EXTRA_MODULES of tests/vm/mkinitramfs)"
for m in $FSES; do
	grep -qw $m /proc/filesystems || kmod_load $m
done
mkdir -p $MNT

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

# stack BASE: the SSD leg "ssd" and the origin leg "o1" on BASE, the pool
# (format or recovery) on ssd, the VM device "vm1" on o1.  A pool that
# does not load, or not in state ok, returns 1 with the reason in $why
# and the legs removed.
stack() {
	dmsetup create --concise "ssd,,,rw,0 $SSD_S linear $1 0;o1,,,rw,0 $ORIGIN_S linear $1 $SSD_S" ||
		fail "creating the legs on $1"
	if ! dmsetup create pool --table "0 $SSD_S vwcache-pool /dev/mapper/ssd 4096 $(echo $POOL_FEATURES | wc -w) $POOL_FEATURES" 2>/dev/null; then
		why="pool load refused: $(dmesg | grep vwcache | tail -n 1 | sed 's/^\[[ 0-9.]*\] //')"
		dmsetup remove ssd o1 || fail "removing the legs"
		return 1
	fi
	_st=$(dmsetup status pool) || fail "pool status"
	set -- $_st
	if [ "$4" != ok ]; then
		why="pool state after load: $_st"
		dmsetup remove pool ssd o1 || fail "removing the pool and the legs"
		return 1
	fi
	dmsetup create vm1 --table "0 $ORIGIN_S vwcache /dev/mapper/pool /dev/mapper/o1 guest-1.vda 0" ||
		fail "creating the VM device"
}

# unstack [MORE...]: remove the VM device, the pool, the legs and MORE.
unstack() {
	dmsetup remove vm1 pool ssd o1 "$@" || fail "removing vm1 pool ssd o1 $*"
}

md5_of() {
	dd if="$1" bs=1M count=$((TOTAL_S / 2048)) iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1
}

# fs_check FS DEV OUT: the checker of FS, read-only, on DEV; its status.
fs_check() {
	case $1 in
	ext4) /sbin/e2fsck -fn "$2" >"$3" 2>&1 ;;
	xfs) /sbin/xfs_repair -n "$2" >"$3" 2>&1 ;;
	esac
}

# bad_state FS WHAT OUTPUT: a crash state whose file system is not clean.
bad_state() {
	badstates=$((badstates + 1))
	echo "--- BAD ($1): $2"
	[ $badstates -le 3 ] && [ -n "${3:-}" ] && [ -f "$3" ] && head -n 40 "$3"
	[ $badstates -lt 10 ] || fail "10 crash states were bad; the first ones are above"
}

vw_load_module

# run_fs FS: record the workload on FS, then check its crash states.
run_fs() {
	fs=$1
	case $fs in
	ext4) mkfs="/sbin/mkfs.ext4 -q -F -b 4096 -E nodiscard,lazy_itable_init=0,lazy_journal_init=0" ;;
	# xfsprogs refuses file systems under 300 MB but for fstests,
	# which it knows by these variables.
	xfs) mkfs="env TEST_DIR=/tmp TEST_DEV=/dev/mapper/vm1 QA_CHECK_FS=1 /sbin/mkfs.xfs -q -f -K" ;;
	esac

	# --- record ----------------------------------------------------------
	for d in "$data" "$scratch"; do
		dd if=/dev/zero of="$d" bs=1M count=$((TOTAL_S / 2048)) conv=fsync 2>/dev/null ||
			fail "zeroing $d"
	done
	dd if=/dev/zero of="$logd" bs=4096 count=1 conv=fsync 2>/dev/null || fail "zeroing the log head"
	assert_ok dmsetup create lw --table "0 $TOTAL_S vwtest-logw $data $logd"
	assert_ok dmsetup message lw 0 mark start
	stack /dev/mapper/lw || fail "$why"
	# mkfs with writeback off: the new file system is in the pool only.
	assert_ok dmsetup message pool 0 set max_age 0
	assert_ok dmsetup message pool 0 set high_watermark 100
	$mkfs /dev/mapper/vm1 >/tmp/mkfs.out 2>&1 || { cat /tmp/mkfs.out; fail "$fs: mkfs failed"; }
	flush_dev /dev/mapper/vm1 || fail "flush of vm1 after mkfs"
	assert_eq "$(field 11 pool)" 0 "$fs: blocks written back during mkfs"
	log "$fs: made, the pool holds it: $(dmsetup status pool)"
	assert_ok dmsetup message lw 0 mark ready
	assert_ok dmsetup message pool 0 set max_age 1000
	assert_ok dmsetup message pool 0 set high_watermark 20
	assert_ok mount -t $fs /dev/mapper/vm1 $MNT
	t0=$(date +%s)
	vwc-fsstress --seed $SEED --ops $OPS --dirs 24 --files 16 --max-size 262144 \
		--mark-cmd 'dmsetup message lw 0 mark m%d' --mark-every $MARK_EVERY \
		$MNT >/tmp/stress.out 2>&1 || { cat /tmp/stress.out; fail "$fs: vwc-fsstress failed"; }
	cat /tmp/stress.out
	assert_ok umount $MNT
	flush_dev /dev/mapper/vm1 || fail "flush of vm1 after umount"
	pst=$(dmsetup status pool)
	vst=$(dmsetup status vm1)
	log "$fs: workload of $OPS ops in $(($(date +%s) - t0)) s; pool: $pst; vm1: $vst"
	set -- $pst
	total_blocks=$6
	wb=${14}
	set -- $vst
	writes=${10}
	[ "$wb" -gt 0 ] || fail "$fs: no writeback during the workload (pool: $pst)"
	# More blocks written than the pool holds: it had to evict.
	[ "$writes" -gt "$total_blocks" ] ||
		fail "$fs: $writes block writes, the pool holds $total_blocks: no eviction needed"
	unstack
	lwst=$(dmsetup status lw)
	assert_ok dmsetup remove lw
	log "$fs: log-writes: $lwst"

	# --- the crash states ------------------------------------------------
	lw-replay --log "$logd" --list >/tmp/list || fail "listing the log"
	ready=$(awk '$4 == "MARK" && $5 == "ready" { print $1 }' /tmp/list)
	last=$(awk 'END { print $1 }' /tmp/list)
	[ -n "$ready" ] || fail "$fs: no mark 'ready' in the log"
	nfua=$(awk -v r=$ready '$1 > r && $4 ~ /FLUSH|FUA/' /tmp/list | wc -l)
	nmarks=$(awk '$4 == "MARK" && $5 ~ /^m[0-9]+$/' /tmp/list | wc -l)
	assert_eq "$nmarks" $(((OPS - 1) / MARK_EVERY)) "$fs: workload marks in the log"
	# "INDEX KIND": ready, FUA_CHECK FLUSH/FUA entries evenly spread and
	# FUA_RUN consecutive ones from the middle, every mark, the end; in
	# log order.
	awk -v r=$ready -v n=$nfua -v want=$FUA_CHECK -v run=$FUA_RUN -v last=$last '
		$1 == r { print $1, "ready"; next }
		$1 > r && $4 ~ /FLUSH|FUA/ {
			k++
			if (n <= want + run || int(k * want / n) != int((k - 1) * want / n) ||
			    (k > int(n / 2) && k <= int(n / 2) + run))
				print $1, "fua"
			next
		}
		$4 == "MARK" && $5 ~ /^m[0-9]+$/ { print $1, $5; next }
		$1 == last { print $1, "end" }' /tmp/list >/tmp/points
	npoints=$(wc -l </tmp/points)
	log "$fs: log: $(lw-replay --log "$logd"); $nfua FLUSH/FUA entries after 'ready', $nmarks marks: $npoints states to check"

	checked=0 badstates=0 nfua_checked=0 prev=
	t_replay=0 t_up=0 t_mount=0 t_fsck=0 t_down=0
	t0=$(date +%s)
	while read -r e kind; do
		c=$(now)
		lw-replay --log "$logd" --replay "$scratch" ${prev:+--start $((prev + 1))} --limit "$e" \
			2>/tmp/lw.err || fail "replay ${prev:-0}..$e: $(cat /tmp/lw.err)"
		prev=$e
		spent t_replay "$c"
		what="entry $e ($kind)"
		if [ "$kind" = ready ]; then
			# Negative control: the origin leg alone.
			dmsetup create neg --table "0 $ORIGIN_S linear $scratch $SSD_S" ||
				fail "creating the origin leg alone"
			if mount -t $fs -o ro /dev/mapper/neg $MNT 2>/dev/null; then
				umount $MNT
				fail "negative control: $fs mounts from the origin leg alone at 'ready'"
			fi
			fs_check $fs /dev/mapper/neg /tmp/neg.out &&
				{ cat /tmp/neg.out; fail "negative control: $fs checker passes the origin leg alone at 'ready'"; }
			negative="origin leg alone at 'ready': no mount, checker status $?"
			assert_ok dmsetup remove neg
			log "$fs: negative control: $negative (expected)"
		fi
		c=$(now)
		dmsetup create snap --table "0 $TOTAL_S snapshot $scratch $cowd N 8" ||
			fail "creating the snapshot"
		if ! stack /dev/mapper/snap; then
			spent t_up "$c"
			bad_state $fs "$what: $why"
			dmsetup remove snap || fail "removing the snapshot"
			checked=$((checked + 1))
			continue
		fi
		spent t_up "$c"
		c=$(now)
		if ! mount -t $fs /dev/mapper/vm1 $MNT 2>/tmp/mount.err; then
			spent t_mount "$c"
			dmesg | tail -n 20 >>/tmp/mount.err
			bad_state $fs "$what: mount failed" /tmp/mount.err
		elif ! umount $MNT; then
			fail "$fs: umount at $what"
		else
			spent t_mount "$c"
			c=$(now)
			fs_check $fs /dev/mapper/vm1 /tmp/fsck.out ||
				bad_state $fs "$what: checker status $?" /tmp/fsck.out
			spent t_fsck "$c"
		fi
		c=$(now)
		unstack snap
		spent t_down "$c"
		checked=$((checked + 1))
		[ "$kind" = fua ] && nfua_checked=$((nfua_checked + 1))
		[ $((checked % 50)) -eq 0 ] && log "$fs: checked $checked states in $(($(date +%s) - t0)) s"
	done </tmp/points
	log "$fs: time in s: replay $(secs $t_replay), snapshot+load $(secs $t_up), mount+umount $(secs $t_mount), fsck $(secs $t_fsck), teardown $(secs $t_down)"
	assert_eq "$prev" "$last" "$fs: the last state checked"

	# The replay of the whole log is the data disk, but for discarded
	# ranges, whose content is up to each disk: zero them on both.
	awk '$4 ~ /DISCARD/ { print $2, $3 }' /tmp/list >/tmp/discards
	for d in "$data" "$scratch"; do
		while read -r s c; do
			dd if=/dev/zero of="$d" bs=512 seek="$s" count="$c" conv=notrunc 2>/dev/null ||
				fail "zeroing a discarded range of $d"
		done </tmp/discards
	done
	sync
	assert_eq "$(md5_of "$scratch")" "$(md5_of "$data")" "$fs: replayed disk at the end vs the data disk"
	log "$fs: checked $checked crash states ($nfua_checked at a FLUSH/FUA of $nfua, $nmarks marks, 'ready', the end): $badstates bad; $(($(date +%s) - t0)) s"
	[ $badstates -eq 0 ] || fail "$fs: $badstates crash states were bad"
	[ -n "$negative" ] || fail "$fs: the negative control did not run"
	[ $checked -ge $MIN_STATES ] || fail "$fs: only $checked states checked, want at least $MIN_STATES"
	echo "RESULT fs_crash_states_$fs=$checked"
}

for fs in $FSES; do
	negative=
	run_fs $fs
done
log "file systems crash-consistent at every flush: passed; $(($(date +%s) - t_start)) s in all"
