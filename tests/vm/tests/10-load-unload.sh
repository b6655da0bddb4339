#!/bin/sh
# Module load and unload: both targets register and go away with the
# module; a module in use by a pool cannot be unloaded; load/unload cycles
# leave the kernel clean.
# vwtest-disks: 1x64M 1x64M
# vwtest-timeout: 120
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)

for i in 1 2 3; do
	vw_load_module
	dmsetup targets | grep -q '^vwcache-pool ' || fail "vwcache-pool not registered"
	dmsetup targets | grep -q '^vwcache ' || fail "vwcache not registered"
	vw_unload_module
	dmsetup targets | grep -q '^vwcache' && fail "targets still registered after rmmod"
done

vw_load_module
zero_head "$ssd"
pool_create pool "$ssd" 4096
vm_create vm0 pool "$origin" vm0
assert_fails rmmod dm_vwcache
dmsetup remove vm0 || fail "remove vm0"
assert_fails rmmod dm_vwcache
dmsetup remove pool || fail "remove pool"
vw_unload_module
log "load/unload ok"
