#!/bin/sh
# dmcache-ctl against the real module: every subcommand (pool-create with
# --format/--force, pool-status, attach, list, stats in all three formats,
# set, top and migrate-plan without a terminal, flush --wait of a VM and of
# a pool, migrate-prepare --wait with and without a timeout, migrate-abort,
# detach with and without --flush, pool-remove, check and dump), the
# kernel's own reason when it refuses, check on a pool damaged on purpose
# (superblock copy, VM record, entries) and more than 20 bad invocations,
# each refused with exit status 1 or 2, one line "dmcache-ctl: ..." on
# stderr, and nothing changed.  The sysfs-based outputs are checked when
# the module has the sysfs tree.
# vwtest-disks: 1x128M 2x64M
# vwtest-timeout: 240
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
o1=$(disk 1)
o2raw=$(disk 2)
BAD=0

# ctl ARGS...: run dmcache-ctl, fail unless it exits 0; output in /tmp/out.
ctl() {
	dmcache-ctl "$@" >/tmp/out 2>/tmp/err ||
		fail "dmcache-ctl $* exited $?: $(cat /tmp/err)"
	[ -s /tmp/err ] && fail "dmcache-ctl $* wrote to stderr: $(cat /tmp/err)"
	return 0
}

# ctl_warns WARNING ARGS...: dmcache-ctl ARGS succeeds with one line on
# stderr, "dmcache-ctl: warning: ..." holding WARNING.
ctl_warns() {
	_w=$1
	shift
	dmcache-ctl "$@" >/tmp/out 2>/tmp/err ||
		fail "dmcache-ctl $* exited $?: $(cat /tmp/err)"
	[ "$(wc -l </tmp/err)" = 1 ] && grep -qF -- "dmcache-ctl: warning: $_w" /tmp/err ||
		fail "dmcache-ctl $*: stderr is not the warning '$_w': $(cat /tmp/err)"
}

# has TEXT: /tmp/out has TEXT.
has() {
	grep -qF -- "$1" /tmp/out || fail "output lacks '$1': $(cat /tmp/out)"
}

# refuse STATUS MSG ARGS...: dmcache-ctl ARGS must exit STATUS with one
# line "dmcache-ctl: ..." holding MSG on stderr, and change no device.
refuse() {
	_want=$1 _msg=$2
	shift 2
	_before=$(dm_state)
	dmcache-ctl "$@" >/tmp/out 2>/tmp/err
	_rc=$?
	[ "$_rc" = "$_want" ] ||
		fail "dmcache-ctl $*: exit $_rc, expected $_want ($(cat /tmp/err))"
	[ "$(wc -l </tmp/err)" = 1 ] ||
		fail "dmcache-ctl $*: stderr is not one line: $(cat /tmp/err)"
	grep -q '^dmcache-ctl: ' /tmp/err || fail "no prefix: $(cat /tmp/err)"
	grep -qF -- "$_msg" /tmp/err ||
		fail "dmcache-ctl $*: message lacks '$_msg': $(cat /tmp/err)"
	[ "$(dm_state)" = "$_before" ] || fail "dmcache-ctl $*: changed a device"
	BAD=$((BAD + 1))
	log "refused ($_rc): $(cat /tmp/err)"
}

# json_num KEY: the first "KEY": number in /tmp/out.
json_num() {
	sed -n "s/.*\"$1\": \([0-9]*\),*$/\1/p" /tmp/out | head -n 1
}

vw_load_module
# A slow origin (dm-delay) for vm2.
dmsetup create o2 --table "0 $(sectors "$o2raw") delay $o2raw 0 50" ||
	fail "dm-delay"
o2=$(dm_dev_of o2)

# --- help, version, completion ---------------------------------------------
ctl version
has "dmcache-ctl "
ctl help
for c in $(awk '/^  [a-z]/ { print $1 }' /tmp/out); do
	ctl help "$c"
	has "usage: dmcache-ctl $c"
	ctl "$c" --help
	has "usage: dmcache-ctl $c"
done
ctl completion
has "complete -F _dmcache_ctl dmcache-ctl"
has "migrate-prepare)"

