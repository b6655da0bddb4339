#!/bin/sh
# A host reboot with a power cut, as two boots on the same disk, done as
# dm-vwcache.service does it: /etc/dm-vwcache/vwcache.conf, its ExecStart
# "dmcache-ctl assemble --wait 30", then a stand-in for libvirt that starts
# a domain only once every VM device of the config is active.
# One disk sits under a dm-flakey device "pwr", cut by dm-linear into the
# pool's SSD "ssd" and two origins "o1", "o2" (the LVs a host activates
# before the unit runs), so that switching pwr to drop_writes cuts power
# to all of them at the same instant.
#  boot 1: assemble (the module loaded by it, the pool formatted as
#    format=zeroed allows), the stand-in starts both domains, each writes
#    a verified pattern and flushes (REQ_PREFLUSH: durable from then on),
#    a second writer runs elsewhere on the disk, and the power is cut
#    under it: no stop, nothing written from then on lands;
#  boot 2: the "LVs" come back (o1 alone fails the check: the data is in
#    the pool only), assemble with the same config recovers
#    the pool and both VM devices, their dirty data still in the pool,
#    the stand-in finds every device before it starts the domains, every
#    block written before the flush reads back (fio verify), and the
#    unit's ExecStop "dmcache-ctl stop" commits and removes all.
# vwtest-disks: 1x256M
# vwtest-boots: 2
# vwtest-timeout: 300
# shellcheck disable=SC1091 # guest paths
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

data=$(disk 0)
boot=$(sed -n 's/.*vwboot=\([0-9]*\).*/\1/p' /proc/cmdline)
CONF=/etc/dm-vwcache/vwcache.conf
SSD_S=$((96 * 2048))
ORIGIN_S=$((64 * 2048))
TOTAL_S=$((SSD_S + 2 * ORIGIN_S))
log "boot $boot"

dmsetup targets | grep -q '^flakey' || kmod_load dm-flakey

# The host's storage: pwr passing writes (or dropping them), and its legs.
storage() {
	dmsetup create pwr --table "0 $TOTAL_S flakey $data 0 86400 0" ||
		fail "create pwr"
	dmsetup create ssd --table "0 $SSD_S linear /dev/mapper/pwr 0" ||
		fail "create ssd"
	dmsetup create o1 --table "0 $ORIGIN_S linear /dev/mapper/pwr $SSD_S" ||
		fail "create o1"
	dmsetup create o2 --table \
		"0 $ORIGIN_S linear /dev/mapper/pwr $((SSD_S + ORIGIN_S))" ||
		fail "create o2"
	dm_dev_of o2 >/dev/null
}

# The module where modprobe finds it, as the package installs it.
module_installed() {
	_k=/lib/modules/$(uname -r)
	mkdir -p "$_k/updates"
	cp "$VW_KO" "$_k/updates/dm-vwcache.ko" || fail "copy the module"
	echo "updates/dm-vwcache.ko:" >>"$_k/modules.dep"
}

# /etc is in the initramfs: the same file on both boots.
write_conf() {
	mkdir -p /etc/dm-vwcache
	cat >"$CONF" <<EOF
# dm-vwcache on this host
pool ssd0 /dev/mapper/ssd block_size=4K max_age=0 high_watermark=100 format=zeroed
vm web01 ssd0 /dev/mapper/o1 web-01.vda
vm db01 ssd0 /dev/mapper/o2 db-01.vda weight=200
EOF
}

# The unit's ExecStart, with its exit status.
unit_start() {
	dmcache-ctl assemble --wait 30 >/tmp/out 2>/tmp/err
	_rc=$?
	sed 's/^/    assemble: /' /tmp/out /tmp/err
	[ "$_rc" = 0 ] || fail "assemble exited $_rc"
}

