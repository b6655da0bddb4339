#!/bin/sh
# 66-bounded-waits: a write that waits for the writeback of a dirty block
# (writethrough mode) while that writeback cannot succeed must end, and
# suspend and removal never hang behind it (issue 15, item 7).
#  A. The SSD cannot read the VM's dirty blocks (the data area of its leg
#     switched to the error target), the origin is healthy:
#     a. a whole-block write to a dirty block completes at once (it
#        supersedes the block), reads back right, and is on the origin;
#     b. a 512-byte write to another dirty block fails with EIO after the
#        documented 30 s (not before), and the kernel log names the VM;
#     c. while such a write waits: "dmsetup suspend" ends within the 30 s
#        (plus slack), "dmsetup suspend --noflush" at once (the write is
#        requeued and waits again after resume), "dmsetup remove --force"
#        within the 30 s;
#     once the SSD is back, the dirty blocks the failed writes did not
#     change are written back unchanged.
#  B. The origin fails every write (dm-flakey error_writes): a whole-block
#     write to a dirty block ends at once (with the origin's error), a
#     512-byte write fails with EIO after the 30 s; once the origin is
#     back, the dirty block is written back.
# make check runs A.a, A.b and the noflush suspend of A.c (its requeued
# write then ends when the SSD comes back); kernel parameter vwfull=1 (make
# check-full) all of it: each further case waits the 30 s.
# Each wait runs under a watchdog that heals the legs and fails the test,
# so that the test never hangs.  Before the fix, A.a waited forever (as
# long as the SSD failed), and so did b and the suspends and removal.
# vwtest-disks: 1x16M 1x16M
# vwtest-timeout: 480
# vwtest-exclusive: yes
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
vw_load_module
. /lib/vwcache/lib-legs.sh

DEADLINE=30			# the documented bound (admin guide)
FULL=0
if grep -qw vwfull=1 /proc/cmdline || [ "${VW_FULL:-0}" = 1 ]; then
	FULL=1
fi
SLACK=$(scaled 15)

# heal: both legs healthy again (what waits can end).
heal() {
	ssd_leg whole
	origin_leg linear
}

# bounded SECONDS WHAT CMD...: run CMD; unless it ends within SECONDS,
# heal the legs, wait for it and fail with WHAT.  Returns CMD's status;
# ELAPSED: the seconds it took.
bounded() {
	_secs=$1 _what=$2
	shift 2
	rm -f /tmp/bounded.rc
	_t0=$(date +%s)
	( ("$@"); echo $? >/tmp/bounded.rc ) &
	_pid=$!
	_n=0
	while [ ! -s /tmp/bounded.rc ]; do
		_n=$((_n + 1))
		if [ $_n -gt $((_secs * 10)) ]; then
			log "$_what: still waiting after $_secs s; healing the legs"
			heal
			wait "$_pid"
			fail "$_what did not end within $_secs s"
		fi
		sleep 0.1
	done
	wait "$_pid"
	ELAPSED=$(($(date +%s) - _t0))
	return "$(cat /tmp/bounded.rc)"
}

# partial BLOCK TAG: a 512-byte O_DIRECT write into BLOCK (its second
# sector); fio's output in /tmp/fio.TAG.
partial() {
	fio --name=p --filename=/dev/mapper/vm --direct=1 --rw=write --bs=512 \
		--size=512 --offset=$(($1 * 4096 + 512)) --invalidate=0 \
		--buffer_pattern='"partial"' >/tmp/fio."$2" 2>&1
}

# partial_eio BLOCK WHAT: partial write to BLOCK fails with EIO after the
# deadline, not before, and the kernel log says why.
partial_eio() {
	_l=$(dmesg | wc -l)
	if bounded $((DEADLINE + SLACK)) "$2" partial "$1" "$1"; then
		fail "$2: the write succeeded"
	fi
	grep -qi 'input/output error' /tmp/fio."$1" ||
		{ cat /tmp/fio."$1"; fail "$2: failed, but not with EIO"; }
	[ "$ELAPSED" -ge $((DEADLINE - 1)) ] ||
		fail "$2: EIO after $ELAPSED s, before the documented $DEADLINE s"
	_log_since "$_l" | grep -q 'guest-66.*writeback' ||
		{ dmesg | tail -n 20; fail "$2: the kernel log does not say why"; }
	log "$2: EIO after $ELAPSED s"
}

# waiting BLOCK TAG: a partial write to BLOCK in the background, which
# must wait; its status goes to /tmp/w.TAG once it ends.
waiting() {
	rm -f /tmp/w."$2"
	( (partial "$1" "$2"); echo $? >/tmp/w."$2" ) &
	sleep 1
	[ ! -e /tmp/w."$2" ] || { cat /tmp/fio."$2"; fail "write to block $1 did not wait"; }
}

# waited TAG: wait for the write of waiting TAG to end; its status.
waited() {
	until [ -s /tmp/w."$1" ]; do sleep 0.1; done
	return "$(cat /tmp/w."$1")"
}

