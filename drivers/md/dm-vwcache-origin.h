/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache origin identity: see dm-vwcache-origin.c.
 */
#ifndef DM_VWCACHE_ORIGIN_H
#define DM_VWCACHE_ORIGIN_H

#include <linux/dm-ioctl.h>

#include "dm-vwcache-format.h"

#define VWC_ORIGIN_PATH_LEN	(VWC_ATTACH_PATH_MAX + 1)

/* An origin as a VM device sees it at ctr. */
struct vwc_origin {
	struct vwc_origin_id id;		/* what the VM record keeps */
	char name[DM_UUID_LEN];			/* the identity string */
	char path[VWC_ORIGIN_PATH_LEN];		/* the path last used */
	bool path_given;			/* ... given by the table line */
};

struct block_device;

void vwc_origin_identify(struct block_device *bdev, const char *path,
			 struct vwc_origin *o);
int vwc_origin_check(const char *vm_id, const struct vwc_origin_id *recorded,
		     const struct vwc_origin *o, const char **error);

#endif /* DM_VWCACHE_ORIGIN_H */