# --- pool-create -------------------------------------------------------------
dd if=/dev/urandom of="$ssd" bs=4096 count=1 conv=fsync 2>/dev/null
refuse 1 "holds data that is not a pool: --format" pool-create "$ssd"
refuse 2 "--force only goes with --format" pool-create "$ssd" --force
refuse 2 "must be a power of two from 4K to 64K" pool-create "$ssd" --block-size 3K
refuse 2 "low_watermark must be below high_watermark" \
	pool-create "$ssd" --format --high-watermark 20 --low-watermark 30
refuse 2 "--max-age wants a whole number" pool-create "$ssd" --max-age 1m
ctl pool-create "$ssd" --format --name pool --block-size 4K \
	--high-watermark 80 --low-watermark 60 --max-age 0 --io-capacity-bw 1G
has "pool pool on $ssd"
assert_eq "$(field 1 pool)" ok "pool state"
dmsetup table pool | grep -q "high_watermark 80 low_watermark 60 max_age 0 .* io_capacity_bw 1073741824$" ||
	fail "pool settings: $(dmsetup table pool)"
total=$(field 3 pool)
refuse 1 "exists already" pool-create "$o1" --name pool
refuse 1 "in use" pool-create "$ssd" --format --force --name p2
refuse 1 "in use (an active pool?)" check "$ssd"

ctl pool-status pool
has "state         ok"
has "$total of 4096 bytes"
has "max_age 0"
ctl pool-status --json
has "\"name\": \"pool\""
assert_eq "$(json_num total_blocks)" "$total" "pool-status --json total_blocks"

# --- attach ---------------------------------------------------------------------
ctl attach pool "$o1" web-01.vda --name vm1 --cache-quota 16M --weight 200 \
	--iops-limit 0
has "attached web-01.vda as /dev/mapper/vm1"
dmsetup table vm1 | grep -q " web-01.vda 10 mode writeback iops_limit 0 bw_limit 0 cache_quota 4096 weight 200$" ||
	fail "vm1 table: $(dmsetup table vm1)"
assert_eq "$(sectors /dev/mapper/vm1)" "$(sectors "$o1")" "vm1 size"
ctl attach pool "$o2" db-01.vda --name vm2 --mode writeback
# dm UUIDs (admin guide): the pool's from its on-disk uuid, the VMs' from it.
puuid=$(dmcache-ctl dump "$ssd" --force | sed -n 's/^pool: uuid \([0-9a-f-]*\)$/\1/p')
[ -n "$puuid" ] || fail "no pool uuid in dump"
assert_eq "$(dmsetup info -c --noheadings -o uuid pool)" "VWCACHE-POOL-$puuid" "pool dm UUID"
assert_eq "$(dmsetup info -c --noheadings -o uuid vm1)" "VWCACHE-VM-$puuid-web-01.vda" "vm1 dm UUID"
assert_eq "$(dmsetup info -c --noheadings -o uuid vm2)" "VWCACHE-VM-$puuid-db-01.vda" "vm2 dm UUID"
refuse 2 "vm_id \"x y\" has a space" attach pool "$o1" "x y"
refuse 2 "vm_id \"a/b\" has '/'" attach pool "$o1" a/b
refuse 1 "vm_id \"web-01.vda\" is already attached to pool pool" \
	attach pool "$o1" web-01.vda --name other
refuse 1 "no pool named \"nopool\"" attach nopool "$o1" x1
refuse 1 "is a VM device, not a pool" attach vm1 "$o1" x1
refuse 1 "/dev/null is not a block device" attach pool /dev/null x1
refuse 2 "mode must be writeback, writethrough or passthrough" \
	attach pool "$o1" x1 --mode fast
refuse 2 "weight must be an integer from 1 to 1000" attach pool "$o1" x1 --weight 0
refuse 2 "--bw-limit wants a size" attach pool "$o1" x1 --bw-limit 5X
refuse 1 "exists already" attach pool "$o1" x1 --name vm2
# what only the kernel can judge: its reason, from the kernel log
refuse 1 "the kernel refused: Origin device is the pool's cache device" \
	attach pool "$ssd" x1 --name x1

