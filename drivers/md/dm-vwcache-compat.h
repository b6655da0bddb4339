/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache kernel compatibility: every #if on the kernel version lives
 * here and nowhere else.  Supported: 6.1 (Debian 12) to 6.12 (Debian 12
 * backports).
 *
 * The tests are on features, not version numbers (distributions backport):
 * Kbuild defines VWC_HAVE_* by looking at the kernel's headers.
 *   VWC_HAVE_BDEV_FILE   bdev_file_open_by_dev() (6.9+) replaces
 *                        blkdev_get_by_dev()
 */
#ifndef DM_VWCACHE_COMPAT_H
#define DM_VWCACHE_COMPAT_H

#include <linux/blkdev.h>

/*
 * An open reference to a block device of the pool's own, independent of
 * the dm tables that named it (a table can be replaced while VM devices
 * still use the pool).  Not exclusive: dm already claims the device.
 */
#ifdef VWC_HAVE_BDEV_FILE

struct vwc_bdev_ref {
	struct file *file;
	struct block_device *bdev;
};

static inline int vwc_bdev_open(struct vwc_bdev_ref *ref, dev_t dev)
{
	struct file *f = bdev_file_open_by_dev(dev, BLK_OPEN_READ |
					       BLK_OPEN_WRITE, NULL, NULL);

	if (IS_ERR(f))
		return PTR_ERR(f);
	ref->file = f;
	ref->bdev = file_bdev(f);
	return 0;
}

static inline void vwc_bdev_close(struct vwc_bdev_ref *ref)
{
	fput(ref->file);
	ref->file = NULL;
	ref->bdev = NULL;
}

#else

struct vwc_bdev_ref {
	struct block_device *bdev;
};

static inline int vwc_bdev_open(struct vwc_bdev_ref *ref, dev_t dev)
{
	struct block_device *b = blkdev_get_by_dev(dev, FMODE_READ |
						   FMODE_WRITE, NULL);

	if (IS_ERR(b))
		return PTR_ERR(b);
	ref->bdev = b;
	return 0;
}

static inline void vwc_bdev_close(struct vwc_bdev_ref *ref)
{
	blkdev_put(ref->bdev, FMODE_READ | FMODE_WRITE);
	ref->bdev = NULL;
}

#endif

#endif /* DM_VWCACHE_COMPAT_H */
