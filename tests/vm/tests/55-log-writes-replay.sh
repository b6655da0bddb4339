#!/bin/sh
# 55-log-writes-replay: lw-replay (tests/tools/lw-replay.c) against a real
# dm-log-writes log (no dm-vwcache involved).  Known patterns are written
# through a log-writes device in five steps, each ended by an fsync (a
# FLUSH) and a mark; the log is then checked byte for byte where the format
# is fixed (super), listed, and replayed mark by mark onto a zeroed third
# disk, whose content must equal a model of each step (with a negative
# control); --limit, discards, a too small target, a busy target, usage
# errors and corrupted copies of the log (super and entry headers) are
# checked too: a corrupt log is refused cleanly and leaves the target as
# it was.
# vwtest-disks: 1x256M 1x256M 1x256M
# vwtest-timeout: 300
# shellcheck disable=SC2154 # exp*, mark*, flush* and want are set by eval
. /lib/vwcache/lib.sh

data=$(disk 0)
logd=$(disk 1)
rep=$(disk 2)
REGION_BLOCKS=128 # the 8 MiB all steps write in, in 64 KiB blocks
DISCARD_KB=2048   # step4 discards 1 MiB here
DISCARD_LEN_KB=1024

command -v lw-replay >/dev/null || fail "lw-replay is not in the image (build tests/tools into build/guest-bin)"
dmsetup targets | grep -q '^log-writes' || kmod_load dm-log-writes

# md5 DEV: checksum of the 8 MiB region.
md5() {
	dd if="$1" bs=64k count=$REGION_BLOCKS 2>/dev/null | md5sum | cut -d' ' -f1
}

# md5_outside DEV: checksum of the region minus the discarded range, whose
# content after a discard is up to the device.
md5_outside() {
	{
		dd if="$1" bs=1k count=$DISCARD_KB 2>/dev/null
		dd if="$1" bs=1k skip=$((DISCARD_KB + DISCARD_LEN_KB)) \
			count=$((REGION_BLOCKS * 64 - DISCARD_KB - DISCARD_LEN_KB)) 2>/dev/null
	} | md5sum | cut -d' ' -f1
}

zero_region() {
	dd if=/dev/zero of="$1" bs=64k count=$REGION_BLOCKS conv=notrunc,fsync 2>/dev/null ||
		fail "zeroing $1"
}

# put FILE KiB [sync]: write FILE at that offset of the log-writes device
# and of the model; with "sync" end with an fsync (a FLUSH in the log).
put() {
	_conv=notrunc
	[ "${3:-}" = sync ] && _conv=notrunc,fsync
	dd if="$1" of="$lw" bs=1k seek="$2" conv=$_conv 2>/dev/null || fail "dd $1 to $lw"
	dd if="$1" of=/tmp/model bs=1k seek="$2" conv=notrunc 2>/dev/null || fail "dd $1 to model"
}

# step N: mark the end of step N, remember the model's checksum.
step() {
	assert_ok dmsetup message lw 0 mark "step$1"
	eval "exp$1=\$(md5 /tmp/model)"
	assert_eq "$(md5_outside "$lw")" "$(md5_outside /tmp/model)" "log-writes device after step $1"
}

# lwr ARGS...: run lw-replay, stdout to /tmp/out, stderr to /tmp/err; sets rc.
lwr() {
	lw-replay "$@" >/tmp/out 2>/tmp/err
	rc=$?
}

# replay_to MARK [ARGS]: zero the replay disk, replay onto it, print md5.
replay_to() {
	zero_region "$rep"
	_m=$1
	shift
	lwr --log "$logd" --replay "$rep" --end-mark "$_m" "$@"
	[ $rc -eq 0 ] || { cat /tmp/err; fail "replay to $_m: status $rc"; }
	md5 "$rep"
}

# --- record ----------------------------------------------------------------
for p in A:1024 B:256 C:64 D:12 E:4; do
	dd if=/dev/urandom of="/tmp/p${p%%:*}" bs=1k count="${p#*:}" 2>/dev/null || fail "pattern $p"
done
dd if=/dev/zero of=/tmp/model bs=64k count=$REGION_BLOCKS 2>/dev/null
zero_region "$rep"

