#!/bin/sh
# Isolation: no path lets one VM device read blocks cached for another.
# Every block written or tagged here names its owner and its block number
# (vwc-damage tag-write / tag-check), so a read shows whose data it got.
# Covered: two VMs side by side; detach and another vm_id on the same
# origin; vm_id reuse on a different origin (refused while the vm_id has
# dirty blocks; after drop_dirty it sees neither them nor a clean block of
# the old origin);
# re-attach after a clean detach; slot reuse by a new vm_id; a table reload
# onto another origin; recovery after a pool reload and after a crash (the
# cache device cut off mid-run); messages and sysfs writes refused to
# non-root users, and no sysfs file writable by group or others.
# vwtest-disks: 1x32M 1x16M 1x16M 1x16M 1x16M 1x16M
# vwtest-timeout: 600
# vwtest-exclusive: yes
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
X=$(disk 1)
Y=$(disk 2)
Z=$(disk 3)
W=$(disk 4)
V=$(disk 5)
S=$(sectors "$ssd")
D=vwc-damage
B=128 # blocks checked per device
command -v $D >/dev/null || fail "vwc-damage not in the guest"
CHECKS=0

vw_load_module
zero_head "$ssd"
for d in X Y Z W V; do
	eval "dev=\$$d"
	$D tag-write "$dev" "${d}0" 0 $B || fail "tagging $d"
done

# expect DEV FIRST COUNT TAGS WHAT: every block carries one of TAGS.  A
# miss is recorded and the test goes on (it fails at the end), so one run
# shows every broken path.
BROKEN=
expect() {
	if ! $D tag-check "/dev/mapper/$1" "$2" "$3" "$4" >/tmp/tc; then
		cat /tmp/tc
		echo "BROKEN: $5: $1 blocks $2..$(($2 + $3 - 1)) are not all $4"
		BROKEN="$BROKEN
  $5: $1 blocks $2..$(($2 + $3 - 1)) are not all $4 ($(tail -n 1 /tmp/tc))"
	fi
	CHECKS=$((CHECKS + $3))
}

# promote DEV FIRST COUNT: read whole blocks a few times (the filter
# promotes hot read misses).
promote() {
	for _r in 1 2 3 4; do
		$D tag-check "/dev/mapper/$1" "$2" "$3" any >/dev/null
	done
}

# The cache device behind a linear mapping, to cut it off for the crash.
dmsetup create ssdl --table "0 $S linear $ssd 0" || fail "ssdl"
pool_create pool /dev/mapper/ssdl 4096 high_watermark 90 low_watermark 10 max_age 0

# ---- two VMs side by side ----------------------------------------------
vm_create va pool "$X" vm-A
vm_create vb pool "$Y" vm-B
$D tag-write /dev/mapper/va A1 0 64 || fail "write va"
$D tag-write /dev/mapper/vb B1 0 32 || fail "write vb"
promote va 64 64
promote vb 32 96
log "va: $(dmsetup status va | cut -d' ' -f4-7); vb: $(dmsetup status vb | cut -d' ' -f4-7)"
[ "$(field 3 va)" -gt "$(field 4 va)" ] ||
	log "note: no clean block of va cached, the clean-block checks are weaker"
expect va 0 64 A1 "side by side"
expect va 64 64 X0 "side by side"
expect vb 0 32 B1 "side by side"
expect vb 32 96 Y0 "side by side"

# ---- detach; another vm_id on the same origin ---------------------------
dmsetup remove va || fail "remove va"
assert_eq "$(field 5 pool)" 96 "dirty blocks kept after the detach"
vm_create vc pool "$X" vm-C
expect vc 0 $B X0 "another vm_id on vm-A's origin"
dmsetup remove vc

# ---- vm_id reuse on a different origin -----------------------------------
# vm-A's dirty blocks belong to X: on Z it is refused, Z untouched (admin
# guide, "Origin identity").  Once they are dropped (drop_dirty) it
# attaches to Z and reads Z: neither its dropped blocks nor clean copies
# of X.
expect_refused "vm-A on another origin with dirty blocks" origin va \
	"0 $(sectors "$Z") vwcache /dev/mapper/pool $Z vm-A 0"
$D tag-check "$Z" 0 $B Z0 >/dev/null || fail "a refused attach wrote to Z"
assert_ok dmsetup message pool 0 drop_dirty vm-A
assert_eq "$(field 5 pool)" 32 "dirty blocks after drop_dirty vm-A"
vm_create va pool "$Z" vm-A
expect va 0 64 Z0 "vm-A on another origin after drop_dirty: not its dropped blocks"
expect va 64 64 Z0 "vm-A on another origin: no clean block of the old one"
dmsetup remove va
$D tag-check "$X" 0 $B X0 >/dev/null || fail "dropped blocks reached X"

# ---- re-attach after a clean detach -------------------------------------
vm_create va pool "$X" vm-A
expect va 0 $B X0 "vm-A back on its origin after a clean detach"
dmsetup remove va

# ---- slot reuse by a new vm_id -------------------------------------------
vm_create vd pool "$W" vm-D
expect vd 0 $B W0 "a new vm_id (vm-A's slot free again)"
$D tag-write /dev/mapper/vd D1 0 16 || fail "write vd"
promote vd 16 48

# ---- a table reload onto another origin ----------------------------------
# vm-B keeps its vm_id and dirty blocks; the clean copies of Y it holds
# must not be served from V.
dmsetup reload vb --table "0 $(sectors "$V") vwcache /dev/mapper/pool $V vm-B 0" ||
	fail "reload vb"
