#!/bin/sh
# A read of a clean block the SSD fails is retried at the origin, and the
# retried bio is whole again (issue 15 item 11b): a bio that the devices
# below split (bio_inc_remaining/bio_chain) comes back from the SSD with
# its remaining count spent; resubmitted as it is to an origin that splits
# it too, it would complete before all of it was read, and again later.
# Both the SSD and the origin are single-stripe dm-stripe devices with
# 4 KiB chunks, so dm splits every 64 KiB cache block bio into 16 pieces
# chained to it, and the origin's last piece of block 0 comes late.  The
# retried read must return the data written.
# vwtest-disks: 1x64M 1x64M
# vwtest-timeout: 300
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
org=$(disk 1)
S=$(sectors "$ssd")
O=$(sectors "$org")
vw_load_module

# ssdf: the SSD, swappable for an error target; ssds and orgs split.
dm_set_table ssdf "0 $S linear $ssd 0" || fail "ssdf"
dm_set_table ssds "0 $S striped 1 8 /dev/mapper/ssdf 0" || fail "ssds"
# The origin answers the last 4 KiB of block 0 half a second late: a read
# completed early lacks them.
dm_set_table orgd "0 120 linear $org 0
120 8 delay $org 120 500
128 $((O - 128)) linear $org 128" || fail "orgd"
dm_set_table orgs "0 $O striped 1 8 /dev/mapper/orgd 0" || fail "orgs"
zero_head /dev/mapper/ssds
pool_create pool /dev/mapper/ssds 65536 commit_interval 60000
vm_create vm1 pool /dev/mapper/orgs retry-1

# 1 MiB in whole blocks (cached dirty), written back: 16 clean blocks.
dd if=/dev/urandom of=/tmp/data bs=64K count=16 2>/dev/null
dd if=/tmp/data of=/dev/mapper/vm1 bs=64K oflag=direct conv=fsync \
	2>/dev/null || fail "write vm1"
assert_ok dmsetup message vm1 0 flush
wait_clean vm1 60
cached=$(cat "$(dm_sys vm1)/vwcache/cached_blocks")
log "after the writeback: $(dmsetup status vm1)"
[ "$cached" -eq 16 ] || fail "$cached blocks cached, not 16"

# The SSD fails: the first read hits a clean block, fails on the SSD and
# is retried at the origin (the pool is degraded after it, and the other
# reads go to the origin at once).
n=$(dmesg | wc -l)
dm_set_table ssdf "0 $S error" || fail "ssdf to error"
dd if=/dev/mapper/vm1 of=/tmp/got bs=64K count=16 iflag=direct 2>/dev/null ||
	fail "read vm1 during the SSD fault"
dmesg | tail -n +"$((n + 1))" | grep -q "SSD read error" ||
	fail "no SSD read error: the retry path was not taken: $(dmesg | tail -n +"$((n + 1))" | tail -n 3)"
cmp -s /tmp/got /tmp/data || fail "the retried read returned wrong data"
log "read retried at the origin: $(dmsetup status pool)"
# Again, through the page cache and the origin, after things settled.
sleep 1
[ "$(head -c 1048576 /dev/mapper/vm1 | md5sum)" = "$(md5sum </tmp/data)" ] ||
	fail "vm1 reads wrong data after the retry"

dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"
dmsetup remove orgs
dmsetup remove orgd
dmsetup remove ssds
dmsetup remove ssdf
log "ok"