# --- list, stats -------------------------------------------------------------------
ctl list
has "web-01.vda"
has "db-01.vda"
ctl list --names vm
has "vm1"
ctl list --names pool
assert_eq "$(cat /tmp/out)" pool "list --names pool"

dd if=/dev/urandom of=/dev/mapper/vm1 bs=4096 count=2048 oflag=direct 2>/dev/null ||
	fail "write vm1"
dd if=/dev/urandom of=/dev/mapper/vm2 bs=4096 count=64 seek=100 oflag=direct 2>/dev/null ||
	fail "write vm2"
d1=$(field 4 vm1)
d2=$(field 4 vm2)
[ "$d1" -gt "$d2" ] && [ "$d2" -gt 0 ] || fail "dirty vm1 $d1 vm2 $d2"
ctl stats
has "web-01.vda"
grep -q "^web-01.vda  *pool  *writeback  *ok  *[0-9]*  *$d1 " /tmp/out ||
	fail "stats row: $(cat /tmp/out)"
ctl stats vm1 --json
assert_eq "$(json_num dirty_blocks)" "$(field 5 pool)" "pool dirty_blocks (json)"
grep -q "\"vm_id\": \"db-01.vda\"" /tmp/out && fail "stats vm1 shows vm2"
ctl stats web-01.vda --json
has "\"dirty_blocks\": $d1,"
has "\"dirty_bytes\": $((d1 * 4096)),"
has "\"weight\": 200"
ctl stats --prometheus
has "vwcache_vm_dirty_blocks{pool=\"pool\",vm_id=\"web-01.vda\"} $d1"
has "vwcache_vm_dirty_blocks{pool=\"pool\",vm_id=\"db-01.vda\"} $d2"
has "vwcache_pool_blocks{pool=\"pool\"} $total"
has "vwcache_vm_state{pool=\"pool\",vm_id=\"web-01.vda\",state=\"ok\"} 1"
has "# TYPE vwcache_vm_writes_total counter"
grep -v '^#' /tmp/out | grep -v '^vwcache_[a-z_]*{pool="pool"[^}]*} [0-9][0-9.]*$' &&
	fail "malformed Prometheus lines"
ctl stats --prometheus --output /tmp/vwcache.prom
[ -s /tmp/vwcache.prom ] && [ ! -e /tmp/vwcache.prom.tmp ] || fail "--output"
refuse 2 "--json and --prometheus exclude each other" stats --json --prometheus
refuse 2 "--output goes with --json or --prometheus" stats --output /tmp/x
refuse 1 "no VM device or vm_id \"nosuch\"" stats nosuch

# sysfs-based values, once the module has the sysfs tree
# (without udev, /dev/mapper/vm1 is a node, not a link to /dev/dm-N)
sysdir=/sys/block/dm-$(dmsetup info -c --noheadings -o minor vm1)/vwcache
if [ -r "$sysdir/dirty_bytes" ] && [ -r "$sysdir/stats/write_bytes" ]; then
	ctl stats vm1 --json
	has "\"dirty_bytes\": $(cat "$sysdir/dirty_bytes"),"
	has "\"write_bytes\": $(cat "$sysdir/stats/write_bytes"),"
	[ "$(cat "$sysdir/stats/write_bytes")" -ge $((2048 * 4096)) ] ||
		fail "write_bytes $(cat "$sysdir/stats/write_bytes")"
	ctl stats --prometheus
	has "vwcache_vm_write_bytes_total{pool=\"pool\",vm_id=\"web-01.vda\"} $(cat "$sysdir/stats/write_bytes")"
	has "vwcache_vm_write_iops{pool=\"pool\",vm_id=\"web-01.vda\"}"
	SYSFS=1
	log "sysfs present: sysfs outputs checked"
else
	log "module has no sysfs tree yet: sysfs outputs not checked"
fi

# --- set ----------------------------------------------------------------------------------
ctl set vm1 iops_limit 1000
ctl set web-01.vda bw-limit 4M
dmsetup table vm1 | grep -q "iops_limit 1000 bw_limit 4194304 " ||
	fail "set: $(dmsetup table vm1)"
