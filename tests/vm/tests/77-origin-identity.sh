#!/bin/sh
# Origin identity (Documentation/admin-guide/dm-vwcache.rst, "Origin
# identity"): vm_id X has 16 dirty blocks on origin A (a dm device with a
# UUID); its VM device is removed without a flush, the pool removed and
# loaded again (the record comes from the cache device).  Attaching X to
# origin B is refused with "origin" in the kernel's reason, as is
# attaching it to A resized; nothing is written (A's and B's checksums,
# the pool's free and dirty counts unchanged).  X on A through another
# path (/dev/dm-N instead of /dev/mapper/NAME) is accepted and reads its
# data.  The pool message drop_dirty is refused while X is attached and
# for bad input; once X is detached it discards the 16 blocks (never
# written to A) and X attaches to B.  Finally dmcache-ctl pool-status
# lists an orphan (a vm_id with dirty data and no VM device) with its
# dirty bytes and origin identity.
#
# The module before the feature (339b74d, VW_MODULE=...) accepted the
# attach of X to B and, on flush, wrote X's 16 dirty blocks into B: this
# test fails there at "attach of X to B" and says how many blocks of B
# the flush changed.
# Then origins of kind path (reloaded through major:minor) and part-uuid
# (two MBR partitions: refused on the other one, named by pool-status and
# check-origin through a by-partuuid link, attached by it), and a pool of
# the layout before the attachment table (it loads and keeps its dirty
# data; check says "attachment table: none").
# vwtest-disks: 1x128M 1x64M 1x64M
# vwtest-timeout: 240
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
diska=$(disk 1)
diskb=$(disk 2)
X=guest-x.vda

sum() { md5sum | cut -d' ' -f1; }
sum_of() { dd if="$1" bs=1M iflag=direct 2>/dev/null | sum; }
wr() { # FILE DEV FIRST_BLOCK
	dd if="$1" of="$2" bs=4096 seek="$3" oflag=direct conv=notrunc,fsync \
		2>/dev/null || fail "write $1 to $2 at block $3"
}
rd() { # DEV FIRST_BLOCK COUNT
	dd if="$1" bs=4096 skip="$2" count="$3" iflag=direct 2>/dev/null
}
# pool_counts: the pool's free and dirty blocks.
pool_counts() { echo "$(field 4 pool) $(field 5 pool)"; }
# changed_blocks FILE DEV: how many 4 KiB blocks of DEV differ from FILE.
changed_blocks() {
	cmp -l "$1" "$2" 2>/dev/null | awk '{ print int(($1 - 1) / 4096) }' |
		uniq | wc -l
}
origin_table() { # NAME DISK [SECTORS]
	echo "0 ${3:-$(sectors "$2")} linear $2 0"
}
vm_table() { # ORIGIN_PATH
	echo "0 $(sectors "$1") vwcache /dev/mapper/pool $1 $X 0"
}
kernel_says() { # LINE_BEFORE TEXT: the kernel log since then has TEXT
	_log_since "$1" | grep -qF -- "$2"
}

vw_load_module
zero_head "$ssd"
dmsetup create oa -u VWTEST-ORIGIN-A --table "$(origin_table oa "$diska")" ||
	fail "create oa"
dmsetup create ob -u VWTEST-ORIGIN-B --table "$(origin_table ob "$diskb")" ||
	fail "create ob"
A=$(dm_dev_of oa)
B=$(dm_dev_of ob)
pool_create pool "$ssd" 4096 max_age 0

# ---- X gets 16 dirty blocks on A, and goes without a flush -------------
head -c $((16 * 4096)) /dev/urandom >/tmp/x
vm_create vm1 pool "$A" "$X"
wr /tmp/x /dev/mapper/vm1 8
assert_eq "$(field 4 vm1)" 16
dmsetup remove vm1 || fail "remove vm1"
# The record keeps a digest; the kernel log the string, size and path.
dmesg | grep -qF "vm_id $X: origin dm-uuid VWTEST-ORIGIN-A ($(sectors "$diska") sectors) by $A recorded" ||
	fail "no origin recorded in the kernel log: $(dmesg | grep -F "$X" | tail -n 2)"
dmsetup remove pool || fail "remove pool"
pool_create pool "$ssd" 4096 max_age 0
assert_eq "$(field 5 pool)" 16
log "X: 16 dirty blocks of A in the pool; pool: $(dmsetup status pool)"

dd if="$A" of=/tmp/a0 bs=1M iflag=direct 2>/dev/null
dd if="$B" of=/tmp/b0 bs=1M iflag=direct 2>/dev/null
suma=$(sum </tmp/a0)
sumb=$(sum </tmp/b0)
counts=$(pool_counts)