assert_ok dmsetup create lw --table "0 $(sectors "$data") log-writes $data $logd"
lw=$(dm_dev_of lw) || exit 1
log "write cache of $data: $(cat /sys/block/"${data#/dev/}"/queue/write_cache 2>/dev/null)"

put /tmp/pA 0 sync
step 1
put /tmp/pB 512
put /tmp/pC 6144 sync
step 2
put /tmp/pD 4
put /tmp/pA 2048 sync
step 3
# A discard of the second copy of A, then a write and an fsync.
assert_ok blkdiscard -o $((DISCARD_KB * 1024)) -l $((DISCARD_LEN_KB * 1024)) "$lw"
dd if=/dev/zero of=/tmp/model bs=1k seek=$DISCARD_KB count=$DISCARD_LEN_KB conv=notrunc 2>/dev/null
put /tmp/pE 7168 sync
step 4
put /tmp/pC 0
sync
put /tmp/pE 8188 sync
step 5
status=$(dmsetup status lw)
log "status: $status"
entries=$(echo "$status" | awk '{ print $4 }')
assert_ok dmsetup remove lw

# --- the format, checked without lw-replay -----------------------------------
ss=$(blockdev --getss "$data")
magic=$(od -A n -t x1 -N 8 "$logd" | tr -d ' \n')
assert_eq "$magic" 7268737766736a00 "super magic (le64 0x6a736677736872)"
assert_eq "$(od -A n -t u8 -j 8 -N 8 "$logd" | tr -d ' ')" 1 "super version"
# The end mark the target adds when it is removed makes one more entry.
assert_eq "$(od -A n -t u8 -j 16 -N 8 "$logd" | tr -d ' ')" $((entries + 1)) "super nr_entries"
assert_eq "$(od -A n -t u4 -j 24 -N 4 "$logd" | tr -d ' ')" "$ss" "super sectorsize"

# --- listings ----------------------------------------------------------------
lwr --log "$logd" --verbose
[ $rc -eq 0 ] || { cat /tmp/err; fail "checking the log: status $rc"; }
log "$(cat /tmp/out) ($(cat /tmp/err))"

lwr --log "$logd" --list
assert_eq $rc 0 "--list status"
cp /tmp/out /tmp/list
log "--list: $(wc -l </tmp/list) entries; the first 3 and all but plain writes:"
awk 'NR <= 3 || $4 != "-"' /tmp/list
assert_eq "$(wc -l </tmp/list)" $((entries + 1)) "--list line count"
assert_eq "$(tail -n 1 /tmp/list | cut -d' ' -f4-)" "MARK dm-log-writes-end" "last entry"
# Layout: entry N's header sits where the sizes of the entries before it
# say, and holds what --list printed.
awk -v ss="$ss" '{ print $1, pos; pos += ss * (1 + ($4 ~ /DISCARD/ ? 0 : $3)) }' \
	pos="$ss" /tmp/list >/tmp/offsets
last_off=$(tail -n 1 /tmp/offsets | cut -d' ' -f2)
assert_eq "$(dd if="$logd" bs="$ss" skip=$((last_off / ss)) count=1 2>/dev/null |
	dd bs=1 skip=32 count=17 2>/dev/null)" dm-log-writes-end "end mark text at its computed offset"
grep -q ' DISCARD$' /tmp/list || fail "no discard entry in the log"

lwr --log "$logd" --list-marks
assert_eq $rc 0 "--list-marks status"
cp /tmp/out /tmp/marks
assert_eq "$(cut -d' ' -f2 /tmp/marks | tr '\n' ' ')" \
	"step1 step2 step3 step4 step5 dm-log-writes-end " "mark names"

lwr --log "$logd" --flush-marks
assert_eq $rc 0 "--flush-marks status"
cp /tmp/out /tmp/flushes
log "flush/fua entries: $(tr '\n' ' ' </tmp/flushes)"
# Every step ended with an fsync: a flush lies between its mark and the last.
prev=-1
for k in 1 2 3 4 5; do
	m=$(awk -v n="step$k" '$2 == n { print $1 }' /tmp/marks)
	f=$(awk -v a="$prev" -v b="$m" '$1 > a && $1 < b { x = $1 } END { print x }' /tmp/flushes)
	[ -n "$f" ] || fail "no flush between mark $prev and step$k ($m)"
	eval "mark$k=$m flush$k=$f"
	grep -q "^$f [0-9]* [0-9]* FLUSH" /tmp/list || fail "--list shows no FLUSH at entry $f"
	prev=$m
done

# --- replays -----------------------------------------------------------------
for k in 1 2 3 4 5; do
	eval "want=\$exp$k"
	assert_eq "$(replay_to "step$k" --zero-discards)" "$want" "replay to step$k"
	# The last flush before the mark leaves the same content.
	eval "f=\$flush$k"
	zero_region "$rep"
	lwr --log "$logd" --replay "$rep" --limit "$f" --zero-discards
	assert_eq $rc 0 "replay --limit $f"
	assert_eq "$(md5 "$rep")" "$want" "replay --limit $f (last flush of step$k)"
done
log "replays to step1..step5 match the model"

# Negative control: step1's state is not step2's.
assert_ne "$(replay_to step1 --zero-discards)" "$exp2" "replay to step1 vs step2 expectation"

