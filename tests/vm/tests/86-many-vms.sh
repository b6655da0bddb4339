#!/bin/sh
# Many VMs (issue 17 item 5): 256 VM devices active at once on one pool
# (4 KiB blocks), each on its own origin (a dm-linear slice of one disk
# with a dm UUID, so its origin identity is dm-uuid), attached with
# dmcache-ctl attach.  Each VM device writes its three blocks of known
# data (its origin is those three blocks: all origins together are read
# back in one go, as process starts are slow under TCG).  Then every
# per-pool listing must be complete: the pool status counts 256 VMs and
# 3 x 256 dirty blocks, vwcache_pool/vms lists exactly the 256 vm_ids
# (64 characters each: four pages, read whole and 100 bytes at a time;
# with half of them detached, exactly the others: what 31-pool-vms-listing
# checked with 100, issue 15 item 11c),
# every VM device reports 3 dirty blocks, and dmcache-ctl list,
# pool-status, stats --json and stats --prometheus name all 256.  The
# pool is flushed (dmcache-ctl flush POOL --wait): every origin holds its
# blocks (the disk under the origins read with O_DIRECT, past the
# cache and the page cache); every VM device is detached
# with dmcache-ctl detach; the pool has 0 VMs and 0 dirty blocks.  Last,
# one vm_id detached with a dirty block (--no-flush) and attached again
# is written back by max_age alone, no flush asked.
# Prints RESULT lines with the times of attach all, flush all and detach
# all (printed, not bounded).  With the module and dmcache-ctl of
# 61949d1 it passed, slowly: each dmcache-ctl attach and detach read the
# status, table and 19 sysfs files of every device of the host (and
# again every 200 ms while it waited), so attaching 256 took 97 s and
# detaching them 208 s on 6.1 under TCG (about 60 and 110 ms each now).
# vwmany=N on the kernel command line (VW_APPEND) sets the number of VM
# devices.
# vwtest-disks: 1x64M 1x16M
# vwtest-timeout: 600
# vwtest-mem: 1024
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