# ---- X on B: refused, nothing written ----------------------------------
n=$(dmesg | wc -l)
if dmsetup create vm1 --table "$(vm_table "$B")" 2>/dev/null; then
	log "OLD BEHAVIOUR: attach of X to B accepted: $(dmsetup status vm1)"
	dmsetup message vm1 0 flush
	wait_clean vm1
	dmsetup remove vm1
	log "OLD BEHAVIOUR: after flush $(changed_blocks /tmp/b0 "$B") blocks of B changed, $(changed_blocks /tmp/a0 "$A") of A"
	fail "attach of X to B accepted"
fi
dmsetup info vm1 >/dev/null 2>&1 && fail "vm1 left behind by a refused create"
kernel_says "$n" origin || fail "no 'origin' in the refusal: $(_log_since "$n" | tail -n 3)"
kernel_says "$n" "$X" || fail "the refusal does not name $X"
log "refused: $(_log_since "$n" | grep -F origin | tail -n 1)"
assert_eq "$(pool_counts)" "$counts"
assert_eq "$(sum_of "$B")" "$sumb"
assert_eq "$(sum_of "$A")" "$suma"

# ---- X on A resized: refused --------------------------------------------
small=$(($(sectors "$diska") - 8192))
{ dmsetup reload oa --table "$(origin_table oa "$diska" "$small")" &&
	dmsetup resume oa; } || fail "shrink oa"
n=$(dmesg | wc -l)
if dmsetup create vm1 --table "0 $small vwcache /dev/mapper/pool $A $X 0" 2>/dev/null; then
	dmsetup remove vm1
	fail "attach of X to A resized accepted"
fi
kernel_says "$n" "another size" || fail "resized origin: $(_log_since "$n" | tail -n 3)"
assert_eq "$(pool_counts)" "$counts"
{ dmsetup reload oa --table "$(origin_table oa "$diska")" &&
	dmsetup resume oa; } || fail "grow oa back"
assert_eq "$(sum_of "$A")" "$suma"

# ---- X on A by another path: accepted, its data intact -------------------
dmpath=/dev/$(basename "$(readlink -f "$A")")
case $dmpath in /dev/dm-*) ;; *) dmpath=/dev/dm-$(dmsetup info -c --noheadings -o minor oa) ;; esac
[ -b "$dmpath" ] || fail "no $dmpath"
dmsetup create vm1 --table "$(vm_table "$dmpath")" ||
	fail "attach of X to A as $dmpath refused: $(dmesg | tail -n 2)"
assert_eq "$(field 4 vm1)" 16
assert_eq "$(rd /dev/mapper/vm1 8 16 | sum)" "$(sum </tmp/x)"
log "X on A as $dmpath: accepted, 16 dirty blocks read back"

# ---- drop_dirty ----------------------------------------------------------
n=$(dmesg | wc -l)
expect_msg_refused pool drop_dirty "$X"
kernel_says "$n" "attached" || fail "drop_dirty while attached: $(_log_since "$n" | tail -n 2)"
expect_msg_refused pool drop_dirty
expect_msg_refused pool drop_dirty "$X" extra
expect_msg_refused pool drop_dirty no-such-vm
expect_msg_refused pool drop_dirty 'bad id'
assert_eq "$(field 4 vm1)" 16
dmsetup remove vm1 || fail "remove vm1"
assert_eq "$(pool_counts)" "$counts"

# ---- an orphan in pool-status ------------------------------------------
dmcache-ctl pool-status pool >/tmp/ps 2>/tmp/err || fail "pool-status: $(cat /tmp/err)"
log "pool-status: $(grep -A2 orphan /tmp/ps)"
grep -q "orphans *1" /tmp/ps || fail "pool-status shows no orphan: $(cat /tmp/ps)"
grep -F "$X" /tmp/ps | grep -F "65536 dirty bytes" | grep -F "dm-uuid" |
	grep -q "$(sectors "$diska") sectors" || fail "orphan line: $(cat /tmp/ps)"
grep -q "VWTEST-ORIGIN-A" /tmp/ps || fail "orphan's origin not resolved: $(cat /tmp/ps)"
dmcache-ctl pool-status pool --json >/tmp/ps.json || fail "pool-status --json"
grep -q '"orphans"' /tmp/ps.json || fail "no orphans in the JSON: $(cat /tmp/ps.json)"

