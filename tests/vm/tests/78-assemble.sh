#!/bin/sh
# dmcache-ctl assemble and stop with /etc/dm-vwcache/vwcache.conf (admin
# guide, "Boot and shutdown"): a pool and two VM devices.
#  - assemble loads the module itself (modprobe, from a modules.dep entry);
#  - a zeroed cache device is not formatted without format=zeroed, one
#    holding other data never: exit 1, the pool and both VMs named,
#    nothing created, the device's head unchanged;
#  - a bad line (a good file up to it) is refused as FILE:LINE, exit 2,
#    nothing created;
#  - assemble brings all three up (dm UUIDs, settings of the lines), a
#    second run changes nothing and exits 0;
#  - a missing origin: exit 1, that VM named, the others untouched;
#    --wait waits for it (bounded); an active device unlike its line is
#    named and left alone, a setting that differs only warns;
#  - stop without flush: every device gone, dirty data committed on the
#    SSD (dump), a new assemble reads every written block back (fio
#    verify through the cache);
#  - stop while a VM device is open: that VM and its pool named and left,
#    the other VM removed; after the close, stop --flush: nothing left and
#    the origins alone hold every block (fio verify on the raw origins).
# vwtest-disks: 1x128M 2x64M
# vwtest-timeout: 300
# shellcheck disable=SC1091 # guest paths
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
o1=$(disk 1)
o2=$(disk 2)
CONF=/etc/dm-vwcache/vwcache.conf
mkdir -p /etc/dm-vwcache

# wfio DEV ARGS...: 4 KiB random writes with crc32c verify headers over the
# first 24 MiB of DEV, the pattern of $SEED, or their check.
wfio() {
	_dev=$1
	shift
	fio --name=asm --filename="$_dev" --direct=1 --ioengine=psync \
		--rw=randwrite --bs=4k --size=24m --io_size=16m --randseed="$SEED" \
		--verify=crc32c --verify_fatal=1 --eta=never "$@" \
		--output=/tmp/fio.out || { cat /tmp/fio.out; fail "fio on $_dev $*"; }
}

write_conf() { # FILE POOL_EXTRA [EXTRA LINES...]
	_f=$1 _px=$2
	shift 2
	{
		echo "# dm-vwcache test config"
		echo "pool ssd0 $ssd block_size=4K max_age=0 high_watermark=100 $_px"
		echo ""
		echo "vm web01 ssd0 $o1 web-01.vda   # the web server"
		echo "vm db01	ssd0 $o2 db-01.vda mode=writeback weight=200"
		for _l in "$@"; do echo "$_l"; done
	} >"$_f"
}

# --- the module, loaded by assemble ---------------------------------------------
kdir=/lib/modules/$(uname -r)
mkdir -p "$kdir/updates"
cp "$VW_KO" "$kdir/updates/dm-vwcache.ko" || fail "copy the module"
echo "updates/dm-vwcache.ko:" >>"$kdir/modules.dep"
! grep -q "^$VW_MODNAME " /proc/modules || fail "module loaded before assemble"

# --- never formats by accident ---------------------------------------------------
zero_head "$ssd"
write_conf "$CONF" ""
run 1 assemble
has err "pool ssd0: $ssd holds no pool (its first 4 KiB are zero): add format=zeroed to line 2"
has err "vm web01: skipped: its pool ssd0 is not up"
has err "vm db01: skipped: its pool ssd0 is not up"
has err "3 of 3 devices not brought up: ssd0 web01 db01"
grep -q "^$VW_MODNAME " /proc/modules || fail "assemble did not load the module"
[ "$(nr_dm)" = 0 ] || fail "devices created: $(dmsetup ls)"
log "zeroed device without format=zeroed: refused, nothing created, module loaded"

printf 'precious data' | dd of="$ssd" bs=4096 count=1 conv=sync,fsync 2>/dev/null
head_before=$(dd if="$ssd" bs=8192 count=1 2>/dev/null | md5sum)
write_conf "$CONF" format=zeroed
run 1 assemble
has err "pool ssd0: $ssd holds data that is not a pool: assemble formats nothing else"
[ "$(dd if="$ssd" bs=8192 count=1 2>/dev/null | md5sum)" = "$head_before" ] ||
	fail "assemble wrote to a device holding other data"
