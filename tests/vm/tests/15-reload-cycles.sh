#!/bin/sh
# Table reloads of a VM device and of its pool, I/O, removal: nothing may
# be left behind.  On make check-debug's kernel, init unloads the module
# and runs kmemleak, which found a struct vwc_acct leaked per reloaded VM
# device (fixed); on the stock kernels it checks the reload cycles work.
# vwtest-disks: 1x64M 1x64M
# vwtest-timeout: 200
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh
vw_load_module
zero_head $(disk 0)
pool_create pool $(disk 0) 4096
vm_create vm1 pool $(disk 1) g1
for i in 1 2 3; do
	assert_ok dmsetup reload vm1 --table "$(dmsetup table vm1)"
	assert_ok dmsetup suspend vm1
	assert_ok dmsetup resume vm1
	assert_ok dmsetup reload pool --table "$(dmsetup table pool)"
	assert_ok dmsetup suspend pool
	assert_ok dmsetup resume pool
done
dd if=/dev/zero of=/dev/mapper/vm1 bs=4k count=100 oflag=direct 2>/dev/null
dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"
