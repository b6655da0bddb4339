#!/bin/sh
# Model-checked I/O through three VM devices sharing one pool (vwc-model,
# tests/tools/vwc-model.c): the checker's self-test must catch injected
# corruption; random reads, writes, flushes and discards at unaligned
# offsets are checked against a model of every sector; the model is then
# verified after a table reload and after removing and recreating the pool
# and the VM devices, and more I/O runs on the loaded model.  After a flush
# each VM device holds the same bytes as its origin, a sector changed
# behind the model's back is reported (exit status 1), and the flush
# checkpoints and mark commands of the crash mode line up.
# vwtest-disks: 1x256M 3x64M
# vwtest-timeout: 300
# shellcheck disable=SC1091,SC2086 # guest paths; $devs is a list
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

OPS=20000
MORE_OPS=5000
SEED=50
ssd=$(disk 0)
devs="/dev/mapper/vm1 /dev/mapper/vm2 /dev/mapper/vm3"

command -v vwc-model >/dev/null ||
	fail "vwc-model not in the guest (make -C tests/tools before mkinitramfs)"

create_all() {
	pool_create pool "$ssd" 4096
	vms_create guest 3
}

# model WHAT ARGS...: run vwc-model, fail unless it exits 0; logs the time.
model() {
	_what=$1
	shift
	_t0=$(date +%s)
	vwc-model "$@" >/tmp/model.out 2>&1
	_rc=$?
	cat /tmp/model.out
	[ $_rc -eq 0 ] || fail "$_what: vwc-model exited $_rc"
	log "$_what: ok in $(($(date +%s) - _t0)) s"
}

vw_load_module
zero_head "$ssd"
create_all
# fdatasync sends REQ_PREFLUSH only to a queue with a write cache.
wc=$(cat "/sys/block/dm-$(dmsetup info -c --noheadings -o minor vm1)/queue/write_cache")
log "vm1 write_cache: $wc"

# Usage errors exit 2, not 1.
vwc-model --mix 50,50,5,5 /dev/mapper/vm1 2>/dev/null
assert_eq $? 2 "exit status of a bad --mix"
vwc-model --verify-only /dev/mapper/nonexistent 2>/dev/null
assert_eq $? 2 "exit status for a missing device"
# An I/O error exits 2 and says where.
assert_ok dmsetup create vwerr --table "0 8192 error"
vwc-model --quiet --ops 20 "$(dm_dev_of vwerr)" >/tmp/model.out 2>&1
assert_eq $? 2 "exit status on EIO"
grep -q "I/O error: [a-z]* of /dev/mapper/vwerr (device 0) at offset [0-9]* (sector [0-9]*), length [0-9]* ([0-9]* sectors*): Input/output error" \
	/tmp/model.out || { cat /tmp/model.out; fail "EIO not reported with offset and length"; }
log "$(cat /tmp/model.out)"
assert_ok dmsetup remove vwerr

# The checker catches a stale sector of another offset, a sector of
# another device, an older write and a flipped bit, and judges crash
# states right.  It overwrites the first 8 MiB: zero them again.
model self-test --quiet --self-test /dev/mapper/vm3
grep -q "^self-test: PASS" /tmp/model.out || fail "self-test did not pass"
dd if=/dev/zero of=/dev/mapper/vm3 bs=1M count=8 conv=fsync 2>/dev/null ||
	fail "zeroing vm3 after the self-test"

# Random I/O on the three devices at once, every read checked.
model "$OPS ops" --ops "$OPS" --seed "$SEED" --threads 3 --initial-zero \
	--crash-check --state /tmp/m1.state --report $devs
log "$(grep -E '^(ops|seconds|ops-per-second|mib-per-second):' /tmp/model.out | tr -s ' ' | tr '\n' ' ')"
grep -q "^mismatches: *0 " /tmp/model.out || fail "mismatches reported"
[ "$(awk '/^sectors-verified:/ { print $2 }' /tmp/model.out)" -gt 0 ] ||
	fail "no sector was verified"
[ "$(awk '/^flushes:/ { print $2 }' /tmp/model.out)" -gt 0 ] ||
	fail "no flush was issued"