assert_ok dmsetup message pool 0 drop_dirty "$X"
assert_eq "$(field 5 pool)" 0
assert_eq "$(sum_of "$A")" "$suma"
dmcache-ctl pool-status pool >/tmp/ps || fail "pool-status"
grep -q "orphans *0" /tmp/ps || fail "orphan left after drop_dirty: $(cat /tmp/ps)"
# Durable: the pool loaded again has nothing of X.
dmsetup remove pool || fail "remove pool"
pool_create pool "$ssd" 4096 max_age 0
assert_eq "$(field 5 pool)" 0
expect_msg_refused pool drop_dirty "$X"

# ---- after drop_dirty, X attaches to B -----------------------------------
dmsetup create vm1 --table "$(vm_table "$B")" ||
	fail "attach of X to B after drop_dirty refused: $(dmesg | tail -n 2)"
assert_eq "$(field 3 vm1)" 0
assert_eq "$(rd /dev/mapper/vm1 8 16 | sum)" \
	"$(dd if=/tmp/b0 bs=4096 skip=8 count=16 2>/dev/null | sum)"
wr /tmp/x /dev/mapper/vm1 8
dmsetup remove vm1 || fail "remove vm1"
assert_eq "$(sum_of "$A")" "$suma"
# Now X's dirty blocks are B's: A is refused, B accepted.
n=$(dmesg | wc -l)
if dmsetup create vm1 --table "$(vm_table "$A")" 2>/dev/null; then
	dmsetup remove vm1
	fail "attach of X to A accepted with B's dirty blocks"
fi
kernel_says "$n" origin || fail "no 'origin' in the refusal"
vm_create vm1 pool "$B" "$X"
assert_ok dmsetup message vm1 0 flush
wait_clean vm1
assert_eq "$(rd "$B" 8 16 | sum)" "$(sum </tmp/x)"
dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"

# ---- a pool formatted by the module before the feature -------------------
# (VW_OLD_MODULE=.../{KVER}/dm-vwcache.ko of 339b74d ships it.)  Its
# records say "origin not known": loaded by this module, its dirty blocks
# attach to their origin, and from that attach on the record knows it.
if [ -f /lib/vwcache/dm-vwcache-old.ko ]; then
	vw_unload_module
	insmod /lib/vwcache/dm-vwcache-old.ko || fail "insmod the old module"
	zero_head "$ssd"
	pool_create pool "$ssd" 4096 max_age 0
	vm_create vm2 pool "$A" guest-y.vda
	wr /tmp/x /dev/mapper/vm2 100
	assert_eq "$(field 4 vm2)" 16
	dmsetup remove vm2 || fail "remove vm2"
	dmsetup remove pool || fail "remove pool"
	vw_unload_module
	vw_load_module
	pool_create pool "$ssd" 4096 max_age 0
	assert_eq "$(field 5 pool)" 16
	dmcache-ctl pool-status pool >/tmp/ps || fail "pool-status"
	grep -F guest-y.vda /tmp/ps | grep -q "origin unknown" ||
		fail "old record: $(cat /tmp/ps)"
	vm_create vm2 pool "$dmpath" guest-y.vda
	assert_eq "$(rd /dev/mapper/vm2 100 16 | sum)" "$(sum </tmp/x)"
	dmsetup remove vm2 || fail "remove vm2"
	sumb=$(sum_of "$B")
	n=$(dmesg | wc -l)
	if dmsetup create vm2 --table "0 $(sectors "$B") vwcache /dev/mapper/pool $B guest-y.vda 0" 2>/dev/null; then
		dmsetup remove vm2
		fail "old pool: attach of guest-y.vda to B accepted after it attached to A"
	fi
	kernel_says "$n" origin || fail "old pool: no 'origin' in the refusal"
	assert_eq "$(sum_of "$B")" "$sumb"
	vm_create vm2 pool "$A" guest-y.vda
	assert_ok dmsetup message vm2 0 flush
	wait_clean vm2
	assert_eq "$(rd "$A" 100 16 | sum)" "$(sum </tmp/x)"
	dmsetup remove vm2 || fail "remove vm2"
	dmsetup remove pool || fail "remove pool"
	log "pool of the old module: loaded, 16 dirty blocks attached to A, then B refused"
else
	log "no /lib/vwcache/dm-vwcache-old.ko (VW_OLD_MODULE unset): old pool part skipped"
fi
dmsetup remove oa
dmsetup remove ob

