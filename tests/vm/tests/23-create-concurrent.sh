#!/bin/sh
# A pool being created (its cache device formatted or its metadata read:
# I/O that grows with the pool) holds up no other pool or VM device
# (admin guide, "Table errors"; issue 17: the registry lock is not held
# across the whole scan).  Pool 1's SSD is a dm-linear device suspended
# before pool 1's table is loaded, so that load waits in its first read
# for as long as the test wants.  Meanwhile pool 2, on another disk, is
# created, a VM device is attached to it and written; a second pool on
# pool 1's cache device is refused at once.  Then the SSD resumes
# and pool 1 comes up, formatted.  The module at 831ee1d held the registry
# lock across the load: pool 2's creation waited for pool 1's SSD.
# vwtest-disks: 1x64M 1x64M 1x64M
# vwtest-timeout: 180
# shellcheck disable=SC1091 # guest paths
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

d1=$(disk 0)
d2=$(disk 1)
origin=$(disk 2)
WAIT=30 # seconds a create may take while pool 1's SSD is suspended

# done_within SECONDS FILE: FILE (a command's exit status) appears in time.
done_within() {
	_i=0
	while [ ! -s "$2" ] && [ $_i -lt $(($1 * 5)) ]; do
		sleep 0.2
		_i=$((_i + 1))
	done
	[ -s "$2" ]
}
# refused_at_once NAME TABLE TEXT: the table load fails in time, with TEXT
# in the kernel's reason.
refused_at_once() {
	_n=$(dmesg | wc -l)
	rm -f /tmp/rc
	(dmsetup create "$1" --table "$2" 2>/dev/null; echo $? >/tmp/rc) &
	done_within $WAIT /tmp/rc ||
		fail "$1 waited for pool 1's load (the registry lock held across it)"
	[ "$(cat /tmp/rc)" != 0 ] || fail "$1 accepted"
	_log_since "$_n" | grep -qF -- "$3" ||
		fail "$1: no '$3' in the kernel's reason: $(_log_since "$_n" | tail -n 2)"
	dmsetup remove "$1" 2>/dev/null || true
}

vw_load_module
zero_head "$d1"
zero_head "$d2"
dmsetup create s1 --table "0 $(sectors "$d1") linear $d1 0" || fail "create s1"
dmsetup suspend s1 || fail "suspend s1"
rm -f /tmp/p1.rc
(dmsetup create p1 --table "0 $(sectors /dev/mapper/s1) vwcache-pool /dev/mapper/s1 4096 0"
	echo $? >/tmp/p1.rc) &
# The dm device exists before its table loads; give the load time to
# reach its first read of the suspended SSD.
i=0
while ! dmsetup info p1 >/dev/null 2>&1 && [ $i -lt 50 ]; do
	sleep 0.2
	i=$((i + 1))
done
dmsetup info p1 >/dev/null 2>&1 || fail "p1 never appeared"
sleep 2
[ ! -s /tmp/p1.rc ] || fail "p1 created while its SSD is suspended: $(cat /tmp/p1.rc)"

rm -f /tmp/p2.rc
(dmsetup create p2 --table "0 $(sectors "$d2") vwcache-pool $d2 4096 0"
	echo $? >/tmp/p2.rc) &
done_within $WAIT /tmp/p2.rc ||
	fail "pool 2's creation waited for pool 1's load (the registry lock held across it)"
assert_eq "$(cat /tmp/p2.rc)" 0
vm_create v2 p2 "$origin" vm-two
head -c $((16 * 4096)) /dev/urandom >/tmp/data
dd if=/tmp/data of=/dev/mapper/v2 bs=4096 oflag=direct 2>/dev/null || fail "write v2"
assert_eq "$(field 4 v2)" 16
log "while pool 1 loads: pool 2 created, v2 attached and written (16 dirty blocks)"

refused_at_once p3 "0 $(sectors /dev/mapper/s1) vwcache-pool /dev/mapper/s1 4096 0" \
	"Cache device is already used by another pool"
[ ! -s /tmp/p1.rc ] || fail "p1 finished while its SSD is suspended"
log "while pool 1 loads: a second pool on its cache device refused at once"

dmsetup resume s1 || fail "resume s1"
done_within $WAIT /tmp/p1.rc || fail "p1 not created after its SSD resumed"
assert_eq "$(cat /tmp/p1.rc)" 0
assert_eq "$(field 1 p1)" ok
dmsetup remove v2 || fail "remove v2"
dmsetup remove p2 || fail "remove p2"
dmsetup remove p1 || fail "remove p1"
dmsetup remove s1 || fail "remove s1"
log "ok"
