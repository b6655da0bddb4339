#!/bin/sh
# 68-fsx-reload: verified file I/O on a file system on a VM device, through
# table reloads.  For ext4 and xfs in turn: a VM device on a small pool
# (writeback and eviction run), mkfs, mount, and vwc-fsx (fsx-style:
# random writes, reads, truncates, fsync/fdatasync, reopens on three files
# against an in-memory model, every read verified, the page cache dropped
# every DROP operations so reads come through the VM device again).  While
# it runs, RELOADS times: the VM device's table is reloaded (same table:
# suspend, resume), and the pool's too, with the VM device attached (the
# admin guide allows a reload that keeps the cache device and block size);
# then vwc-fsx is told to stop and must end with no mismatch.  Then
# unmount, the VM device's "flush" message, wait until it is clean, remove
# it and the pool, and check the origin alone: its checker (e2fsck -fn,
# xfs_repair -n) must find it clean, and it must mount and vwc-fsx's files
# must be there with the sizes the VM device showed.
# Prints "RESULT fsx_reload_<fs>_ops=N" and "..._reloads=N".
# vwtest-disks: 1x24M 1x96M
# vwtest-timeout: 900
# vwtest-mem: 1024
# shellcheck disable=SC1091,SC2086 # guest paths; lists of words
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
MNT=/mnt/fs
OPS=3000
RELOADS=4
DROP=500
SEED=68
if grep -qw vwfull=1 /proc/cmdline || [ "${VW_FULL:-0}" = 1 ]; then
	OPS=20000
	RELOADS=12
fi
POOL_FEATURES="high_watermark 20 low_watermark 5 max_age 1000 commit_interval 500"

for b in /sbin/mkfs.ext4 /sbin/e2fsck /sbin/mkfs.xfs /sbin/xfs_repair; do
	[ -x $b ] || fail "$b not in the guest (e2fsprogs, xfsprogs on the host: tests/deps.sh check)"
done
command -v vwc-fsx >/dev/null || fail "vwc-fsx not in the guest (make -C tests/tools)"
for m in ext4 xfs; do
	grep -qw $m /proc/filesystems || kmod_load $m
done
mkdir -p $MNT
vw_load_module

# fs_check FS DEV OUT: the checker of FS, read-only, on DEV; its status.
fs_check() {
	case $1 in
	ext4) /sbin/e2fsck -fn "$2" >"$3" 2>&1 ;;
	xfs) /sbin/xfs_repair -n "$2" >"$3" 2>&1 ;;
	esac
}

# sizes DIR: "name size" of vwc-fsx's files.
sizes() {
	for f in "$1"/fsx*; do
		echo "$(basename "$f") $(wc -c <"$f")"
	done
}

run_fs() {
	fs=$1
	case $fs in
	ext4) mkfs="/sbin/mkfs.ext4 -q -F -b 4096" ;;
	xfs) mkfs="env TEST_DIR=/tmp TEST_DEV=/dev/mapper/vm1 QA_CHECK_FS=1 /sbin/mkfs.xfs -q -f" ;;
	esac
	zero_head "$ssd"
	pool_create pool "$ssd" 4096 $POOL_FEATURES
	vm_create vm1 pool "$origin" "guest-$fs"
	$mkfs /dev/mapper/vm1 >/tmp/mkfs.out 2>&1 || { cat /tmp/mkfs.out; fail "$fs: mkfs failed"; }
	assert_ok mount -t $fs /dev/mapper/vm1 $MNT
	rm -f /tmp/stop
	vwc-fsx --seed $SEED --ops $OPS --files 3 --max-len 4194304 --drop-caches $DROP \
		--stop-file /tmp/stop $MNT >/tmp/fsx.out 2>&1 &
	pid=$!
	vmt=$(dmsetup table vm1)
	pt=$(dmsetup table pool)
	r=0
	while [ $r -lt $RELOADS ]; do
		sleep 2
		kill -0 $pid 2>/dev/null || break
		assert_ok dmsetup reload vm1 --table "$vmt"
		assert_ok dmsetup suspend vm1
		assert_ok dmsetup resume vm1
		assert_ok dmsetup reload pool --table "$pt"
		assert_ok dmsetup suspend pool
		assert_ok dmsetup resume pool
		r=$((r + 1))
		log "$fs: reload $r: pool $(dmsetup status pool)"
	done
	touch /tmp/stop
	wait $pid
	rc=$?
	cat /tmp/fsx.out
	[ $rc -eq 0 ] || fail "$fs: vwc-fsx exited $rc through the reloads"
	[ $r -eq $RELOADS ] || fail "$fs: vwc-fsx ended after $r of $RELOADS reloads (raise OPS)"
	assert_eq "$(dmsetup table vm1)" "$vmt" "$fs: vm1's table after the reloads"
	assert_eq "$(dmsetup table pool)" "$pt" "$fs: the pool's table after the reloads"
	sizes $MNT >/tmp/sizes.vm
	assert_ok umount $MNT
	pst=$(dmsetup status pool)
	set -- $pst
	[ "${14}" -gt 0 ] || fail "$fs: no writeback during the run (pool: $pst)"
	dirty=$(field 4 vm1)
	assert_ok dmsetup message vm1 0 flush
	wait_clean vm1 120
	log "$fs: $dirty dirty blocks before the flush; pool: $(dmsetup status pool)"
	assert_ok dmsetup remove vm1
	assert_ok dmsetup remove pool
	fs_check $fs "$origin" /tmp/fsck.out || { cat /tmp/fsck.out; fail "$fs: the origin after the flush is not clean (checker status $?)"; }
	assert_ok mount -t $fs -o ro "$origin" $MNT
	sizes $MNT >/tmp/sizes.origin
	assert_ok umount $MNT
	assert_eq "$(cat /tmp/sizes.origin)" "$(cat /tmp/sizes.vm)" "$fs: file sizes on the origin"
	ops=$(sed -n 's/^vwc-fsx: ops \([0-9]*\) .*/\1/p' /tmp/fsx.out)
	log "$fs: vwc-fsx: $ops ops through $r reloads of vm1 and the pool; the origin is clean"
	echo "RESULT fsx_reload_${fs}_ops=$ops"
	echo "RESULT fsx_reload_${fs}_reloads=$r"
}

for fs in ext4 xfs; do
	run_fs $fs
done
log "fsx through reloads: passed"