# ---- An origin of kind path: the table line's /dev/vdX and the
# major:minor that "dmsetup table" re-emits name one origin, so a reload
# changes no identity and the vm_id attaches by path again (50-model's
# reload failed the recreate before the kind was the kernel's name) ----
Z=guest-z.vda
pool_create pool "$ssd" 4096 max_age 0
ztable="0 $(sectors "$diskb") vwcache /dev/mapper/pool $diskb $Z 0"
dmsetup create vm3 --table "$ztable" || fail "create vm3 on $diskb"
head -c $((8 * 4096)) /dev/urandom >/tmp/z
wr /tmp/z /dev/mapper/vm3 0
tbl=$(dmsetup table vm3)
assert_ok dmsetup reload vm3 --table "$tbl"
assert_ok dmsetup suspend vm3
assert_ok dmsetup resume vm3
dmesg | grep -qF "vm_id $Z: origin path /dev/${diskb#/dev/} (" ||
	fail "no path origin recorded as /dev/${diskb#/dev/}: $(dmesg | grep -F "$Z" | tail -n 2)"
dmsetup remove vm3 || fail "remove vm3"
n=$(dmesg | wc -l)
dmsetup create vm3 --table "$ztable" ||
	fail "$Z refused on its own origin after a reload through major:minor: $(_log_since "$n" | tail -n 2)"
assert_eq "$(rd /dev/mapper/vm3 0 8 | sum)" "$(sum </tmp/z)"
dmsetup remove vm3 || fail "remove vm3 again"
dmsetup remove pool || fail "remove pool"
log "path origin: reload through $(echo "$tbl" | awk '{ print $5 }'), then attach by $diskb: accepted, data intact"

# ---- An origin of kind part-uuid: two MBR partitions of one size on
# disk A (disk signature 1234abcd: PARTUUIDs 1234abcd-01 and -02).  P's
# dirty blocks on partition 1 are refused on partition 2; the by-partuuid
# link that udev would make (made here: the guest has no udev) lets
# pool-status and check-origin name the partition, and P attaches by it.
le32() { # N: 4 bytes, little endian
	_v=$1
	for _i in 1 2 3 4; do
		printf "\\$(printf %03o $((_v & 255)))"
		_v=$((_v >> 8))
	done
}
put() { # OFFSET: stdin at byte OFFSET of /tmp/mbr
	dd of=/tmp/mbr bs=1 seek="$1" conv=notrunc 2>/dev/null
}
part_entry() { # START SECTORS: an MBR entry of type 0x83
	printf '\000\000\000\000\203\000\000\000'
	le32 "$1"
	le32 "$2"
}
P=guest-p.vda
dd if=/dev/zero of=/tmp/mbr bs=512 count=1 2>/dev/null
le32 $((0x1234abcd)) | put 440
part_entry 2048 32768 | put 446
part_entry 34816 32768 | put 462
printf '\125\252' | put 510
dd if=/tmp/mbr of="$diska" bs=512 conv=notrunc,fsync 2>/dev/null || fail "write the MBR"
/sbin/blockdev --rereadpt "$diska" || fail "re-read the partition table of $diska"
p1=${diska}1
p2=${diska}2
[ -b "$p1" ] && [ -b "$p2" ] || fail "no partitions $p1 $p2 after the MBR"
pool_create pool "$ssd" 4096 max_age 0
n=$(dmesg | wc -l)
vm_create vm4 pool "$p1" "$P"
kernel_says "$n" "vm_id $P: origin part-uuid 1234abcd-01 (32768 sectors) by $p1 recorded" ||
	fail "no part-uuid identity for $p1: $(_log_since "$n" | tail -n 2)"
wr /tmp/z /dev/mapper/vm4 0
dmsetup remove vm4 || fail "remove vm4"
sum2=$(sum_of "$p2")
n=$(dmesg | wc -l)
if dmsetup create vm4 --table "0 32768 vwcache /dev/mapper/pool $p2 $P 0" 2>/dev/null; then
	dmsetup remove vm4
	fail "$P's dirty blocks of partition 1 accepted on partition 2"
fi
kernel_says "$n" "origin" || fail "partition 2: no 'origin' in the refusal"
assert_eq "$(sum_of "$p2")" "$sum2"
mkdir -p /dev/disk/by-partuuid
ln -sf "$p1" /dev/disk/by-partuuid/1234abcd-01
ln -sf "$p2" /dev/disk/by-partuuid/1234abcd-02
dmcache-ctl pool-status pool >/tmp/ps || fail "pool-status"
grep -F "$P:" /tmp/ps | grep -qF "origin part-uuid 1234abcd-01, 32768 sectors" ||
	fail "pool-status: $(grep -F "$P" /tmp/ps)"
grep -F "$P:" /tmp/ps | grep -qF "last attached by $p1" ||
	fail "pool-status, path last used: $(grep -F "$P" /tmp/ps)"