# (not max_age: dirty data older than it would be written back at once)
ctl set pool commit-interval 2000
dmsetup table pool | grep -q " commit_interval 2000 " || fail "set pool: $(dmsetup table pool)"
ctl set pool commit_interval 1000
ctl set vm1 iops_limit 0
ctl set vm1 bw_limit 0
if [ -n "${SYSFS:-}" ]; then
	assert_eq "$(cat "$sysdir/limits/bw_limit")" 0 "sysfs bw_limit after set"
fi
refuse 2 "VM devices have no setting \"nokey\"" set vm1 nokey 1
refuse 2 "weight must be an integer from 1 to 1000" set vm1 weight 5000
refuse 2 "low_watermark must be below high_watermark" set pool low_watermark 90
refuse 2 "pools have no setting \"weight\"" set pool weight 10
refuse 1 "no VM device or vm_id \"nosuch\"" set nosuch weight 1
refuse 2 "missing arguments" set vm1 weight

# --- top and migrate-plan without a terminal ------------------------------------------------
fio --eta=never --name=bg --filename=/dev/mapper/vm2 --direct=1 --rw=randwrite --bs=4k \
	--size=8m --offset=16m --time_based --runtime="$(scaled 4)" --rate_iops=50 \
	--output=/dev/null &
bg=$!
# fio starts slowly on make check-debug's kernel: give it time to run.
sleep "$(scaled 1)"
ctl top --iterations 2 --interval 1 --sort dirty
assert_eq "$(grep -c '^dmcache-ctl top - ' /tmp/out)" 2 "top frames"
has "sorted by dirty"
# sorted by dirty: vm1's row first in each frame
assert_eq "$(awk '/^VM_ID/ { getline; print $1; exit }' /tmp/out)" web-01.vda \
	"top sort (vm1 dirty $(field 4 vm1), vm2 $(field 4 vm2)): $(cat /tmp/out)"
w=$(awk '$1 == "db-01.vda" { w = $5 } END { printf "%d", w }' /tmp/out)
[ "$w" -ge 15 ] || fail "top: db-01.vda W/s $w with fio at 50 IOPS: $(cat /tmp/out)"
ctl top pool --iterations 1 --interval 0.5 --sort vm
assert_eq "$(awk '/^VM_ID/ { getline; print $1; exit }' /tmp/out)" db-01.vda "top sort by name"
refuse 2 "--sort takes vm, pool" top --sort bogus
refuse 2 "--interval must be from 0.1 to 3600 seconds" top --interval 0
refuse 2 "--iterations wants a whole number" top --iterations x
wait $bg
ctl migrate-plan pool --sample 0.5
has "ORDER"
log "plan: $(cat /tmp/out)"
assert_eq "$(wc -l </tmp/out)" 3 "plan rows"
# without a measured rate (no writeback under way) the order is by dirty
if [ "$(awk 'NR > 1 { print $5 }' /tmp/out | sort -u)" = "-" ]; then
	assert_eq "$(awk 'NR == 2 { print $2 }' /tmp/out)" db-01.vda "plan: fewer dirty first"
	assert_eq "$(awk 'NR == 3 { print $2 }' /tmp/out)" web-01.vda "plan: second"
fi
ctl migrate-plan --json --sample 0.2
has "\"rate_basis\""
refuse 2 "--sample must be from 0.1 to 600 seconds" migrate-plan --sample 0

# --- flush ----------------------------------------------------------------------------------
d2=$(field 4 vm2)
ctl flush vm1 --wait --timeout 60
has "web-01.vda: flushed after"
assert_eq "$(field 4 vm1)" 0 "vm1 dirty after flush --wait"
assert_eq "$(field 4 vm2)" "$d2" "vm2 dirty untouched by vm1's flush"
refuse 2 "--timeout goes with --wait" flush vm1 --timeout 5
refuse 1 "is a pool, not a VM device" detach pool
exec 3</dev/mapper/vm1	# as a running VM holds its disk open
refuse 1 "cannot detach web-01.vda: /dev/mapper/vm1 is open (a running VM?)" detach vm1
exec 3<&-