up() {
	pool_create pool /dev/mapper/ssdleg 4096 max_age 0 high_watermark 95
	vm_create vm pool /dev/mapper/oleg guest-66
}

heal
up
S=$(sectors /dev/mapper/ssdleg)
NB=$(field 3 pool)
DS=$((S - NB * 8))

# ---- A: the SSD cannot read the dirty blocks --------------------------------
for b in 0 1 2 3; do put $b "dirty $b"; done
assert_eq "$(field 4 vm)" 4 "dirty blocks"
leg_table ssdleg "0 $DS linear $ssd 0\n$DS $((S - DS)) error\n"
assert_ok dmsetup message vm 0 set mode writethrough
wait_state vm error 10 "writeback with the SSD data area failing"
[ "$(field 4 vm)" = 4 ] || fail "dirty blocks with the SSD failing: $(dmsetup status vm)"

bounded 10 "A.a: a whole-block write to a dirty block" put 0 "whole 0" ||
	fail "A.a: the whole-block write failed"
log "A.a: whole-block write over a dirty block done in $ELAPSED s"
expect 0 "whole 0" "A.a: read back"
assert_eq "$(field 4 vm)" 3 "A.a: dirty blocks after the whole-block write"
flush_dev /dev/mapper/vm || fail "A.a: flush"
[ "$(raw 0)" = "whole 0" ] || fail "A.a: the origin has '$(raw 0)' at block 0"

partial_eio 1 "A.b: a 512-byte write to a dirty block"

if [ $FULL = 1 ]; then
	waiting 2 c1
	bounded $((DEADLINE + SLACK)) "A.c: dmsetup suspend" dmsetup suspend vm ||
		fail "A.c: suspend failed"
	log "A.c: suspend ended after $ELAPSED s"
	assert_ok dmsetup resume vm
	bounded $((DEADLINE + SLACK)) "A.c: the write behind the suspend" waited c1 &&
		fail "A.c: the write behind the suspend succeeded"
fi

waiting 3 c2
bounded 5 "A.c: dmsetup suspend --noflush" dmsetup suspend --noflush vm ||
	fail "A.c: noflush suspend failed"
log "A.c: noflush suspend ended after $ELAPSED s"
assert_ok dmsetup resume vm
[ ! -e /tmp/w.c2 ] || fail "A.c: the write requeued by the noflush suspend ended"
if [ $FULL = 1 ]; then
	bounded $((DEADLINE + SLACK)) "A.c: the requeued write" waited c2 &&
		fail "A.c: the requeued write succeeded"

	waiting 2 c3
	bounded $((DEADLINE + SLACK)) "A.c: dmsetup remove --force" dmsetup remove --force vm
	log "A.c: remove --force ended after $ELAPSED s (status $?)"
	bounded $((DEADLINE + SLACK)) "A.c: the write behind the removal" waited c3 &&
		fail "A.c: the write behind the removal succeeded"
	dmsetup info vm >/dev/null 2>&1 && { dmsetup remove vm || fail "A.c: remove after remove --force"; }
else
	# The SSD back: the requeued write waits no more.
	ssd_leg whole
	bounded 20 "A.c: the requeued write, the SSD back" waited c2 ||
		fail "A.c: the requeued write failed with the SSD back"
	dmsetup remove vm || fail "A.c: remove"
fi

# The SSD back: the dirty blocks the failed writes did not change.
ssd_leg whole
vm_create vm pool /dev/mapper/oleg guest-66
assert_ok dmsetup message vm 0 flush
wait_clean vm 60
for b in 1 2 3; do
	[ "$(raw $b)" = "dirty $b" ] || fail "A: the origin has '$(raw $b)' at block $b"
done
expect 0 "whole 0" "A: block 0 at the end"

# ---- B: the origin fails every write ----------------------------------------
assert_ok dmsetup message vm 0 set mode writeback
for b in 10 11; do put $b "dirty $b"; done
leg_table oleg "0 $(sectors "$origin") flakey $origin 0 0 86400 1 error_writes\n"
assert_ok dmsetup message vm 0 set mode writethrough
wait_state vm error 10 "writeback with the origin failing"
# It goes to the origin, which fails it: it must end, that is all.
whole_10() {
	printf 'whole 10\n' | dd of=/dev/mapper/vm bs=4096 seek=10 conv=sync \
		oflag=direct 2>/dev/null
}
bounded 10 "B: a whole-block write to a dirty block" whole_10
log "B: whole-block write over a dirty block ended in $ELAPSED s (status $?)"
[ $FULL = 1 ] && partial_eio 11 "B: a 512-byte write to a dirty block"
origin_leg linear
assert_ok dmsetup message vm 0 flush
wait_clean vm 60
[ "$(raw 11)" = "dirty 11" ] || fail "B: the origin has '$(raw 11)' at block 11"
put 10 "again 10"
expect 10 "again 10" "B: block 10 rewritten"
assert_eq "$(field 1 pool)" ok "pool state at the end"

dmsetup remove vm pool ssdleg oleg || fail "removing the devices"
log "waits for a failing writeback are bounded"
