/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache origin identity: see dm-vwcache-origin.c.
 */
#ifndef DM_VWCACHE_ORIGIN_H
#define DM_VWCACHE_ORIGIN_H

#include <linux/dm-ioctl.h>

#include "dm-vwcache-format.h"

#define VWC_ORIGIN_PATH_LEN	(VWC_ATTACH_PATH_MAX + 1)

/* The identity string of each kind a device offers, "" for none. */
struct vwc_origin_strings {
	char s[VWC_ORIGIN_KIND_MAX + 1][DM_UUID_LEN];
};

/* An origin as a VM device sees it at ctr. */
struct vwc_origin {
	struct vwc_origin_id id;		/* the preferred kind's: what */
						/* the VM record keeps */
	u8 kinds;				/* BIT(kind) of each it has */
	u8 digests[VWC_ORIGIN_KIND_MAX + 1][VWC_ORIGIN_DIGEST_SIZE];
	struct vwc_origin_strings strings;
	char path[VWC_ORIGIN_PATH_LEN];		/* the path last used */
	bool path_given;			/* ... given by the table line */
};

struct block_device;

void vwc_origin_identify(struct block_device *bdev, const char *path,
			 struct vwc_origin *o);
/* The identity string of @o's preferred kind. */
static inline const char *vwc_origin_name(const struct vwc_origin *o)
{
	return o->strings.s[o->id.kind];
}

int vwc_origin_check(const char *vm_id, const struct vwc_origin_id *recorded,
		     const struct vwc_origin *o, const char **error);

#endif /* DM_VWCACHE_ORIGIN_H */
