#!/bin/sh
# 82-udev-flags: the pool's dm device is a control device that fails every
# bio, so the uevents of the pools dmcache-ctl makes carry the udev flags
# that make udev's dm rules skip the disk rules (blkid, by-id links) and
# every other rule (LVM, multipath): nothing scans it (issue 16 item 5).
# VM devices hold disk images and keep every rule.  The guest runs no
# udev: busybox's uevent applet records the kernel's uevents, whose
# DM_COOKIE holds the flags in its upper 16 bits (libdevmapper:
# DM_UDEV_DISABLE_DISK_RULES_FLAG 0x4, DM_UDEV_DISABLE_OTHER_RULES_FLAG 0x8).
# vwtest-disks: 1x64M 1x64M
# vwtest-timeout: 120
# shellcheck disable=SC1091,SC2016 # guest paths; the uevent script's $VARs
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
vw_load_module
zero_head "$ssd"

busybox uevent sh -c 'case $DEVNAME in dm-*)
	echo "$ACTION $DEVNAME ${DM_COOKIE:-0}" >>/tmp/uevents ;; esac' &
uev=$!
sleep 1

dmcache-ctl pool-create "$ssd" --format --name pool --block-size 4K \
	>/tmp/out 2>&1 || fail "pool-create: $(cat /tmp/out)"
dmcache-ctl attach pool "$origin" udev-1 --name vm1 >/tmp/out 2>&1 ||
	fail "attach: $(cat /tmp/out)"
sleep 1
kill $uev
log "uevents: $(tr '\n' ';' </tmp/uevents)"

# flags DEV: the DM_UDEV flags of DEV's uevents with a cookie, one a line.
flags() {
	_d=dm-$(dmsetup info -c --noheadings -o minor "$1" | tr -d ' ')
	awk -v d="$_d" '$2 == d && $3 != 0 { print int($3 / 65536) }' /tmp/uevents
}

n=0
for f in $(flags pool); do
	[ $((f & 12)) -eq 12 ] ||
		fail "pool uevent without DISABLE_DISK_RULES and DISABLE_OTHER_RULES: flags $f"
	n=$((n + 1))
done
[ $n -gt 0 ] || fail "no uevent with a cookie for the pool"
m=0
for f in $(flags vm1); do
	[ $((f & 12)) -eq 0 ] || fail "VM device uevent skips udev rules: flags $f"
	m=$((m + 1))
done
[ $m -gt 0 ] || fail "no uevent with a cookie for vm1"
log "pool: $n uevents that skip the disk and other rules; vm1: $m with every rule"
dmsetup remove vm1
dmsetup remove pool