# A table reload (suspend, resume) loses nothing.
for i in 1 2 3; do
	tbl=$(dmsetup table "vm$i")
	assert_ok dmsetup reload "vm$i" --table "$tbl"
	assert_ok dmsetup suspend "vm$i"
	assert_ok dmsetup resume "vm$i"
done
model "verify after reload" --quiet --load /tmp/m1.state --verify-only $devs

# Nor does removing and recreating the pool and the VM devices.
remove_all 3
create_all
model "verify after recreate" --load /tmp/m1.state --verify-only --report \
	$devs
grep -q "^mismatches: *0 " /tmp/model.out || fail "mismatches reported"

# More I/O on the loaded model, then everything read back once more.
model "$MORE_OPS more ops" --quiet --load /tmp/m1.state --ops "$MORE_OPS" \
	--seed $((SEED + 1)) --threads 3 --state /tmp/m2.state $devs
# The crash check of a cleanly written device passes too; it saves the
# model resolved to what was found (no writes pending since a flush).
model "final verify" --quiet --load /tmp/m2.state --verify-only \
	--crash-check --state /tmp/m3.state $devs
grep -q '^pend ' /tmp/m3.state && fail "pending writes left after a crash check"

# After a flush, each VM device and its origin hold the same bytes.
for i in 1 2 3; do
	assert_ok dmsetup message "vm$i" 0 flush
	a=$(md5sum </dev/mapper/vm$i)
	b=$(md5sum <"$(disk "$i")")
	assert_eq "$a" "$b" "vm$i and its origin after flush"
done

# A sector changed behind the model's back: exit 1 and a report of it.
run=$(grep -m 1 '^run 1 [0-9]* [0-9]* [0-9a-f]*$' /tmp/m3.state)
[ -n "$run" ] || fail "no written extent of device 1 in the state"
sec=$(echo "$run" | cut -d' ' -f3)
dd if=/dev/zero of=/dev/mapper/vm2 bs=512 seek="$sec" count=1 conv=notrunc,fsync \
	2>/dev/null || fail "zeroing sector $sec of vm2"
vwc-model --quiet --load /tmp/m3.state --verify-only $devs >/tmp/model.out 2>&1
rc=$?
cat /tmp/model.out
assert_eq $rc 1 "exit status with a zeroed sector"
grep -q "^MISMATCH: /dev/mapper/vm2 (device 1) sector $sec .*1 sector: expected write .*, found zeros" \
	/tmp/model.out || fail "the zeroed sector $sec was not reported as such"

# Checkpoints and marks on a fresh model of vm1 alone: the mark command
# copies vm1 at flush 5; that copy passes against checkpoint 5 (crash and
# strict) and fails against the final model, which has later writes.
rm -f /tmp/marks
model checkpoints --quiet --ops 400 --seed $((SEED + 2)) --mix 40,50,10,0 \
	--checkpoint-dir /tmp/ck --state /tmp/c.state --report \
	--mark-cmd 'echo %d >>/tmp/marks; [ %d != 5 ] || dd if=/dev/mapper/vm1 of=/tmp/snap5 bs=1M iflag=direct 2>/dev/null' \
	/dev/mapper/vm1
flushes=$(awk '/^flushes:/ { print $2 }' /tmp/model.out)
[ "$flushes" -ge 5 ] || fail "only $flushes flushes"
assert_eq "$(wc -l </tmp/marks)" "$flushes" "mark commands run"
assert_eq "$(tail -n 1 /tmp/marks)" "$flushes" "last flush index"
assert_eq "$(find /tmp/ck -name 'flush-*.state' | wc -l)" "$flushes" "checkpoint files"
assert_eq "$(grep -c '^flush ' /tmp/c.state)" "$flushes" "flush points in the state"
model "copy at flush 5, crash check" --quiet --load /tmp/ck/flush-000005.state \
	--verify-only --crash-check /tmp/snap5
model "copy at flush 5, strict" --quiet --load /tmp/ck/flush-000005.state \
	--verify-only /tmp/snap5
vwc-model --quiet --load /tmp/c.state --verify-only --crash-check /tmp/snap5 \
	>/tmp/model.out 2>&1
assert_eq $? 1 "copy at flush 5 against the final model"
rm -rf /tmp/snap5 /tmp/ck

remove_all 3
log "model checks passed"