# libvirt's stand-in: start no domain unless every VM device of the config
# is an active vwcache device (what libvirt-guests would need).
libvirt_standin() {
	_n=0
	awk '$1 == "vm" { print $2 }' "$CONF" >/tmp/vms
	while read -r _vm; do
		[ -b "/dev/mapper/$_vm" ] ||
			fail "libvirt stand-in: /dev/mapper/$_vm is missing"
		[ "$(dmsetup table "$_vm" | awk '{ print $3 }')" = vwcache ] ||
			fail "libvirt stand-in: $_vm is not a vwcache device"
		_n=$((_n + 1))
	done </tmp/vms
	[ "$_n" = 2 ] || fail "libvirt stand-in: $_n VM devices in $CONF"
	log "libvirt stand-in: every VM device of $CONF is active, domains start"
}

# vfio DEV SEED ARGS...: the verified pattern (first 24 MiB) or its check.
vfio() {
	_dev=$1 _seed=$2
	shift 2
	fio --name=boot --filename="$_dev" --direct=1 --ioengine=libaio \
		--iodepth=8 --rw=randwrite --bs=4k --size=24m --io_size=16m \
		--randseed="$_seed" --verify=crc32c --verify_fatal=1 --eta=never \
		"$@" --output=/tmp/fio.out || { cat /tmp/fio.out; fail "fio $_dev $*"; }
}

storage
module_installed
write_conf
case $boot in
1)
	zero_head /dev/mapper/ssd
	unit_start
	grep -q "^$VW_MODNAME " /proc/modules || fail "assemble did not load the module"
	libvirt_standin
	vfio /dev/mapper/web01 791 --do_verify=0
	vfio /dev/mapper/db01 792 --do_verify=0
	flush_dev /dev/mapper/web01 || fail "flush web01"
	flush_dev /dev/mapper/db01 || fail "flush db01"
	d=$(field 5 ssd0)
	[ "$d" -gt 0 ] || fail "nothing dirty before the cut"
	# More writes, past the verified region, while the power goes.
	fio --name=late --filename=/dev/mapper/web01 --direct=1 \
		--ioengine=libaio --iodepth=8 --rw=randwrite --bs=4k \
		--offset=32m --size=16m --time_based --runtime=6 --eta=never \
		--output=/tmp/late.out &
	late=$!
	sleep 2
	printf '0 %s flakey %s 0 0 86400 1 drop_writes\n' "$TOTAL_S" "$data" |
		dmsetup reload pwr || fail "load the cut"
	dmsetup suspend --noflush pwr || fail "cut: suspend"
	dmsetup resume pwr || fail "cut: resume"
	wait "$late" || { cat /tmp/late.out; fail "the late writer"; }
	log "power cut with $d dirty blocks flushed and a writer running; no stop"
	;;
2)
	# The flushed data is in the pool only (no writeback: max_age=0,
	# high_watermark=100): the origin alone fails the check.
	if fio --name=boot --filename=/dev/mapper/o1 --direct=1 --ioengine=libaio \
		--iodepth=8 --rw=randwrite --bs=4k --size=24m --io_size=16m \
		--randseed=791 --verify=crc32c --verify_fatal=1 --eta=never \
		--verify_only=1 --output=/tmp/fio.out; then
		fail "o1 alone holds web01's data: the check below would prove nothing"
	fi
	unit_start
	grep -q "3 devices up" /tmp/out || fail "assemble: $(cat /tmp/out)"
	d=$(field 5 ssd0)
	[ "$d" -gt 0 ] || fail "no dirty block recovered: $(dmsetup status ssd0)"
	libvirt_standin
	vfio /dev/mapper/web01 791 --verify_only=1
	vfio /dev/mapper/db01 792 --verify_only=1
	log "after the reboot: $d dirty blocks recovered, every flushed block verified"
	dmcache-ctl stop >/tmp/out 2>/tmp/err || fail "stop: $(cat /tmp/err)"
	sed 's/^/    stop: /' /tmp/out /tmp/err
	grep -q "pool ssd0: committed ($d dirty blocks)" /tmp/out ||
		fail "stop did not commit $d dirty blocks"
	for n in ssd0 web01 db01; do
		! dmsetup info "$n" >/dev/null 2>&1 || fail "$n left after stop"
	done
	log "the unit's stop: committed and removed"
	;;
*)
	fail "boot $boot"
	;;
esac