dmsetup suspend vb && dmsetup resume vb || fail "resume vb"
expect vb 0 32 B1 "vm-B reloaded onto another origin: its dirty blocks"
expect vb 32 96 V0 "vm-B reloaded onto another origin: no clean block of the old one"
dmsetup reload vb --table "0 $(sectors "$Y") vwcache /dev/mapper/pool $Y vm-B 0" &&
	dmsetup suspend vb && dmsetup resume vb || fail "reload vb back"
expect vb 0 32 B1 "vm-B back on its origin"
expect vb 32 96 Y0 "vm-B back on its origin"
promote vb 32 96

# ---- recovery after a pool reload ----------------------------------------
dmsetup remove vb && dmsetup remove vd && dmsetup remove pool || fail "remove all"
pool_create pool /dev/mapper/ssdl 4096 max_age 0 high_watermark 90 low_watermark 10
vm_create ve pool "$X" vm-E
expect ve 0 $B X0 "a new vm_id after the reload"
vm_create vb pool "$Y" vm-B
vm_create vd pool "$W" vm-D
expect vb 0 32 B1 "vm-B after the reload"
expect vb 32 96 Y0 "vm-B after the reload"
expect vd 0 16 D1 "vm-D after the reload"
expect vd 16 112 W0 "vm-D after the reload"
dmsetup remove ve

# ---- recovery after a crash -----------------------------------------------
vm_create va pool "$X" vm-A
$D tag-write /dev/mapper/va A2 0 16 || fail "write va"
$D tag-write /dev/mapper/vb B2 0 16 || fail "write vb"
promote va 16 64
# The crash: the cache device fails every I/O from here on.
dmsetup reload ssdl --table "0 $S error" && dmsetup suspend --noflush ssdl &&
	dmsetup resume ssdl || fail "cutting the cache device"
dd if=/dev/urandom of=/dev/mapper/va bs=4096 seek=100 count=4 oflag=direct 2>/dev/null
for v in va vb vd; do dmsetup remove "$v" || fail "remove $v after the crash"; done
dmsetup remove pool || fail "remove the pool after the crash"
dmsetup reload ssdl --table "0 $S linear $ssd 0" && dmsetup suspend ssdl &&
	dmsetup resume ssdl || fail "restoring the cache device"
pool_create pool /dev/mapper/ssdl 4096 max_age 0 high_watermark 90 low_watermark 10
vm_create vf pool "$Z" vm-F
expect vf 0 $B Z0 "a new vm_id after the crash"
vm_create va pool "$X" vm-A
vm_create vb pool "$Y" vm-B
expect va 0 16 A2 "vm-A after the crash"
expect va 16 84 X0 "vm-A after the crash"
expect vb 0 16 B2 "vm-B after the crash"
expect vb 16 16 B1 "vm-B after the crash"
expect vb 32 96 Y0 "vm-B after the crash"
vm_create vd pool "$W" vm-D
expect vd 0 16 D1 "vm-D after the crash"
expect vd 16 112 W0 "vm-D after the crash"

# ---- root only -------------------------------------------------------------
asuser() { $D asuser 1000 "$@"; }
chmod 0666 /dev/mapper/control
before=$(dm_state)
pool_dm=dm-$(dmsetup info -c --noheadings -o minor pool)
vb_dm=dm-$(dmsetup info -c --noheadings -o minor vb)
refusals=0
for m in "pool set max_age 5" "pool flush" "pool clear_stats" "vb set weight 7" \
	"vb migrate_prepare" "vb set mode passthrough" "vb flush"; do
	set -- $m
	dev=$1
	shift
	if asuser dmsetup message "$dev" 0 "$@" 2>/dev/null; then
		fail "a non-root user's message was accepted: $m"
	fi
	refusals=$((refusals + 1))
done
asuser dmsetup remove vb 2>/dev/null && fail "a non-root user removed vb"
asuser dmsetup reload vb --table "0 8 zero" 2>/dev/null && fail "a non-root user loaded a table"
asuser dmsetup create evil --table "0 $S vwcache-pool $ssd 4096 0" 2>/dev/null &&
	fail "a non-root user created a device"
chmod 0600 /dev/mapper/control
[ "$(dm_state)" = "$before" ] || fail "non-root users changed a table"
files=0
for f in /sys/block/"$vb_dm"/vwcache/limits/* /sys/block/"$vb_dm"/vwcache/* \
	/sys/block/"$vb_dm"/vwcache/stats/* /sys/block/"$pool_dm"/vwcache_pool/*; do
	[ -f "$f" ] || continue
	files=$((files + 1))
	mode=$(stat -c %a "$f")
	case $mode in
	*[2367]? | *[2367]) fail "$f is writable by group or others (mode $mode)" ;;
	esac
	old=$(cat "$f")
	if asuser sh -c "echo 7 >$f" 2>/dev/null; then
		fail "a non-root user wrote $f"
	fi
	# Values of writable files (settings) must not move; others may (rates).
	case $mode in
	[2367]??) assert_eq "$(cat "$f")" "$old" "$f after a non-root write" ;;
	esac
	refusals=$((refusals + 1))
done
[ $files -gt 0 ] || log "no vwcache sysfs files: the sysfs checks were skipped"
log "root only: $refusals non-root writes and messages refused ($files sysfs files)"

for v in va vb vd vf; do dmsetup remove "$v" || fail "remove $v"; done
dmsetup remove pool && dmsetup remove ssdl || fail "remove the pool"
log "$CHECKS block reads checked for their owner"
[ -z "$BROKEN" ] || fail "a VM device read data that is not its own:$BROKEN"
echo "RESULT isolation_blocks_checked=$CHECKS"
echo "RESULT isolation_nonroot_refusals=$refusals"
vw_unload_module
log "isolation: passed"
