// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache: a write-back cache pool on one fast device, shared by many
 * VM disks.  This file registers the two targets; see dm-vwcache.h for how
 * the pieces fit and Documentation/admin-guide/dm-vwcache.rst for use.
 */
#include <linux/module.h>

#include "dm-vwcache.h"
#include "dm-vwcache-version.h"

static int __init dm_vwcache_init(void)
{
	int r;

	r = dm_register_target(&vwc_pool_target);
	if (r) {
		DMERR("register %s failed: %d", vwc_pool_target.name, r);
		return r;
	}
	r = dm_register_target(&vwc_vm_target);
	if (r) {
		DMERR("register %s failed: %d", vwc_vm_target.name, r);
		dm_unregister_target(&vwc_pool_target);
	}
	return r;
}

static void __exit dm_vwcache_exit(void)
{
	dm_unregister_target(&vwc_vm_target);
	dm_unregister_target(&vwc_pool_target);
}

module_init(dm_vwcache_init);
module_exit(dm_vwcache_exit);

MODULE_DESCRIPTION(DM_NAME " write-back cache pool shared by VM disks");
MODULE_AUTHOR("dm-vwcache developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(VWC_VERSION);
/* device-mapper asks for "dm-<target name>" when a table names a target. */
MODULE_ALIAS("dm-" VWC_POOL_TARGET_NAME);
MODULE_ALIAS("dm-" VWC_VM_TARGET_NAME);
