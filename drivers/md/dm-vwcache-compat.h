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

#include <linux/bio.h>
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

/*
 * dm_bio_record() and dm_bio_restore() of the kernel tree's
 * drivers/md/dm-bio-record.h, which the headers packages do not ship,
 * plus bi_opf: what of a bio the devices below may change, for a bio
 * resubmitted after it completed (an SSD error retried at the origin).
 * A bio they split comes back with BIO_CHAIN cleared and __bi_remaining
 * spent, its iterator advanced or trimmed, its block-layer integrity
 * payload freed.
 */
struct vwc_bio_details {
	struct block_device *bi_bdev;
	blk_opf_t bi_opf;
	unsigned short bi_flags;
	int __bi_remaining;
	struct bvec_iter bi_iter;
	bio_end_io_t *bi_end_io;
#ifdef CONFIG_BLK_DEV_INTEGRITY
	struct bio_integrity_payload *bi_integrity;
#endif
};

static inline void vwc_bio_record(struct vwc_bio_details *bd, struct bio *bio)
{
	bd->bi_bdev = bio->bi_bdev;
	bd->bi_opf = bio->bi_opf;
	bd->bi_flags = bio->bi_flags;
	bd->__bi_remaining = atomic_read(&bio->__bi_remaining);
	bd->bi_iter = bio->bi_iter;
	bd->bi_end_io = bio->bi_end_io;
#ifdef CONFIG_BLK_DEV_INTEGRITY
	bd->bi_integrity = bio->bi_integrity;
#endif
}

static inline void vwc_bio_restore(const struct vwc_bio_details *bd,
				   struct bio *bio)
{
	bio->bi_bdev = bd->bi_bdev;
	bio->bi_opf = bd->bi_opf;
	bio->bi_flags = bd->bi_flags;
	atomic_set(&bio->__bi_remaining, bd->__bi_remaining);
	bio->bi_iter = bd->bi_iter;
	bio->bi_end_io = bd->bi_end_io;
#ifdef CONFIG_BLK_DEV_INTEGRITY
	bio->bi_integrity = bd->bi_integrity;
#endif
}

#endif /* DM_VWCACHE_COMPAT_H */