# --- migrate-prepare, migrate-abort ------------------------------------------------------------
fio --eta=never --name=w --filename=/dev/mapper/vm2 --direct=1 --rw=randwrite --bs=4k \
	--size=32m --number_ios=300 --iodepth=16 --ioengine=libaio \
	--output=/dev/null || fail "fio vm2"
log "vm2 dirty blocks before migrate-prepare: $(field 4 vm2)"
refuse 1 "db-01.vda is not migrating (state ok): nothing to abort" migrate-abort vm2
# the origin suspended, writeback cannot finish: the wait times out
dmsetup suspend o2 || fail "suspend o2"
dmcache-ctl migrate-prepare vm2 --wait --timeout 1 >/tmp/out 2>/tmp/err &&
	fail "migrate-prepare --timeout 1 succeeded: $(cat /tmp/out)"
dmsetup resume o2 || fail "resume o2"
grep -q "timed out after 1 s: db-01.vda still has [1-9][0-9]* bytes dirty (state migrating)" /tmp/err ||
	fail "no timeout message: $(cat /tmp/err)"
has "db-01.vda: migrating,"
assert_eq "$(field 1 vm2)" writethrough "mode while migrating"
ctl migrate-prepare db-01.vda --wait --timeout 120
has "db-01.vda: clean after"
grep -q "dirty, .*/s, ETA" /tmp/out || fail "no progress line: $(cat /tmp/out)"
assert_eq "$(field 2 vm2)" clean "state after migrate-prepare --wait"
assert_eq "$(field 4 vm2)" 0 "vm2 dirty after migrate-prepare --wait"
refuse 1 "is migrating: run migrate-abort before changing its mode" set vm2 mode writeback
ctl migrate-abort vm2
assert_eq "$(field 1 vm2)" writeback "mode after migrate-abort"
assert_eq "$(field 2 vm2)" ok "state after migrate-abort"
ctl migrate-prepare vm2
has "migration flush started"
ctl migrate-abort vm2
refuse 2 "missing arguments" migrate-prepare

# --- detach, pool-remove ---------------------------------------------------------------------
dd if=/dev/urandom of=/dev/mapper/vm2 bs=4096 count=32 oflag=direct 2>/dev/null
ctl detach vm2 --timeout 120
has "detached db-01.vda (/dev/mapper/vm2) from pool pool"
grep -q "dirty blocks stay" /tmp/out && fail "detach kept dirty data by default: $(cat /tmp/out)"
dmsetup info vm2 >/dev/null 2>&1 && fail "vm2 still there"
dd if=/dev/urandom of=/dev/mapper/vm1 bs=4096 count=16 oflag=direct 2>/dev/null
[ "$(field 5 pool)" -gt 0 ] || fail "pool not dirty"
ctl flush pool --wait --timeout 60
has "pool: flushed after"
assert_eq "$(field 5 pool)" 0 "pool dirty after flush pool --wait"
dd if=/dev/urandom of=/dev/mapper/vm1 bs=4096 count=100 oflag=direct 2>/dev/null
d1=$(field 4 vm1)
[ "$d1" -gt 0 ] || fail "vm1 not dirty"
refuse 1 "pool pool has 1 VM devices attached: detach them first" pool-remove pool
refuse 2 "unexpected argument" list extra
refuse 2 "unknown command \"bogus\"" bogus
refuse 2 "unknown command \"nosuch\"" help nosuch
refuse 2 "--names takes vm, pool or all" list --names bogus
ctl_warns "web-01.vda's origin is not up to date without the pool" \
	detach web-01.vda --no-flush
has "its $d1 dirty blocks stay in the pool"
refuse 1 "pool pool holds $d1 dirty blocks of detached VMs: web-01.vda ($d1 dirty blocks): attach and flush them first, or add --force" pool-remove pool
dmsetup info pool >/dev/null 2>&1 || fail "a refused pool-remove removed the pool"
ctl_warns "pool pool keeps $d1 dirty blocks of detached VMs" pool-remove pool --force
dmsetup info pool >/dev/null 2>&1 && fail "pool still there"