[ "$(nr_dm)" = 0 ] || fail "devices created: $(dmsetup ls)"
log "foreign data with format=zeroed: refused, head unchanged"
zero_head "$ssd"

# --- a bad line: nothing created ------------------------------------------------
write_conf /tmp/bad.conf format=zeroed "vm app01 ssd0 /dev/vdq app-01.vda weight=0"
run 2 assemble --config /tmp/bad.conf
has err "/tmp/bad.conf:6: weight 0: weight must be an integer from 1 to 1000: nothing changed"
[ "$(wc -l </tmp/err)" = 1 ] || fail "more than one line on stderr"
write_conf /tmp/bad.conf format=zeroed "vm app01 ssd1 /dev/vdq app-01.vda"
run 2 assemble --config /tmp/bad.conf
has err "/tmp/bad.conf:6: no pool line named ssd1 above this line"
write_conf /tmp/bad.conf "format=zeroed bogus"
run 2 stop --config /tmp/bad.conf
has err "/tmp/bad.conf:2: \"bogus\" is not key=value"
[ "$(nr_dm)" = 0 ] || fail "devices created: $(dmsetup ls)"
[ "$(dd if="$ssd" bs=4096 count=1 2>/dev/null | tr -d '\0' | wc -c)" = 0 ] ||
	fail "the cache device was written"
log "bad lines refused as FILE:LINE, exit 2, nothing created"

# --- assemble, twice -------------------------------------------------------------
write_conf "$CONF" format=zeroed
run 0 assemble
has out "pool ssd0 on $ssd:"
has out "attached web-01.vda as /dev/mapper/web01"
has out "attached db-01.vda as /dev/mapper/db01"
has out "3 devices up"
[ -s /tmp/err ] && fail "stderr: $(cat /tmp/err)"
[ "$(nr_dm)" = 3 ] || fail "not 3 devices: $(dmsetup ls)"
dmsetup table db01 | grep -q "weight 200" || fail "db01's weight: $(dmsetup table db01)"
dmsetup table ssd0 | grep -q "high_watermark 100 low_watermark 25 max_age 0" ||
	fail "ssd0's settings: $(dmsetup table ssd0)"
puuid=$(dmsetup info -c --noheadings -o uuid ssd0)
case $puuid in VWCACHE-POOL-*) ;; *) fail "pool dm UUID '$puuid'" ;; esac
[ "$(dmsetup info -c --noheadings -o uuid web01)" = "VWCACHE-VM-${puuid#VWCACHE-POOL-}-web-01.vda" ] ||
	fail "web01 dm UUID: $(dmsetup info -c --noheadings -o uuid web01)"
state1=$(dm_state)
run 0 assemble
has out "pool ssd0: already active on $ssd"
has out "vm web01: already active (web-01.vda on $o1, pool ssd0)"
has out "vm db01: already active"
[ -s /tmp/err ] && fail "second assemble wrote to stderr"
[ "$(dm_state)" = "$state1" ] || fail "the second assemble changed a device"
log "assemble: 3 devices up; again: nothing changed, exit 0"

SEED=781
wfio /dev/mapper/web01 --do_verify=0
SEED=782
wfio /dev/mapper/db01 --do_verify=0
d1=$(field 4 web01)
d2=$(field 4 db01)
{ [ "$d1" -gt 0 ] && [ "$d2" -gt 0 ]; } || fail "nothing dirty: $d1 $d2"
log "written: $d1 and $d2 dirty blocks"

# --- a missing origin, a device unlike its line --------------------------------
write_conf "$CONF" format=zeroed "vm ghost01 ssd0 /dev/disk/by-id/missing-disk ghost.vda"
t0=$(date +%s)
run 1 assemble --wait 2
t1=$(date +%s)
has out "waiting up to 2 s for /dev/disk/by-id/missing-disk"
has err "vm ghost01: cannot open /dev/disk/by-id/missing-disk"
has err "1 of 4 devices not brought up: ghost01"
{ [ $((t1 - t0)) -ge 2 ] && [ $((t1 - t0)) -le "$(scaled 10)" ]; } ||
	fail "--wait 2 took $((t1 - t0)) s"