# Everything, discards as BLKDISCARD: all but the discarded range match.
zero_region "$rep"
lwr --log "$logd" --replay "$rep" --verbose
[ $rc -eq 0 ] || { cat /tmp/err; fail "full replay: status $rc"; }
assert_eq "$(md5_outside "$rep")" "$(md5_outside /tmp/model)" "full replay with BLKDISCARD"

# An unknown mark, a limit past the end, usage errors: nothing written.
zero_region "$rep"
zeroes=$(md5 "$rep")
lwr --log "$logd" --replay "$rep" --end-mark nosuchmark
assert_eq $rc 1 "unknown mark status"
grep -q "no mark 'nosuchmark'" /tmp/err || fail "unknown mark message: $(cat /tmp/err)"
lwr --log "$logd" --replay "$rep" --limit $((entries + 1))
assert_eq $rc 1 "--limit past the end status"
assert_eq "$(md5 "$rep")" "$zeroes" "target after refused replays"
lwr
assert_eq $rc 2 "no arguments status"
lwr --log "$logd" --bogus
assert_eq $rc 2 "unknown option status"
lwr --log "$logd" --limit 1x
assert_eq $rc 2 "bad --limit status"

# A target smaller than the log's writes, and a target in use.
assert_ok dmsetup create small --table "0 2048 linear $rep 0"
small=$(dm_dev_of small) || exit 1
lwr --log "$logd" --replay "$rep" --end-mark step1
assert_eq $rc 1 "replay onto a busy device"
lwr --log "$logd" --replay "$small" --end-mark step1 --zero-discards
assert_eq $rc 0 "replay to step1 onto 1 MiB"
assert_eq "$(md5sum <"$small" | cut -d' ' -f1)" "$(md5sum </tmp/pA | cut -d' ' -f1)" "1 MiB target content"
dd if=/dev/zero of="$small" bs=64k count=16 conv=fsync 2>/dev/null || fail "zeroing $small"
lwr --log "$logd" --replay "$small" --end-mark step2 --zero-discards
assert_eq $rc 1 "replay past the end of a 1 MiB target"
grep -q "beyond the end" /tmp/err || fail "too small target message: $(cat /tmp/err)"
log "too small target: $(cat /tmp/err)"
assert_eq "$(md5sum <"$small" | cut -d' ' -f1)" \
	"$(dd if=/dev/zero bs=64k count=16 2>/dev/null | md5sum | cut -d' ' -f1)" "1 MiB target after refusal"
assert_ok dmsetup remove small

# --- corrupted copies ----------------------------------------------------------
used=$(lw-replay --log "$logd" | sed 's/.* \([0-9]*\) bytes used$/\1/')
log "log uses $used bytes"
dd if="$logd" of=/tmp/log.img bs="$ss" count=$((used / ss)) 2>/dev/null || fail "copy of the log"
lwr --log /tmp/log.img --replay "$rep" --end-mark step5 --zero-discards
assert_eq $rc 0 "replay from an image of the log"
assert_eq "$(md5 "$rep")" "$exp5" "replay from an image of the log"

zero_region "$rep"
mark1_off=$(awk -v m="$mark1" '$1 == m { print $2 }' /tmp/offsets)

# corrupt WHAT OFFSET BYTES [SIZE]: patch a copy (octal escapes), expect a
# clean refusal with "corrupt log" and an untouched target.
corrupt() {
	cp /tmp/log.img /tmp/bad.img
	# shellcheck disable=SC2059 # $3 holds the escapes to print
	printf "$3" | dd of=/tmp/bad.img bs=1 seek="$2" conv=notrunc 2>/dev/null
	[ -n "${4:-}" ] && truncate -s "$4" /tmp/bad.img
	lwr --log /tmp/bad.img --replay "$rep" --zero-discards
	[ $rc -eq 1 ] || { cat /tmp/err; fail "corrupt $1: status $rc, expected 1"; }
	grep -q "corrupt log" /tmp/err || fail "corrupt $1: message '$(cat /tmp/err)'"
	log "corrupt $1: $(cat /tmp/err)"
	assert_eq "$(md5 "$rep")" "$zeroes" "target after corrupt $1"
}
corrupt "super magic" 0 '\377'
corrupt "super version" 8 '\002'
corrupt "super sectorsize" 24 '\350\003'
corrupt "super nr_entries" 16 '\377\377\377\377'
corrupt "entry 0 nr_sectors" $((ss + 8)) '\377\377\377\377\377\377\377\377'
corrupt "entry 0 nr_sectors past the log" $((ss + 11)) '\001'
corrupt "entry 0 flags" $((ss + 16)) '\100'
corrupt "entry 0 data_len" $((ss + 28)) '\001'
corrupt "mark step1 data_len" $((mark1_off + 24)) '\377\001'
corrupt "mark step1 flags" $((mark1_off + 16)) '\011'
corrupt "truncated log" 0 '\162' $((used / 2))
rm -f /tmp/bad.img /tmp/log.img
log "lw-replay passed"