# --- check and dump of the removed pool ----------------------------------------------------------
ctl check "$ssd"
has "result: clean"
has "superblock copy 0: ok"
has "superblock copy 1: ok"
ctl dump "$ssd"
grep -q "^[0-9][0-9]*  *web-01.vda  *[0-9][0-9]*  *[0-9][0-9]*  *$d1$" /tmp/out ||
	fail "dump: web-01.vda with $d1 dirty: $(cat /tmp/out)"
slot=$(awk '$2 == "web-01.vda" { print $1 }' /tmp/out)
estart=$(sed -n 's/.*entries at sector \([0-9]*\).*/\1/p' /tmp/out)
ctl dump "$ssd" --json
has "\"vm_id\": \"web-01.vda\""
has "\"dirty_blocks\": $d1"
refuse 1 "cannot open /nonexistent" check /nonexistent

# the module loads it again, dirty data kept; --format refuses it
refuse 1 "holds a pool: --format would destroy its cached data, and the dirty data of web-01.vda ($d1 dirty blocks) (add --force)" \
	pool-create "$ssd" --format --name pool
refuse 1 "holds a pool of 4096-byte blocks, not 65536" \
	pool-create "$ssd" --name pool --block-size 64K
ctl pool-create "$ssd" --name pool
assert_eq "$(field 5 pool)" "$d1" "dirty blocks kept over remove and create"
assert_eq "$(dmsetup info -c --noheadings -o uuid pool)" "VWCACHE-POOL-$puuid" "pool dm UUID after a load"
ctl_warns "pool pool keeps $d1 dirty blocks of detached VMs" pool-remove pool --force

# flip bytes: superblock copy 1, then the VM record and two entries
cp_byte() { # cp_byte OFFSET: flip one byte of $ssd in place
	_b=$(dd if="$ssd" bs=1 skip="$1" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	printf "$(printf '\\%03o' $(((_b ^ 0x5a) & 255)))" |
		dd of="$ssd" bs=1 seek="$1" conv=notrunc,fsync 2>/dev/null
}
cp_byte $((4096 + 300))
dmcache-ctl check "$ssd" >/tmp/out 2>&1 && fail "check passed a damaged copy 1"
has "DAMAGED: superblock copy 1: Pool superblock checksum mismatch"
has "loads this pool from the intact superblock copy"
cp_byte $((16 * 512 + slot * 128 + 2))
cp_byte $((estart * 512 + 3))
cp_byte $((estart * 512 + 10 * 32 + 9)) # 32-byte entries (sub-blocks)
dmcache-ctl check "$ssd" >/tmp/out 2>&1
assert_eq $? 1 "check exit status on damage"
log "check report: $(cat /tmp/out)"
has "DAMAGED: VM record $slot: checksum mismatch"
has "DAMAGED: entry 0: "
has "DAMAGED: entry 10: "
has "entries belong to VM slot $slot, whose record is damaged"
has "the module refuses to load this pool"
refuse 1 "the kernel refused: Pool VM table is damaged" pool-create "$ssd" --name pool
ctl pool-create "$ssd" --name pool --format --force
assert_eq "$(field 5 pool)" 0 "formatted afresh"
ctl pool-remove pool
ctl check "$ssd"
has "result: clean"
has "entries: 0 valid"

# --format --force names whose dirty data it destroys
ctl pool-create "$ssd" --name pool
ctl attach pool "$o2" fmt-01.vda --name vmf --mode writeback
dd if=/dev/urandom of=/dev/mapper/vmf bs=4096 count=16 oflag=direct 2>/dev/null
df=$(field 4 vmf)
[ "$df" -gt 0 ] || fail "vmf not dirty"
ctl_warns "fmt-01.vda's origin is not up to date without the pool" \
	detach fmt-01.vda --no-flush
ctl_warns "pool pool keeps $df dirty blocks of detached VMs" pool-remove pool --force
ctl_warns "--format --force destroys the dirty data of fmt-01.vda ($df dirty blocks) on $ssd" \
	pool-create "$ssd" --format --force --name pool
assert_eq "$(field 5 pool)" 0 "formatted over dirty data"
ctl pool-remove pool

dmsetup remove o2
log "$BAD bad invocations refused"
[ "$BAD" -ge 20 ] || fail "only $BAD bad invocations"
