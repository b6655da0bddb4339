#!/bin/sh
# Hostile input: thousands of generated table lines, messages and sysfs
# writes (random tokens, huge numbers, overlong vm_ids, odd bytes, embedded
# NULs, wrong device types, the pool as origin, a VM device as its own
# pool, reloads of the live devices with a defect...), deterministic from
# the seed, each refused: table lines with a vwcache error in the kernel
# log, messages and sysfs writes with an error.  Nothing changes: tables,
# status, the VM device's data (dirty in the pool), the foreign disk the
# pool must not format; no oops.  See tests/tools/vwc-hostile.c.
#
# make check: 12000 inputs (one seed); vwfull=1 (make check-full): 120000
# (ten seeds).  A few seconds per 10000 under TCG: vwc-hostile talks to
# device-mapper by ioctl.
# vwtest-disks: 1x128M 1x64M 1x64M 1x64M
# vwtest-timeout: 900
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
spare=$(disk 2)
other=$(disk 3)
SEEDS=70
COUNT=12000
if grep -qw vwfull=1 /proc/cmdline || [ "${VW_FULL:-0}" = 1 ]; then
	SEEDS="70 71 72 73 74 75 76 77 78 79"
fi
command -v vwc-hostile >/dev/null || fail "vwc-hostile not in the guest"

vw_load_module
zero_head "$ssd"
# A disk that holds something else: the pool must never format it.
dd if=/dev/urandom of="$spare" bs=4096 count=256 conv=fsync 2>/dev/null
dd if=/dev/urandom of="$other" bs=4096 count=16 conv=fsync 2>/dev/null
spare_sum=$(dd if="$spare" bs=1M count=4 2>/dev/null | md5sum)

pool_create pool "$ssd" 4096 high_watermark 90 low_watermark 25 max_age 0
vm_create vm1 pool "$origin" host-1 weight 200 iops_limit 0
dmsetup create lin --table "0 8192 linear $other 0" || fail "lin"
# Dirty data in the pool that must survive every refused input.
dd if=/dev/urandom of=/dev/mapper/vm1 bs=4096 count=512 oflag=direct conv=fsync 2>/dev/null ||
	fail "writing vm1"
vm1_sum=$(md5sum </dev/mapper/vm1)
dirty=$(field 4 vm1)
[ "$dirty" -gt 0 ] || fail "no dirty data in vm1: $(dmsetup status vm1)"
tables=$(dm_state)
log "pool: $(dmsetup status pool)"
log "vm1: $(dmsetup status vm1)"

sysfs=
vm1_dm=dm-$(dmsetup info -c --noheadings -o minor vm1)
if [ -d "/sys/block/$vm1_dm/vwcache/limits" ]; then
	sysfs=--sysfs
else
	log "no /sys/block/$vm1_dm/vwcache/limits: sysfs writes skipped"
fi

# The console would print every refusal (KERN_ERR): keep them in the log only.
read -r printk </proc/sys/kernel/printk
echo 1 >/proc/sys/kernel/printk
t0=$(date +%s)
for seed in $SEEDS; do
	vwc-hostile --seed "$seed" --count "$COUNT" --pool pool --vm vm1 --vm-id host-1 \
		--ssd "$ssd" --origin "$origin" --spare "$spare" --lin lin $sysfs >/tmp/h.out
	rc=$?
	cat /tmp/h.out
	if [ $rc -ne 0 ]; then
		echo "$printk" >/proc/sys/kernel/printk
		fail "vwc-hostile (seed $seed) found a problem"
	fi
	sed -n 's/^vwc-hostile: refused //p' /tmp/h.out >>/tmp/h.counts
done
echo "$printk" >/proc/sys/kernel/printk
for k in table_lines messages sysfs_writes; do
	echo "RESULT hostile_$k=$(sed -n "s/.*$k=\([0-9]*\).*/\1/p" /tmp/h.counts | awk '{ s += $1 } END { print s + 0 }')"
done
log "$COUNT inputs per seed, seeds $SEEDS, in $(($(date +%s) - t0)) s"

# Nothing changed, and the devices still work.
[ "$(dm_state)" = "$tables" ] || fail "tables changed: $(dm_state)"
assert_eq "$(field 4 vm1)" "$dirty" "dirty blocks of vm1"
assert_eq "$(md5sum </dev/mapper/vm1)" "$vm1_sum" "vm1 contents"
assert_eq "$(dd if="$spare" bs=1M count=4 2>/dev/null | md5sum)" "$spare_sum" \
	"the foreign disk"
assert_eq "$(field 1 pool)" ok "pool state"
assert_ok dmsetup message vm1 0 set weight 300
dmsetup table vm1 | grep -q " weight 300$" || fail "vm1 table: $(dmsetup table vm1)"
assert_ok dmsetup message pool 0 set max_age 1000
dd if=/dev/urandom of=/tmp/blk bs=4096 count=1 2>/dev/null
dd if=/tmp/blk of=/dev/mapper/vm1 bs=4096 seek=700 oflag=direct conv=fsync 2>/dev/null ||
	fail "write after the run"
assert_eq "$(dd if=/dev/mapper/vm1 bs=4096 skip=700 count=1 iflag=direct 2>/dev/null | md5sum)" \
	"$(md5sum </tmp/blk)" "read after the run"
vm1_sum=$(md5sum </dev/mapper/vm1)
dmsetup remove lin
dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"
# The pool loads again with vm1's data.
pool_create pool "$ssd" 4096
vm_create vm1 pool "$origin" host-1
assert_eq "$(md5sum </dev/mapper/vm1)" "$vm1_sum" "vm1 after a pool reload"
dmsetup remove vm1
dmsetup remove pool
vw_unload_module
log "hostile input: passed"