[ "$(dm_state)" = "$state1" ] || fail "a failed VM changed the others"
log "missing origin: named, exit 1, waited $((t1 - t0)) s, the rest untouched"

write_conf "$CONF" format=zeroed
sed -i 's/db-01.vda mode=writeback weight=200/other.vda/' "$CONF"
run 1 assemble
has err "vm db01: active as vm_id db-01.vda, but the config says other.vda: left alone"
write_conf "$CONF" format=zeroed
sed -i 's/weight=200/weight=300/' "$CONF"
run 0 assemble
has err "warning: vm db01 (line 5) is active with weight 200, the config says 300: left as it is"
[ "$(dm_state)" = "$state1" ] || fail "a device unlike its line was touched"
log "active devices unlike their lines: named, left alone"

# --- stop without flush, assemble again -------------------------------------------
write_conf "$CONF" format=zeroed
c0=$(field 12 ssd0)
run 0 stop
has out "detached db-01.vda (/dev/mapper/db01) from pool ssd0: its $d2 dirty blocks stay"
has out "pool ssd0: committed ($((d1 + d2)) dirty blocks)"
has out "3 devices stopped"
[ "$(nr_dm)" = 0 ] || fail "left: $(dmsetup ls)"
dmcache-ctl dump "$ssd" >/tmp/dump || fail "dump"
{ grep -q "web-01.vda" /tmp/dump && grep -q "db-01.vda" /tmp/dump; } ||
	fail "dump: $(cat /tmp/dump)"
dirty_after=$(sed -n 's/.* cached blocks, \([0-9]*\) dirty,.*/\1/p' /tmp/dump)
[ "$dirty_after" = $((d1 + d2)) ] ||
	fail "committed dirty blocks on the SSD: '$dirty_after', expected $((d1 + d2)): $(cat /tmp/dump)"
log "stop: nothing left, $dirty_after dirty blocks committed on the SSD (pool had made $c0 commits before)"
run 0 stop
has out "pool ssd0: not active"
run 0 assemble
has out "pool ssd0 on $ssd:"
[ "$(field 5 ssd0)" = $((d1 + d2)) ] ||
	fail "pool dirty blocks after reassembly: $(field 5 ssd0), expected $((d1 + d2))"
SEED=781
wfio /dev/mapper/web01 --verify_only=1
SEED=782
wfio /dev/mapper/db01 --verify_only=1
log "assembled again: $(field 5 ssd0) dirty blocks back ($dirty_after in the dump), data verified"

# --- stop with an open VM device, then stop --flush ---------------------------------
# A running domain: the VM device held open.
sleep 60 3</dev/mapper/web01 &
holder=$!
sleep 0.5
run 1 stop
has err "stop: vm web01: cannot detach web-01.vda: /dev/mapper/web01 is open"
has err "stop: pool ssd0: 1 VM devices not in the config, or busy, are still attached: pool left active"
has err "2 devices not stopped: web01 ssd0"
dmsetup info web01 >/dev/null 2>&1 || fail "the open web01 was removed"
dmsetup info db01 >/dev/null 2>&1 && fail "db01 was not removed"
kill "$holder"
wait "$holder" 2>/dev/null
log "stop with web01 open: web01 and ssd0 named and left, db01 removed"

run 0 assemble
has out "attached db-01.vda"
echo "option stop_flush=yes stop_timeout=$(scaled 120)" >>"$CONF"
run 0 stop
has out "web-01.vda: flushed after"
has out "db-01.vda: flushed after"
has out "pool ssd0: committed (0 dirty blocks)"
[ "$(nr_dm)" = 0 ] || fail "left: $(dmsetup ls)"
SEED=781
wfio "$o1" --verify_only=1
SEED=782
wfio "$o2" --verify_only=1
log "stop with stop_flush=yes: nothing left, the origins alone hold the data"