N=256
_n=$(sed -n 's/.*vwmany=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$_n" ] && N=$_n
SLICE=24	# sectors of each origin: 3 blocks of 4 KiB
BS=4096
ssd=$(disk 0)
org=$(disk 1)

# Centiseconds since boot.
now_cs() {
	read -r _up _ </proc/uptime
	echo "${_up%.*}${_up#*.}"
}

# Milliseconds since $1 (centiseconds from now_cs).
ms_since() {
	echo $((($(now_cs) - $1) * 10))
}

# vm_id of VM device $1: 64 characters, the most a vm_id has, so that
# the pool's vms listing is four pages long (16.6 KiB).
vm_id() {
	printf 'many-%04d-%s' "$1" \
		0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR
}

# count_ids FILE: how many distinct vm_ids of ours FILE names.
count_ids() {
	grep -o 'many-[0-9][0-9][0-9][0-9]' "$1" | sort -u | wc -l
}

# want_ids FILE WHAT: FILE names exactly the vm_ids 1..N.
want_ids() {
	assert_eq "$(count_ids "$1")" "$N" "vm_ids named by $2"
}

vw_load_module
zero_head "$ssd"
pool_create pool "$ssd" $BS high_watermark 90 low_watermark 80 max_age 0
pd=$(dm_sys pool)/vwcache_pool
head -c $((N * 3 * BS)) /dev/urandom >/tmp/data

# The origins, in one dmsetup call (name,uuid,minor,flags,table;...).
spec=
for i in $(seq 1 $N); do
	spec="$spec${spec:+;}org$i,VWTEST-ORG-$i,,,0 $SLICE linear $org $(((i - 1) * SLICE))"
done
dmsetup create --concise "$spec" || fail "dm-linear slices"
assert_eq "$(dmsetup ls | grep -c '^org')" "$N" "origins"
log "$N origins"

t0=$(now_cs)
for i in $(seq 1 $N); do
	dmcache-ctl attach pool "/dev/mapper/org$i" "$(vm_id "$i")" \
		--name "vm$i" >/dev/null 2>/tmp/err ||
		fail "attach $(vm_id "$i"): $(cat /tmp/err)"
	[ $((i % 64)) = 0 ] && log "$i attached, $(ms_since "$t0") ms"
done
ATTACH_MS=$(ms_since "$t0")
log "$N VM devices attached in $ATTACH_MS ms"
assert_eq "$(field 6 pool)" "$N" "pool status nr_vms"
assert_eq "$(dmsetup info -c --noheadings -o uuid org1)" "VWTEST-ORG-1" \
	"origin dm UUID"

t0=$(now_cs)
for i in $(seq 1 $N); do
	dd if=/tmp/data of="/dev/mapper/vm$i" bs=$BS count=3 \
		skip=$(((i - 1) * 3)) oflag=direct 2>/dev/null ||
		fail "write vm$i"
done
log "$N VM devices written in $(ms_since "$t0") ms"

# --- every listing complete --------------------------------------------------
assert_eq "$(field 6 pool)" "$N" "pool status nr_vms"
assert_eq "$(field 5 pool)" $((3 * N)) "pool status dirty_blocks"
assert_eq "$(cat "$pd/dirty_blocks")" $((3 * N)) "sysfs dirty_blocks"
seq 1 $N | while read -r i; do vm_id "$i"; echo; done | sort >/tmp/want
sort "$pd/vms" >/tmp/got
cmp -s /tmp/got /tmp/want ||
	fail "vwcache_pool/vms lists $(wc -l </tmp/got) lines of $N; first missing: $(grep -vxF -f /tmp/got /tmp/want | head -n 3 | tr '\n' ' ')"
dd if="$pd/vms" bs=100 2>/dev/null | cmp -s - "$pd/vms" ||
	fail "vms read 100 bytes at a time differs from a whole read"
[ "$(wc -c <"$pd/vms")" -gt 4096 ] || fail "the vms listing is not over a page"
dmsetup status --target vwcache >/tmp/st || fail "dmsetup status"
# name: start len vwcache mode state cached dirty ...
assert_eq "$(awk '$4 == "vwcache" && $8 == 3' /tmp/st | wc -l)" "$N" \
	"VM devices with 3 dirty blocks"
assert_eq "$(cat "$(dm_sys "vm$N")/vwcache/dirty_blocks")" 3 \
	"vm$N sysfs dirty_blocks"

t0=$(now_cs)
dmcache-ctl list >/tmp/list 2>/tmp/err || fail "list: $(cat /tmp/err)"
LIST_MS=$(ms_since "$t0")
want_ids /tmp/list "dmcache-ctl list"
dmcache-ctl list --names vm >/tmp/names || fail "list --names vm"
assert_eq "$(grep -c '^vm[0-9]' /tmp/names)" "$N" "list --names vm"
dmcache-ctl pool-status pool >/tmp/ps 2>/tmp/err ||
	fail "pool-status: $(cat /tmp/err)"
want_ids /tmp/ps "dmcache-ctl pool-status"
dmcache-ctl pool-status pool --json >/tmp/psj || fail "pool-status --json"
want_ids /tmp/psj "dmcache-ctl pool-status --json"
t0=$(now_cs)
dmcache-ctl stats --json >/tmp/sj 2>/tmp/err || fail "stats: $(cat /tmp/err)"
STATS_MS=$(ms_since "$t0")
want_ids /tmp/sj "dmcache-ctl stats --json"
dmcache-ctl stats --prometheus >/tmp/sp || fail "stats --prometheus"
want_ids /tmp/sp "dmcache-ctl stats --prometheus"
assert_eq "$(grep -c '^vwcache_vm_dirty_bytes{.*} 12288$' /tmp/sp)" "$N" \
	"prometheus VMs with 12288 dirty bytes"
dmcache-ctl stats >/tmp/s || fail "stats"
want_ids /tmp/s "dmcache-ctl stats"
log "listings complete (list $LIST_MS ms, stats --json $STATS_MS ms)"

# --- flush all, every origin holds its data ----------------------------------
t0=$(now_cs)
dmcache-ctl flush pool --wait >/tmp/out 2>/tmp/err ||
	fail "flush pool: $(cat /tmp/err)"
FLUSH_MS=$(ms_since "$t0")
assert_eq "$(field 5 pool)" 0 "pool dirty after flush"
dmsetup status --target vwcache >/tmp/st || fail "dmsetup status"
assert_eq "$(awk '$4 == "vwcache" && $8 == 0' /tmp/st | wc -l)" "$N" \
	"VM devices clean after the pool's flush"
dd if="$org" of=/tmp/back bs=$BS count=$((3 * N)) iflag=direct 2>/dev/null ||
	fail "read the origins"
if ! cmp -s /tmp/back /tmp/data; then
	_b=$(cmp /tmp/back /tmp/data | awk '{ print $5 }' | tr -d ,)
	fail "an origin lacks its data after the flush: byte $_b, VM $(((_b - 1) / (3 * BS) + 1))"
fi
log "every origin holds its data (flush $FLUSH_MS ms)"

# --- detach all ---------------------------------------------------------------
# half_detached: vms lists VM devices N/2+1..N only, whole and read 100
# bytes at a time (not timed: it runs inside the detach loop, a few ms).
half_detached() {
	seq $((N / 2 + 1)) "$N" | while read -r _j; do vm_id "$_j"; echo; done |
		sort >/tmp/want
	sort "$pd/vms" | cmp -s - /tmp/want ||
		fail "with half detached, vms lists $(wc -l <"$pd/vms") lines, not the $((N - N / 2)) others"
	dd if="$pd/vms" bs=100 2>/dev/null | cmp -s - "$pd/vms" ||
		fail "vms read 100 bytes at a time differs from a whole read"
}

t0=$(now_cs)
for i in $(seq 1 $N); do
	dmcache-ctl detach "vm$i" >/dev/null 2>/tmp/err ||
		fail "detach vm$i: $(cat /tmp/err)"
	[ $((i % 64)) = 0 ] && log "$i detached, $(ms_since "$t0") ms"
	[ "$i" = $((N / 2)) ] && half_detached
done
DETACH_MS=$(ms_since "$t0")
assert_eq "$(field 6 pool)" 0 "pool nr_vms after detach"
assert_eq "$(field 5 pool)" 0 "pool dirty after detach"
[ -z "$(cat "$pd/vms")" ] || fail "vms not empty: $(head -c 200 "$pd/vms")"
dmcache-ctl list >/tmp/list || fail "list"
assert_eq "$(count_ids /tmp/list)" 0 "vm_ids listed after detach"
dmcache-ctl pool-status pool >/tmp/ps || fail "pool-status"
assert_eq "$(count_ids /tmp/ps)" 0 "vm_ids in pool-status after detach"

# A vm_id that comes back with dirty blocks and no flush asked is written
# back by max_age alone: its slot joins the writeback list when its VM
# device resumes (the pool walks that list, not every slot).
dmcache-ctl attach pool /dev/mapper/org1 "$(vm_id 1)" --name vm1 >/dev/null ||
	fail "attach vm1 again"
dd if=/tmp/data of=/dev/mapper/vm1 bs=$BS count=1 skip=5 seek=1 \
	oflag=direct conv=notrunc 2>/dev/null || fail "write vm1 again"
dmcache-ctl detach vm1 --no-flush >/dev/null 2>&1 || fail "detach --no-flush"
assert_eq "$(field 5 pool)" 1 "pool dirty with vm1 detached"
dmsetup message pool 0 set max_age 1000 || fail "set max_age"
dmcache-ctl attach pool /dev/mapper/org1 "$(vm_id 1)" --name vm1 >/dev/null ||
	fail "attach vm1 with its dirty block"
wait_clean vm1 30
dd if=/tmp/data of=/tmp/b5 bs=$BS count=1 skip=5 2>/dev/null
dd if=/dev/mapper/org1 bs=$BS count=1 skip=1 iflag=direct 2>/dev/null |
	cmp -s - /tmp/b5 ||
	fail "vm1's block written back by max_age is not on its origin"
dmcache-ctl detach vm1 >/dev/null || fail "detach vm1"
assert_eq "$(field 6 pool)" 0 "pool nr_vms at the end"
assert_eq "$(field 5 pool)" 0 "pool dirty at the end"

echo "RESULT many_vms=$N"
echo "RESULT many_vms_attach_all_ms=$ATTACH_MS attach_each_ms=$((ATTACH_MS / N))"
echo "RESULT many_vms_flush_all_ms=$FLUSH_MS"
echo "RESULT many_vms_detach_all_ms=$DETACH_MS detach_each_ms=$((DETACH_MS / N))"
echo "RESULT many_vms_list_ms=$LIST_MS stats_json_ms=$STATS_MS"

dmcache-ctl pool-remove pool >/dev/null 2>/tmp/err ||
	fail "pool-remove: $(cat /tmp/err)"
dmsetup remove $(seq 1 $N | sed 's/^/org/') || fail "remove the origins"
log "ok"