dmcache-ctl check-origin "$p1" 2>/dev/null && fail "check-origin $p1: exit 0"
dmcache-ctl check-origin "$p2" || fail "check-origin $p2: not 0"
dmcache-ctl attach pool /dev/disk/by-partuuid/1234abcd-01 "$P" --name vm4 ||
	fail "attach $P by its by-partuuid link"
assert_eq "$(rd /dev/mapper/vm4 0 8 | sum)" "$(sum </tmp/z)"
dmcache-ctl detach vm4 || fail "detach vm4"
assert_eq "$(rd "$p1" 0 8 | sum)" "$(sum </tmp/z)"
dmsetup remove pool || fail "remove pool"
log "part-uuid origin: refused on the other partition, pool-status and check-origin name 1234abcd-01, attached by its link"

# ---- A dm origin that gains a UUID: its preferred identity changes while
# it stays the same device, as a raw NVMe namespace's does between Linux
# 6.1 (no NVMe unique id: kind path) and 6.12 (kind disk-id).  Q's dirty
# blocks recorded by dm-name still attach to it after "dmsetup rename
# --setuuid", and the record moves to dm-uuid.  (The module at 3ae092d
# refused: "dirty blocks of another origin".)
Q=guest-q.vda
dmsetup create oq --table "$(origin_table oq "$diskb")" || fail "create oq"
pool_create pool "$ssd" 4096 max_age 0
n=$(dmesg | wc -l)
vm_create vm6 pool /dev/mapper/oq "$Q"
kernel_says "$n" "vm_id $Q: origin dm-name oq (" ||
	fail "oq not recorded by dm-name: $(_log_since "$n" | tail -n 2)"
wr /tmp/z /dev/mapper/vm6 0
dmsetup remove vm6 || fail "remove vm6"
dmsetup rename oq --setuuid VWTEST-ORIGIN-Q || fail "give oq a UUID"
n=$(dmesg | wc -l)
dmsetup create vm6 --table "0 $(sectors /dev/mapper/oq) vwcache /dev/mapper/pool /dev/mapper/oq $Q 0" ||
	fail "$Q refused on its own origin once it has a UUID: $(_log_since "$n" | grep -F "$Q" | tail -n 1)"
kernel_says "$n" "vm_id $Q: origin dm-uuid VWTEST-ORIGIN-Q (" ||
	fail "the record did not move to dm-uuid: $(_log_since "$n" | tail -n 2)"
assert_eq "$(rd /dev/mapper/vm6 0 8 | sum)" "$(sum </tmp/z)"
dmsetup remove vm6 || fail "remove vm6"
dmsetup remove pool || fail "remove pool"
dmsetup remove oq || fail "remove oq"
log "dm origin given a UUID: attached by its dm-name identity, record moved to dm-uuid"
# ---- A pool of the layout before the attachment table (formatted as the
# module at 61949d1 did, by vwc-damage): it loads, keeps dirty data over a
# reload and still refuses the wrong origin; it has no attachment table,
# so no path last used, and stays so (the layout is fixed at format).
zero_head "$ssd"
vwc-damage format-noattach "$ssd" 4096 || fail "format a pool of the old layout"
pool_create pool "$ssd" 4096 max_age 0
vm_create vm5 pool "$p1" "$P"
wr /tmp/z /dev/mapper/vm5 4
dmsetup remove vm5 || fail "remove vm5"
dmsetup remove pool || fail "remove pool"
pool_create pool "$ssd" 4096 max_age 0
assert_eq "$(field 5 pool)" 8
if dmsetup create vm5 --table "0 32768 vwcache /dev/mapper/pool $p2 $P 0" 2>/dev/null; then
	dmsetup remove vm5
	fail "old layout: $P accepted on partition 2"
fi
dmcache-ctl pool-status pool >/tmp/ps || fail "pool-status"
grep -F "$P:" /tmp/ps | grep -q "last attached" &&
	fail "old layout: a path last used from nowhere: $(grep -F "$P" /tmp/ps)"
dmcache-ctl check "$ssd" --force >/tmp/ck || fail "check: $(cat /tmp/ck)"
grep -qF "attachment table: none" /tmp/ck || fail "check: $(cat /tmp/ck)"
vm_create vm5 pool "$p1" "$P"
assert_eq "$(rd /dev/mapper/vm5 4 8 | sum)" "$(sum </tmp/z)"
dmsetup remove vm5 || fail "remove vm5"
dmsetup remove pool || fail "remove pool"
log "old layout: loaded, 8 dirty blocks kept over a reload, partition 2 refused, no attachment table"
if dmesg | grep -E "WARNING|BUG|Oops"; then
	fail "kernel warning"
fi
log "refusals: ${REFUSED:-0}"
log "ok"
